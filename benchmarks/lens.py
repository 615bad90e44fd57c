"""The logit lens for one step of a 256-token run: what looking inside costs after the run (the run itself is not
timed; Generate never computes the lens).

    python -m benchmarks.lens [--precision nf4] [--tokens 256] [--reps 5]

A greedy run of exactly --tokens tokens (a story prompt, chat template on) is made first. Then, --reps times each:
the lens of its last step with an empty cache (the first step a person opens in a run: one pass over the prompt
and every generated token, then the norm and head over every layer), and the lens of another step of the same run
from the cache (every step after the first); and, in turn with them, a plain forward pass over the same text (what
the lens's pass cannot be cheaper than), so a machine that gets busier during the run slows all alike. Medians are
printed, with the machine. The target: the first under 1.5 s on a CPU at nf4.
"""

from __future__ import annotations

import argparse
import os
import statistics

import torch

from benchmarks import machine
from benchmarks.machine import timed
from playground.engine import generate
from playground.engine.logit_lens import LensCache, lens_step, run_text
from playground.models import load_model
from playground.models.device_map import input_device
from playground.settings import Settings

PROMPT = "Write a long story about a lighthouse keeper who finds a message in a bottle."
TARGET_S = 1.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--precision", default="nf4")
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    print(machine.describe())
    os.environ.setdefault("PLAYGROUND_MAX_TIME", "3600")  # a slow machine must still make every token
    loaded = load_model(precision=args.precision)
    exactly = {"max_new_tokens": args.tokens, "min_new_tokens": args.tokens}
    settings = Settings.within().replace(strategy="greedy", chat=True, **exactly)
    run_s, trace = timed(lambda: generate(loaded, PROMPT, settings))
    steps = len(trace.output.token_ids)
    text = len(trace.prompt.token_ids) + steps - 1
    print(
        f"run: {steps} tokens greedy at {args.precision} in {run_s:.1f} s ({trace.output.stop_reason}; not part of the "
        f"lens); text read: {text} tokens"
    )
    lens_step(loaded, trace, steps, cache=LensCache())  # warm-up: the first pass allocates
    first, cached, plain = [], [], []
    tokens = torch.tensor([run_text(trace)], device=input_device(loaded.model))
    for _ in range(args.reps):
        cache = LensCache()
        plain.append(timed(lambda: torch_pass(loaded.model, tokens))[0])
        first.append(timed(lambda c=cache: lens_step(loaded, trace, steps, cache=c))[0])
        cached.append(timed(lambda c=cache: lens_step(loaded, trace, steps // 2, cache=c))[0])
    lens = lens_step(loaded, trace, steps)
    first_s, cached_s, plain_s = statistics.median(first), statistics.median(cached), statistics.median(plain)
    verdict = "under" if first_s < TARGET_S else "OVER"
    print(f"lens, first step of the run (one pass over {text} tokens): {first_s:.3f} s median of {args.reps} "
          f"({verdict} the {TARGET_S} s target)")  # fmt: skip
    print(f"a plain forward pass over the same text: {plain_s:.3f} s median (the lens's first step is "
          f"{first_s / plain_s:.2f}x it)")  # fmt: skip
    print(f"lens, another step of the same run (cached): {cached_s * 1e3:.1f} ms median of {args.reps}")
    print(f"{lens.num_layers} layers + embeddings; step {steps}'s token first top-1 at layer {lens.first_top1_layer}")


@torch.no_grad()
def torch_pass(model, tokens: torch.Tensor) -> None:
    """The model's body over (1, T) tokens, no cache: the pass the lens makes, without its hooks."""
    model.base_model(input_ids=tokens, use_cache=False)


if __name__ == "__main__":
    main()
