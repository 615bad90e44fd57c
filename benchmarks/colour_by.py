"""What "Colour by" costs Generate: nothing measurable, since it reads the trace.

    python -m benchmarks.colour_by [--precision nf4] [--tokens 32] [--reps 9]

Two figures, each a ratio measured in one run:
- The Output's HTML (`tokens.trace_html`: every token's band in all four modes, its hover card's figures) against
  the Generate it follows. The mode a person picks is set in the browser (a data attribute the stylesheet
  reads): no server call takes the mode, so the HTML built, and its time, are the same in every mode; each mode
  is printed with that one figure.
- The entropy and varentropy every step records of its final and its raw distribution
  (`recording.surprisal_moments`, one batched pass over both (V,) rows) against the final one's entropy alone, as
  steps recorded it before: per call on a step's two rows, and as whole Generate runs with each, alternated so a
  change in the machine's load slows both alike. On a machine others share, a run's time swings several-fold with
  their load: the fastest of the reps is the figure compared (the run least slowed), the median printed beside it.
"""

from __future__ import annotations

import argparse
import statistics
from unittest import mock

import torch

from benchmarks import machine
from benchmarks.machine import timed
from playground.engine import generate, recording
from playground.models import DEFAULT_MODEL_ID, load_model
from playground.settings import Settings
from playground.ui.colour_by import MODES
from playground.ui.tokens import trace_html

PROMPT = "Write a short story about a lighthouse keeper who finds a message in a bottle."


def entropy_only(stacked: torch.Tensor) -> torch.Tensor:
    """The step record's figures as computed before the moments: the final distribution's entropy alone, of the
    first half of the rows `summarize_rows` stacks (final, then raw); everything else left 0. (2B, V) -> (2B, 2)"""
    final = stacked[: stacked.shape[0] // 2].float()  # (B, V)
    logp = torch.log_softmax(final, dim=-1)
    p = logp.exp()
    h = -(p * torch.where(p > 0, logp, torch.zeros_like(logp))).sum(dim=-1)  # (B,)
    out = torch.zeros(stacked.shape[0], 2)
    out[: final.shape[0], 0] = h
    return out


def per_call(fn, reps: int) -> float:
    """The fastest of `reps` * 20 calls of `fn` on a step's stacked rows, as `summarize_rows` passes them: the
    final and the raw distribution, (2, V) over SmolLM2's vocabulary; in seconds."""
    scores = torch.randn(2, 49_152)
    fn(scores)  # warm-up
    return min(timed(lambda: fn(scores))[0] for _ in range(reps * 20))


def generate_seconds(loaded, settings: Settings, reps: int) -> dict[str, list[float]]:
    """Generate's seconds, `reps` runs each, with the moments recorded as now ("moments") and as before
    ("entropy"), alternated."""
    runs: dict[str, list[float]] = {"moments": [], "entropy": []}
    generate(loaded, PROMPT, settings)  # warm-up
    for _ in range(reps):
        runs["moments"].append(timed(lambda: generate(loaded, PROMPT, settings))[0])
        with mock.patch.object(recording, "surprisal_moments", entropy_only):
            runs["entropy"].append(timed(lambda: generate(loaded, PROMPT, settings))[0])
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--precision", default="nf4")
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--reps", type=int, default=9)
    args = parser.parse_args()
    print(machine.describe())
    loaded = load_model(DEFAULT_MODEL_ID, args.precision)
    settings = Settings(strategy="sample", seed=1, max_new_tokens=args.tokens, min_new_tokens=args.tokens)
    runs = generate_seconds(loaded, settings, args.reps)
    seconds = {name: min(times) for name, times in runs.items()}
    trace = generate(loaded, PROMPT, settings)
    html_s = min(timed(lambda: trace_html(trace))[0] for _ in range(args.reps * 4))
    print(f"Generate, {args.tokens} tokens at {args.precision}: {seconds['moments']:.3f} s (fastest of {args.reps})")
    share = html_s / seconds["moments"]
    for mode in MODES:
        print(f"  colour by {mode:12s} Output HTML {html_s * 1e3:7.2f} ms = {share:.2%} of Generate")
    new, old = per_call(recording.surprisal_moments, args.reps), per_call(entropy_only, args.reps)
    print(f"moments per step: {new * 1e3:.3f} ms, the final entropy alone {old * 1e3:.3f} ms (x{new / old:.2f})")
    print(f"  Generate with the moments {seconds['moments']:.3f} s, with the entropy alone {seconds['entropy']:.3f} s "
          f"(x{seconds['moments'] / seconds['entropy']:.3f}); medians {statistics.median(runs['moments']):.3f} s "
          f"and {statistics.median(runs['entropy']):.3f} s")  # fmt: skip


if __name__ == "__main__":
    main()
