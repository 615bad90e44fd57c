"""Prompt compression (LLMLingua's method, the loaded model as the small model) on a 1,000-token prompt: what
compressing costs, and the prefill time it saves, measured in one run.

    python -m benchmarks.compress [--precision nf4] [--reps 5]

The prompt (benchmarks/compress_prompt.txt, our own writing) is a long context and a question; everything but the
question is compressed, to 50% and to 25% of its tokens, in segments of 200. For each ratio the compression's own
seconds are printed, then the prefill time (the median of `--reps` passes, chat template applied, a fresh cache
each) of the original prompt and of the compressed one, and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import torch

from benchmarks import machine
from benchmarks.machine import timed
from playground.compress import compress_prompt
from playground.engine.context import render_prompt
from playground.engine.forward import new_cache, prefill
from playground.models import load_model
from playground.models.device_map import input_device

PROMPT = Path(__file__).with_name("compress_prompt.txt")
RATIOS = (0.5, 0.25)


def prefill_seconds(loaded, text: str, reps: int) -> tuple[int, float]:
    """(tokens, median seconds) of prefilling `text` as a chat turn into an empty cache."""
    ids = render_prompt(loaded.tokenizer, text, True).ids
    tensor = torch.tensor([ids], device=input_device(loaded.model))
    times = [timed(lambda: prefill(loaded.model, tensor, new_cache(loaded.model)))[0] for _ in range(reps)]
    return len(ids), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--precision", default="nf4")
    parser.add_argument("--reps", type=int, default=5, help="prefill passes per prompt; the median is printed")
    args = parser.parse_args()
    print(machine.describe())
    loaded = load_model(precision=args.precision)
    text = PROMPT.read_text(encoding="utf-8").strip()
    prefill_seconds(loaded, text, 1)  # warm-up: the first pass allocates
    tokens, original = prefill_seconds(loaded, text, args.reps)
    print(f"prompt: {tokens} tokens with the chat template, {args.precision}; prefill {original * 1e3:.0f} ms")
    for ratio in RATIOS:
        result = compress_prompt(loaded, text, ratio)
        compressible = [token for token in result.tokens if token.compressible]
        kept = sum(token.kept for token in compressible)
        short, seconds = prefill_seconds(loaded, result.text, args.reps)
        print(
            f"ratio {ratio:.2f}: kept {kept} of {len(compressible)} compressible tokens ({len(result.segments)} "
            f"segments) in {result.seconds:.2f} s; prefill {short} tokens in {seconds * 1e3:.0f} ms vs {tokens} in "
            f"{original * 1e3:.0f} ms: x{seconds / original:.2f} the time, x{short / tokens:.2f} the tokens; "
            f"compressing took x{result.seconds / original:.1f} the original's prefill"
        )


if __name__ == "__main__":
    main()
