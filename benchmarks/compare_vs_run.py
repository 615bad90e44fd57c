"""Time of a teacher-forced comparison against one run of the same length, in one process.

    python -m benchmarks.compare_vs_run [--precision nf4] [--max-new-tokens 64] [--repeats 3]

A comparison reads A's tokens with A and with B by teacher forcing (a pass over the text each, no decoding
loop), then computes the divergences at every step. B here is the same weights at another temperature and
top-p (settings that change only the processors) and, separately, the same model at fp32 (another forward pass).
The ratio is comparison time over the time of the run that made A's tokens.
"""

from __future__ import annotations

import argparse
import statistics

from benchmarks import machine
from benchmarks.machine import timed
from playground.engine import generate
from playground.engine.compare import compare_path
from playground.models import DEFAULT_MODEL_ID, load_model
from playground.settings import Settings

PROMPTS = [
    "Write a short story about a lighthouse keeper who finds a message in a bottle.",
    "Explain in two sentences why the sky is blue.",
    "Give me three tips for learning to play the guitar.",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=DEFAULT_MODEL_ID)
    parser.add_argument("--precision", default="nf4")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    a = load_model(args.model, args.precision)
    # The fp32 reference sits where A computes; under a device map ("cpu+disk") it is placed the same way.
    reference = load_model(args.model, "fp32", device=None if a.device_map else a.info.device)
    n = args.max_new_tokens
    a_settings = Settings(strategy="sample", seed=1, temperature=0.7, max_new_tokens=n, min_new_tokens=n)
    b_settings = a_settings.replace(temperature=1.2, top_p=0.9)
    print(f"model {a.info.id} {a.info.precision} on {a.info.device}, {n} tokens, median of {args.repeats}")
    print(machine.describe())
    print(f"{'prompt':<40} {'run s':>7} {'vs settings':>12} {'ratio':>6} {'vs fp32':>8} {'ratio':>6}")
    ratios_settings, ratios_model = [], []
    generate(a, PROMPTS[0], a_settings.replace(max_new_tokens=4, min_new_tokens=4))  # warm-up
    for prompt in PROMPTS:
        run_s, same_s, other_s = [], [], []
        for _ in range(args.repeats):
            seconds, trace = timed(lambda p=prompt: generate(a, p, a_settings))
            run_s.append(seconds)
            ids, tokens = trace.prompt.token_ids, trace.output.token_ids
            same_s.append(timed(lambda i=ids, t=tokens: compare_path(a, a_settings, a, b_settings, i, t))[0])
            other_s.append(timed(lambda i=ids, t=tokens: compare_path(a, a_settings, reference, a_settings, i, t))[0])
        run, same, other = (statistics.median(x) for x in (run_s, same_s, other_s))
        ratios_settings.append(same / run)
        ratios_model.append(other / run)
        print(f"{prompt[:40]:<40} {run:>7.2f} {same:>12.2f} {same / run:>6.2f} {other:>8.2f} {other / run:>6.2f}")
    print(
        f"comparison / run: other settings {statistics.geometric_mean(ratios_settings):.2f}x, "
        f"fp32 reference {statistics.geometric_mean(ratios_model):.2f}x (geometric means)"
    )


if __name__ == "__main__":
    main()
