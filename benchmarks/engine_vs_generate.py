"""Tokens/s of the traced engine against transformers' `generate`, same model, same settings, one run.

    python -m benchmarks.engine_vs_generate [--precision nf4] [--max-new-tokens 32] [--repeats 3]

For greedy, sampling and beam-4 it times the engine (every step recorded, top-20 candidates) and `generate`
alternately, `--repeats` times each, and prints the median tokens/s of both and their ratio. The engine's
target is a ratio of at least 0.95: tracing must not cost the user noticeable speed.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from benchmarks import machine
from playground.engine import generate
from playground.engine.context import prepare
from playground.models import DEFAULT_MODEL_ID, load_model
from playground.settings import Settings

PROMPT = "Write a short story about a lighthouse keeper who finds a message in a bottle."
CASES = {
    "greedy": dict(strategy="greedy"),
    "sampling": dict(strategy="sample", temperature=0.8, top_k=50, top_p=0.95, seed=1),
    "beam-4": dict(strategy="beam", num_beams=4),
}


def time_engine(loaded, settings: Settings) -> tuple[float, int]:
    """Seconds and new tokens for one engine run."""
    started = time.perf_counter()
    trace = generate(loaded, PROMPT, settings)
    return time.perf_counter() - started, trace.timing.new_tokens


def time_transformers(loaded, settings: Settings) -> tuple[float, int]:
    """Seconds and new tokens for one `generate` call with the same settings and prompt tokens."""
    ids = torch.tensor([prepare(loaded, PROMPT, settings).prompt.token_ids], device=loaded.model.device)
    kwargs = dict(
        max_new_tokens=settings.max_new_tokens,
        min_new_tokens=settings.min_new_tokens,
        do_sample=settings.strategy == "sample",
    )
    if settings.strategy == "sample":
        kwargs.update(temperature=settings.temperature, top_k=settings.top_k, top_p=settings.top_p)
    if settings.strategy == "beam":
        kwargs.update(num_beams=settings.num_beams)
    torch.manual_seed(settings.seed)
    started = time.perf_counter()
    with torch.no_grad():
        out = loaded.model.generate(ids, pad_token_id=loaded.tokenizer.pad_token_id, **kwargs)
    machine.synchronize()
    elapsed = time.perf_counter() - started
    new = out[0, ids.shape[1] :]
    # `generate` pads a beam that finished early; count the tokens of the returned sequence only.
    eos = loaded.model.generation_config.eos_token_id
    eos = set(eos if isinstance(eos, list) else [eos])
    length = next((i + 1 for i, t in enumerate(new.tolist()) if t in eos), len(new))
    return elapsed, length


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=DEFAULT_MODEL_ID)
    parser.add_argument("--precision", default="nf4")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    loaded = load_model(args.model, args.precision)
    info = loaded.info
    print(
        f"model {info.id} {info.precision} on {info.device}, {info.memory_mb:.0f} MB, "
        f"{args.max_new_tokens} new tokens, median of {args.repeats}"
    )
    print(machine.describe())
    print(f"{'strategy':<10} {'engine tok/s':>13} {'generate tok/s':>15} {'ratio':>7}")
    for name, knobs in CASES.items():
        # min_new_tokens = max_new_tokens: both sides produce the same number of tokens.
        settings = Settings(max_new_tokens=args.max_new_tokens, min_new_tokens=args.max_new_tokens, **knobs)
        warm = settings.replace(max_new_tokens=4, min_new_tokens=0)
        time_engine(loaded, warm)
        time_transformers(loaded, warm)
        ours, theirs = [], []
        for _ in range(args.repeats):
            seconds, tokens = time_engine(loaded, settings)
            ours.append(tokens / seconds)
            seconds, tokens = time_transformers(loaded, settings)
            theirs.append(tokens / seconds)
        a, b = statistics.median(ours), statistics.median(theirs)
        print(f"{name:<10} {a:>13.2f} {b:>15.2f} {a / b:>7.3f}", flush=True)


if __name__ == "__main__":
    main()
