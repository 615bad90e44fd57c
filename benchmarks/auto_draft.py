"""The automatic draft against plain decoding, per prompt kind, in one run.

    python -m benchmarks.auto_draft [--precision nf4] [--max-new-tokens 64] [--repeats 3] [--sampling]

For each prompt of `speculative_prompts.txt` (six kinds, written for this benchmark, none in the suffix index's
corpus), plain decoding and speculative decoding with draft_model "auto" are timed alternately, --repeats times
each, every run making exactly --max-new-tokens tokens; the speed-up is the ratio of the medians' tokens/s. Then
per kind and overall: the mean speed-up and the lowest, tokens per target pass, and for each draft source the
rounds it drafted, its guesses tested and kept. Greedy by default (it also counts the outputs equal to plain
greedy's: all in fp32; at nf4 a pass over several tokens may round a near-tie differently); --sampling samples at
temperature 0.7, top-p 0.95. The cost curve c(k) the runs sized their rounds by is printed first.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from pathlib import Path

import torch

from benchmarks import machine
from playground.engine import generate
from playground.engine.context import render_prompt
from playground.engine.speculative import load_draft
from playground.engine.speculative.cost import SETTLE, cost_curve
from playground.models import DEFAULT_MODEL_ID, load_model
from playground.settings import AUTO, Settings

PROMPTS = Path(__file__).with_name("speculative_prompts.txt")
SAMPLING = dict(do_sample=True, temperature=0.7, top_p=0.95)


def read_prompts() -> list[tuple[str, str]]:
    """(kind, prompt) per line of the prompts file, comments left out."""
    lines = PROMPTS.read_text(encoding="utf-8").splitlines()
    return [tuple(line.split("\t", 1)) for line in lines if line.strip() and not line.startswith("#")]


def timed(loaded, prompt: str, settings: Settings, draft) -> tuple[float, object]:
    """Tokens/s of one engine run and its trace."""
    started = time.perf_counter()
    with torch.no_grad():
        trace = generate(loaded, prompt, settings, draft=draft)
    return trace.timing.new_tokens / (time.perf_counter() - started), trace


def measure(loaded, prompt: str, plain: Settings, auto: Settings, repeats: int) -> dict:
    """Plain and automatic runs alternately: medians, the speed-up, and the last automatic trace."""
    draft = load_draft(auto, loaded)
    rates: dict[str, list[float]] = {"plain": [], "auto": []}
    for _ in range(repeats):
        rate, plain_trace = timed(loaded, prompt, plain, None)
        rates["plain"].append(rate)
        rate, trace = timed(loaded, prompt, auto, draft)
        rates["auto"].append(rate)
    medians = {kind: statistics.median(values) for kind, values in rates.items()}
    same = trace.output.token_ids == plain_trace.output.token_ids
    return {"speedup": medians["auto"] / medians["plain"], "trace": trace, "same": same, **medians}


def by_source(traces: list) -> dict[str, list[int]]:
    """Per draft source: [rounds, guesses tested, guesses kept] over the traces' rounds."""
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for trace in traces:
        for r in trace.speculative.rounds:
            counts = tally[r.source]
            counts[0] += 1
            counts[1] += sum(p.accepted is not None for p in r.proposed)
            counts[2] += r.accepted_count()
    return dict(tally)


def report(results: list[tuple[str, dict]], sampling: bool) -> None:
    """The per-prompt lines, then per kind and overall, then acceptance by source."""
    print(
        f"{'kind':10} {'plain tok/s':>11} {'auto tok/s':>10} {'speed-up':>8} {'tok/pass':>8}"
        + ("" if sampling else " same")
    )
    for kind, r in results:
        spec = r["trace"].speculative
        same = "" if sampling else f" {'yes' if r['same'] else 'no'}"
        print(f"{kind:10} {r['plain']:11.2f} {r['auto']:10.2f} {r['speedup']:7.2f}x {spec.tokens_per_round:8.2f}{same}")
    kinds: dict[str, list[float]] = defaultdict(list)
    for kind, r in results:
        kinds[kind].append(r["speedup"])
    print("\nper kind (mean speed-up):", ", ".join(f"{k} {statistics.mean(v):.2f}x" for k, v in kinds.items()))
    speedups = [r["speedup"] for _, r in results]
    print(f"overall: mean {statistics.mean(speedups):.2f}x, lowest {min(speedups):.2f}x over {len(speedups)} prompts")
    print("\nsource          rounds  tested    kept  kept/tested")
    for source, (rounds, tested, kept) in sorted(by_source([r["trace"] for _, r in results]).items()):
        share = f"{kept / tested:.2f}" if tested else "-"
        print(f"{source:14} {rounds:7} {tested:7} {kept:7} {share:>12}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--precision", default="nf4")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sampling", action="store_true", help="temperature 0.7, top-p 0.95 (seed 1)")
    parser.add_argument("--kinds", default="", help="only these kinds, comma-separated")
    args = parser.parse_args()
    loaded = load_model(DEFAULT_MODEL_ID, args.precision)
    n = args.max_new_tokens
    knobs = {**SAMPLING, "seed": 1} if args.sampling else {}
    plain = Settings(strategy="sample" if args.sampling else "greedy", max_new_tokens=n, min_new_tokens=n,
                     **{k: v for k, v in knobs.items() if k != "do_sample"})  # fmt: skip
    auto = Settings(strategy="speculative", draft_model=AUTO, max_new_tokens=n, min_new_tokens=n, **knobs)
    print(f"model {DEFAULT_MODEL_ID} {args.precision}, {n} new tokens, median of {args.repeats}, "
          f"{'sampling T 0.7 top-p 0.95' if args.sampling else 'greedy'}")  # fmt: skip
    print(machine.describe())
    prompts = [(k, p) for k, p in read_prompts() if not args.kinds or k in args.kinds.split(",")]
    # The cost curve settles over its first runs' measurements (about half a second each): done before timing,
    # as loading the draft is, so that every timed run reads the settled curve.
    context = render_prompt(loaded.tokenizer, prompts[0][1], True)[1]
    for _ in range(SETTLE):
        cost_curve(loaded, context)
    results = [(kind, measure(loaded, prompt, plain, auto, args.repeats)) for kind, prompt in prompts]
    curve = results[0][1]["trace"].speculative.cost_curve
    print("c(k), k = 1..16:", " ".join(f"{c:.2f}" for c in curve), "\n")
    report(results, args.sampling)


if __name__ == "__main__":
    main()
