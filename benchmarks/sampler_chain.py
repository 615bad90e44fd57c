"""What the new sampling stages cost a run: tokens per second with every one of them on, against plain sampling.

    python -m benchmarks.sampler_chain [--precision nf4] [--max-new-tokens 64] [--repeats 3]

Every configuration samples the same prompt with the same seed and the page's defaults otherwise (top-k 50); the
others add presence and frequency penalties, DRY, top-nσ, smoothing and dynamic temperature, then XTC or mirostat 2
(the two are refused together), each with its step notes recorded. min_new_tokens holds all to the same length,
so they time the same number of steps. They alternate, `--repeats` times each, and the median tokens per second of
each is printed with its ratio to plain sampling: a ratio near 1 means the stages cost little beside the model's
forward pass.
"""

from __future__ import annotations

import argparse
import statistics

from benchmarks import machine
from benchmarks.machine import timed
from playground.engine import generate
from playground.models import DEFAULT_MODEL_ID, load_model
from playground.settings import Settings

PROMPT = "Write a short story about a lighthouse keeper who finds a message in a bottle."
EVERY_NEW_STAGE = dict(
    presence_penalty=0.4,
    frequency_penalty=0.2,
    dry_multiplier=0.8,
    top_n_sigma=1.5,
    smoothing_factor=0.3,
    dynatemp_range=0.3,
)
THEN = {"with XTC": dict(xtc_probability=0.5, xtc_threshold=0.1), "with mirostat 2": dict(mirostat=2)}


def tokens_per_second(loaded, settings: Settings) -> float:
    """One run's generated tokens over its wall time."""
    seconds, trace = timed(lambda: generate(loaded, PROMPT, settings))
    return len(trace.output.token_ids) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--precision", default="nf4")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    loaded = load_model(DEFAULT_MODEL_ID, args.precision)
    length = dict(max_new_tokens=args.max_new_tokens, min_new_tokens=args.max_new_tokens)
    plain = Settings(strategy="sample", seed=3, **length)
    print(machine.describe())
    print(f"model {loaded.info.id} {loaded.info.precision}, {args.max_new_tokens} new tokens, median of {args.repeats}")
    configs = {"plain sampling": plain, **{f"every new stage, {n}": plain.replace(**EVERY_NEW_STAGE, **more)
                                           for n, more in THEN.items()}}  # fmt: skip
    tokens_per_second(loaded, plain)  # warm-up
    rates: dict[str, list[float]] = {name: [] for name in configs}
    for _ in range(args.repeats):
        for name, settings in configs.items():
            rates[name].append(tokens_per_second(loaded, settings))
    medians = {name: statistics.median(values) for name, values in rates.items()}
    for name, value in medians.items():
        print(f"{name:36s} {value:7.2f} tokens/s  ratio {value / medians['plain sampling']:.3f}")


if __name__ == "__main__":
    main()
