"""The pass-cost curve c(k) of the embedded model at each precision: what a target pass over k new tokens costs,
in one-token passes, as `measure_cost_curve` measures it for the speculative rounds, and checked against timing
every k directly.

    python -m benchmarks.cost_curve [--precisions nf4,bf16,fp32] [--measurements 5] [--context 100] [--threads 1]

For each precision: `--measurements` calls of `measure_cost_curve` after a `--context`-token text, with the
median c(k) of those calls and its min-max, and how long one call took (median and max). Then, as a check on
its shortcut (it times k = 1, 2, 4, 5, 8, 9, 12, 16 and interpolates the others), c(k) timed
at every k, median of `--direct` passes each. A round that feeds k tokens pays when it emits more than c(k).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from benchmarks import machine
from playground.engine.forward import forward_tokens, new_cache, prefill, rollback
from playground.engine.speculative.cost import MOST, measure_cost_curve
from playground.models import DEFAULT_MODEL_ID, load_model

TEXT = (
    "The lighthouse keeper climbed the spiral stairs every evening, lit the great lamp, and watched the ships "
    "pass the rocky coast. One winter night a storm broke the lamp's glass, and the keeper, with no spare pane, "
    "held a lantern in the window until dawn so that the fishing boats could find the harbour. In the morning "
    "the village brought him bread, a new pane of glass and a story that the children still tell."
)


def context_ids(tokenizer, length: int) -> list[int]:
    """`length` tokens of TEXT (repeated if it is shorter)."""
    ids = tokenizer(TEXT, add_special_tokens=False).input_ids
    return (ids * (length // len(ids) + 1))[:length]


@torch.no_grad()
def direct_curve(model, context: list[int], repeats: int) -> list[float]:
    """c(k) for k = 1..MOST with every k timed: the median of `repeats` passes each, over the median at k = 1."""
    cache = new_cache(model)
    prefill(model, torch.tensor([context], device=model.device), cache)
    seconds: dict[int, list[float]] = {k: [] for k in range(1, MOST + 1)}
    for _ in range(repeats):
        for k in seconds:
            elapsed, _ = machine.timed(lambda k=k: forward_tokens(model, [context[-1]] * k, cache))
            rollback(cache, len(context))
            seconds[k].append(elapsed)
    one = statistics.median(seconds[1])
    return [statistics.median(s) / one for s in seconds.values()]


def report(precision: str, measurements: int, context_length: int, direct: int) -> None:
    """Prints one precision's curve: measured (median, min-max), the time per measurement, and timed at every k."""
    loaded = load_model(DEFAULT_MODEL_ID, precision)
    context = context_ids(loaded.tokenizer, context_length)
    measure_cost_curve(loaded.model, context)  # a first call warms the model up: not reported
    curves, took = [], []
    for _ in range(measurements):
        started = time.perf_counter()
        curves.append(measure_cost_curve(loaded.model, context))
        took.append(time.perf_counter() - started)
    check = direct_curve(loaded.model, context, direct)
    print(f"\n{precision} on {loaded.info.device}: measure_cost_curve took {statistics.median(took):.2f} s (median of "
          f"{measurements}, max {max(took):.2f} s)")  # fmt: skip
    print(f"{'k':>3} {'c(k)':>6} {'min-max':>11} {'every k':>8}")
    for k in range(MOST):
        values = [curve[k] for curve in curves]
        spread = f"{min(values):.2f}-{max(values):.2f}"
        print(f"{k + 1:>3} {statistics.median(values):6.2f} {spread:>11} {check[k]:8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--precisions", default="nf4,bf16,fp32")
    parser.add_argument("--measurements", type=int, default=5, help="calls of measure_cost_curve per precision")
    parser.add_argument("--context", type=int, default=100, help="tokens of text before the timed passes")
    parser.add_argument("--direct", type=int, default=7, help="passes per k when every k is timed (the check)")
    parser.add_argument("--threads", type=int, default=0, help="torch's CPU threads (0: its default)")
    args = parser.parse_args()
    if args.threads:  # one thread suffers less from other processes on a busy machine, though runs use them all
        torch.set_num_threads(args.threads)
    print(f"c(k): a pass over k new tokens after {args.context} tokens, in one-token passes; {DEFAULT_MODEL_ID}")
    print(machine.describe())
    for precision in args.precisions.split(","):
        report(precision, args.measurements, args.context, args.direct)


if __name__ == "__main__":
    main()
