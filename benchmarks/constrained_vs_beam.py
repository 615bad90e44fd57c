"""Time per token of constrained beam search against plain beam search at the same width, one run.

    python -m benchmarks.constrained_vs_beam [--precision nf4] [--num-beams 4] [--max-new-tokens 32] [--repeats 3]

Both generate exactly --max-new-tokens tokens (min_new_tokens is set to the same value), with every step traced.
Constrained beam search does more per step (a wider candidate set, a constraint state per candidate, the bank
allocation); this prints how much that costs per token, per prompt and overall.
"""

from __future__ import annotations

import argparse
import statistics
import time

from benchmarks import machine
from playground.engine import generate
from playground.models import DEFAULT_MODEL_ID, load_model
from playground.settings import Settings

CASES = [
    ("Write a sentence about the weather.", ("umbrella",), (("red", "blue", "green"),)),
    ("Tell me about your day.", ("coffee", "library"), ()),
    ("Describe a cat.", (), (("orange", "black"),)),
]


def ms_per_token(loaded, prompt: str, settings: Settings) -> float:
    started = time.perf_counter()
    trace = generate(loaded, prompt, settings)
    return 1000 * (time.perf_counter() - started) / trace.timing.new_tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=DEFAULT_MODEL_ID)
    parser.add_argument("--precision", default="nf4")
    parser.add_argument("--num-beams", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    loaded = load_model(args.model, args.precision)
    n = args.max_new_tokens
    base = Settings(strategy="beam", num_beams=args.num_beams, max_new_tokens=n, min_new_tokens=n)
    print(
        f"model {loaded.info.id} {loaded.info.precision} on {loaded.info.device}, {args.num_beams} beams, "
        f"{n} tokens, median of {args.repeats}"
    )
    print(machine.describe())
    print(f"{'prompt':<40} {'beam ms/tok':>12} {'constrained ms/tok':>19} {'ratio':>7}")
    ratios = []
    for prompt, words, sets in CASES:
        constrained = base.replace(strategy="constrained", force_words=words, force_one_of=sets)
        ms_per_token(loaded, prompt, base.replace(max_new_tokens=4, min_new_tokens=4))  # warm-up
        plain_ms, constrained_ms = [], []
        for _ in range(args.repeats):
            plain_ms.append(ms_per_token(loaded, prompt, base))
            constrained_ms.append(ms_per_token(loaded, prompt, constrained))
        a, b = statistics.median(plain_ms), statistics.median(constrained_ms)
        ratios.append(b / a)
        print(f"{prompt[:40]:<40} {a:>12.1f} {b:>19.1f} {b / a:>7.2f}", flush=True)
    print(f"{'overall (geometric mean of ratios)':<73} {statistics.geometric_mean(ratios):>7.2f}")


if __name__ == "__main__":
    main()
