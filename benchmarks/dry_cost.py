"""DRY's cost per step against the length of its context: linear, as llama.cpp's Z-algorithm makes it.

    python -m benchmarks.dry_cost [--reps 50]

One step is one call of the DRY processor on (1, V) scores, V = 49,152 (SmolLM2's vocabulary), with the whole
context searched (dry_penalty_last_n -1). Two contexts per length: random tokens (few repeats), and a text that
loops on a 37-token passage (every position matches, the longest repeats). The median of `--reps` steps is
printed for 256, 512 and 1,024 tokens, with each length's time over the previous one's: about 2 when linear,
about 4 when quadratic.
"""

from __future__ import annotations

import argparse
import statistics

import torch

from benchmarks import machine
from benchmarks.machine import timed
from playground.engine.samplers.dry import DRYLogitsProcessor

VOCAB = 49_152
LENGTHS = (256, 512, 1_024)
BREAKERS = frozenset(range(10))  # a handful of breaker ids, none of which the contexts below use


def contexts(length: int) -> dict[str, torch.LongTensor]:
    """The two (1, length) contexts: random tokens, and a 37-token passage repeated."""
    generator = torch.Generator().manual_seed(0)
    random = torch.randint(10, VOCAB, (1, length), generator=generator)
    passage = torch.randint(10, VOCAB, (37,), generator=generator)
    looping = passage.repeat(length // 37 + 1)[:length].unsqueeze(0)
    return {"random": random, "looping": looping}


def step_seconds(context: torch.LongTensor, reps: int) -> float:
    """The median time of one DRY step on `context`."""
    processor = DRYLogitsProcessor(0.8, 1.75, 2, -1, BREAKERS)
    scores = torch.randn(1, VOCAB)
    processor(context, scores)  # warm-up
    return statistics.median(timed(lambda: processor(context, scores))[0] for _ in range(reps))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=50)
    args = parser.parse_args()
    print(machine.describe())
    for kind in ("random", "looping"):
        previous = None
        for length in LENGTHS:
            seconds = step_seconds(contexts(length)[kind], args.reps)
            ratio = f"  x{seconds / previous:.2f} the previous length" if previous else ""
            print(f"{kind:8s} context {length:5d} tokens: {seconds * 1e3:7.3f} ms per step{ratio}")
            previous = seconds


if __name__ == "__main__":
    main()
