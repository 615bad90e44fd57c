"""The forking analysis of one run against single runs of the same samples, in one process.

    python -m benchmarks.fork [--precision nf4] [--tokens 24] [--samples 8] [--alternatives 2] [--stride 1]
                              [--single-positions 3]

The run is the prompt's greedy continuation, `--tokens` long; the analysis samples every position of it, the chosen
token and the top `--alternatives`, `--samples` continuations of `--tokens` tokens each (the issue's benchmark:
24 positions x 3 branches x 8 samples; `--stride K` analyses every K-th position only, where a busy machine
cannot spare the time). Each branch's samples decode as one batch (one many-from-prefix run).
The single runs write the same samples one at a time (sampling, num_samples 1, the same prefix and seed) for
the branches of `--single-positions` positions spread over the run (all of them would take hours on a small CPU):
tokens/s are compared, and how many samples equal their single run is counted (in fp32 all of them; at nf4 a
batched pass rounds differently, so a draw near a boundary may go another way).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time

from benchmarks import machine
from benchmarks.machine import timed
from playground.engine import generate
from playground.fork.request import ForkRequest
from playground.fork.result import ForkAnalysis, ForkPosition
from playground.fork.run import continuation_settings, fork_analysis
from playground.models import DEFAULT_MODEL_ID, load_model
from playground.settings import Limits, Settings
from playground.trace import Trace

PROMPT = "Tom has 17 apples and buys 25 more, then gives 9 away. How many apples does he have? Think step by step."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=DEFAULT_MODEL_ID)
    parser.add_argument("--precision", default="nf4")
    parser.add_argument("--tokens", type=int, default=24, help="the run's length and each continuation's")
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--alternatives", type=int, default=2)
    parser.add_argument("--stride", type=int, default=1, help="analyse every STRIDE-th position")
    parser.add_argument("--single-positions", type=int, default=3, help="positions whose samples also run singly")
    args = parser.parse_args()

    loaded = load_model(args.model, args.precision)
    print(f"model {loaded.info.id} {loaded.info.precision} on {loaded.info.device}")
    print(machine.describe())
    # The server's time limit lifted: the analysis is long on a CPU, and the benchmark times all of it.
    limits = dataclasses.replace(Limits.from_env(), max_time=24 * 3600.0, max_fork_tokens=10**7)
    run = generate(loaded, PROMPT, Settings(max_new_tokens=args.tokens, min_new_tokens=args.tokens, limits=limits))
    request = ForkRequest(samples=args.samples, alternatives=args.alternatives, stride=args.stride,
                          max_positions=args.tokens, max_new_tokens=args.tokens, limits=limits)  # fmt: skip
    print(f"run: {len(run.output.token_ids)} tokens: {run.output.text!r}")
    seconds, analysis = timed(lambda: analyse(loaded, run, request))
    branches = sum(len(p.branches) for p in analysis.positions)
    print(f"analysis: {len(analysis.positions)} positions, {branches} branches x {args.samples} samples: "
          f"{seconds:.1f} s, {analysis.new_tokens} new tokens, {analysis.new_tokens / seconds:.1f} tokens/s; "
          f"change points {analysis.change_points}, outcomes {analysis.outcomes[:5]}")  # fmt: skip
    picked = spread(analysis.positions, args.single_positions)
    batched_s, batched_tokens = batch_share(analysis, picked, seconds)
    singles_s, tokens, same, total = single_runs(loaded, run, request, picked)
    print(
        f"single runs of the samples at positions {[p.index for p in picked]}: {total} runs, {singles_s:.1f} s, "
        f"{tokens} new tokens, {tokens / singles_s:.1f} tokens/s; {same} of {total} equal their batched sample"
    )
    print(f"the analysis's whole rate is {analysis.new_tokens / seconds / (tokens / singles_s):.2f}x the single runs' "
          f"(those positions' share of it, by tokens: {batched_tokens} tokens in ~{batched_s:.1f} s)")  # fmt: skip


def analyse(loaded, run: Trace, request: ForkRequest) -> ForkAnalysis:
    """The analysis, its progress on stderr (a line per position, with the time so far)."""
    started, index = time.perf_counter(), None
    for item in fork_analysis(loaded, run, request):
        if isinstance(item, ForkAnalysis):
            return item
        if item.index != index:
            index = item.index
            print(f"  {time.perf_counter() - started:7.1f} s: {item.done}/{item.total} branches", file=sys.stderr)
    raise AssertionError("fork_analysis ends with the analysis")


def spread(positions: list[ForkPosition], count: int) -> list[ForkPosition]:
    """`count` positions spread evenly over the run, the first and the last included."""
    if count >= len(positions):
        return positions
    step = (len(positions) - 1) / max(count - 1, 1)
    return [positions[round(i * step)] for i in range(count)]


def batch_share(analysis: ForkAnalysis, picked: list[ForkPosition], seconds: float) -> tuple[float, int]:
    """The picked positions' new tokens, and the analysis's time prorated to them by tokens."""
    tokens = sum(len(s.token_ids) - p.index - 1 for p in picked for b in p.branches for s in b.samples)
    return seconds * tokens / max(analysis.new_tokens, 1), tokens


def single_runs(loaded, run: Trace, request: ForkRequest, picked: list[ForkPosition]) -> tuple[float, int, int, int]:
    """Every sample of the picked positions' branches as a single run (same prefix, same seed): the seconds, the
    new tokens, how many equal their batched sample, and how many runs."""
    settings = continuation_settings(run, request).replace(num_samples=1)
    jobs = [(p, b, s) for p in picked for b in p.branches for s in b.samples]

    def go() -> list[Trace]:
        return [generate(loaded, run.prompt.text, settings.replace(prefix_ids=tuple(s.token_ids[: p.index + 1]),
                                                                   seed=s.seed)) for p, b, s in jobs]  # fmt: skip

    seconds, traces = timed(go)
    tokens = sum(len(t.output.token_ids) - p.index - 1 for t, (p, _, _) in zip(traces, jobs, strict=True))
    same = sum(t.output.token_ids == s.token_ids for t, (_, _, s) in zip(traces, jobs, strict=True))
    return seconds, tokens, same, len(jobs)


if __name__ == "__main__":
    main()
