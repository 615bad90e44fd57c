"""Prompt compression (LLMLingua's method, the loaded model as the small model) on a 1,000-token prompt: what
compressing costs, and the prefill time it saves, measured in one run.

    python -m benchmarks.compress [--precision nf4] [--reps 5]

The prompt (benchmarks/compress_prompt.txt, our own writing) is a long context and a question; everything but the
question is compressed, to 50% and to 25% of its tokens, in segments of 200. For each ratio the compression's own
seconds are printed, then the prefill time (the median of `--reps` passes, chat template applied, a fresh cache
each) of the compressed prompt against the original's, and their ratio. The prompts' passes alternate (original,
50%, 25%, original, ...), so a machine that gets busier or quieter during the run slows all three alike.
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


def prefill_pass(loaded, text: str) -> tuple[int, float]:
    """(tokens, seconds) of one prefill of `text` as a chat turn into an empty cache."""
    ids = render_prompt(loaded.tokenizer, text, True).ids
    tensor = torch.tensor([ids], device=input_device(loaded.model))
    return len(ids), timed(lambda: prefill(loaded.model, tensor, new_cache(loaded.model)))[0]


def prefill_medians(loaded, texts: list[str], reps: int) -> list[tuple[int, float]]:
    """(tokens, median seconds) of prefilling each of `texts`, the texts' passes taken in turn `reps` times."""
    rounds = [[prefill_pass(loaded, text) for text in texts] for _ in range(reps)]
    return [(rounds[0][i][0], statistics.median(row[i][1] for row in rounds)) for i in range(len(texts))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--precision", default="nf4")
    parser.add_argument("--reps", type=int, default=5, help="prefill passes per prompt; the median is printed")
    args = parser.parse_args()
    print(machine.describe())
    loaded = load_model(precision=args.precision)
    text = PROMPT.read_text(encoding="utf-8").strip()
    prefill_pass(loaded, text)  # warm-up: the first pass allocates
    results = [compress_prompt(loaded, text, ratio) for ratio in RATIOS]
    timings = prefill_medians(loaded, [text] + [result.text for result in results], args.reps)
    tokens, original = timings[0]
    print(f"prompt: {tokens} tokens with the chat template, {args.precision}; prefill {original * 1e3:.0f} ms")
    for ratio, result, (short, seconds) in zip(RATIOS, results, timings[1:], strict=True):
        compressible = [token for token in result.tokens if token.compressible]
        kept = sum(token.kept for token in compressible)
        print(
            f"ratio {ratio:.2f}: kept {kept} of {len(compressible)} compressible tokens ({len(result.segments)} "
            f"segments) in {result.seconds:.2f} s; prefill {short} tokens in {seconds * 1e3:.0f} ms vs {tokens} in "
            f"{original * 1e3:.0f} ms: x{seconds / original:.2f} the time, x{short / tokens:.2f} the tokens; "
            f"compressing took x{result.seconds / original:.1f} the original's prefill"
        )


if __name__ == "__main__":
    main()
