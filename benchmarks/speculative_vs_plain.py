"""Speculative decoding against plain decoding and transformers' assisted generation, one run.

    python -m benchmarks.speculative_vs_plain [--precision nf4] [--draft-precision bf16] [--max-new-tokens 64]

For greedy and sampling, on several prompts, it prints tokens/s of: plain target decoding (the traced engine),
speculative decoding with a model draft (the target's weights at --draft-precision) and with prompt lookup, and
transformers' `generate` with the same draft (`assistant_model`) and with `prompt_lookup_num_tokens`; with the
acceptance rate of each speculative run and the speed-up over plain decoding. Every run generates exactly
--max-new-tokens tokens (min_new_tokens is set to the same value) so the rates compare like with like.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from benchmarks import machine
from playground.engine import generate
from playground.engine.context import prepare
from playground.engine.speculative import load_draft
from playground.models import DEFAULT_MODEL_ID, load_model
from playground.settings import PROMPT_LOOKUP, Settings

PROMPTS = {
    "rewrite": "Rewrite this sentence in the past tense: The old lighthouse keeper climbs the stairs every evening, "
    "lights the lamp, and watches the ships pass by the rocky coast.",
    "story": "Write a short story about a robot who learns to paint.",
    "list": "List the planets of the solar system in order from the sun, one per line, with one fact each.",
}
GAMMA = 4


def engine_rate(loaded, prompt: str, settings: Settings) -> tuple[float, float | None]:
    """Tokens/s of one engine run, and its acceptance rate (None for plain decoding)."""
    draft = load_draft(settings, loaded)  # loaded once and kept: not part of the timing
    started = time.perf_counter()
    trace = generate(loaded, prompt, settings, draft=draft)
    rate = trace.timing.new_tokens / (time.perf_counter() - started)
    return rate, trace.speculative.acceptance_rate if trace.speculative else None


def transformers_rate(loaded, prompt: str, settings: Settings, **assist) -> float:
    """Tokens/s of transformers' `generate` with the same prompt tokens and sampling settings."""
    ids = torch.tensor([prepare(loaded, prompt, settings).prompt.token_ids], device=loaded.model.device)
    kwargs = dict(max_new_tokens=settings.max_new_tokens, min_new_tokens=settings.min_new_tokens)
    kwargs.update(do_sample=settings.samples, pad_token_id=loaded.tokenizer.pad_token_id)
    if settings.samples:
        kwargs.update(temperature=settings.temperature, top_k=settings.top_k, top_p=settings.top_p)
    torch.manual_seed(settings.seed)
    started = time.perf_counter()
    with torch.no_grad():
        out = loaded.model.generate(ids, **kwargs, **assist)
    machine.synchronize()
    return (out.shape[1] - ids.shape[1]) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=DEFAULT_MODEL_ID)
    parser.add_argument("--precision", default="nf4")
    parser.add_argument("--draft-precision", default="bf16")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    target = load_model(args.model, args.precision)
    draft = load_model(args.model, args.draft_precision)
    n = args.max_new_tokens
    print(
        f"target {args.model} {args.precision}, draft the same weights in {args.draft_precision}, "
        f"{target.info.device}, {n} tokens, {GAMMA} draft tokens per round, median of {args.repeats}"
    )
    print(machine.describe())
    columns = ["plain", "spec", "acc", "x", "hf", "x", "spec-ad", "x", "hf-ad", "x", "lookup", "acc", "x", "hf-lk", "x"]
    print(f"{'mode':<8} {'prompt':<8} " + " ".join(f"{c:>7}" for c in columns))
    for mode, knobs in (("greedy", {}), ("sampling", dict(do_sample=True, temperature=0.8, top_p=0.95, seed=1))):
        for name, prompt in PROMPTS.items():
            plain = Settings(
                strategy="sample" if knobs else "greedy",
                max_new_tokens=n,
                min_new_tokens=n,
                **{k: v for k, v in knobs.items() if k != "do_sample"},
            )
            spec = Settings(
                strategy="speculative",
                draft_model=None,
                max_new_tokens=n,
                min_new_tokens=n,
                num_draft_tokens=GAMMA,
                draft_precision=args.draft_precision,
                **knobs,
            )
            adaptive = spec.replace(draft_schedule="adaptive")
            lookup = spec.replace(draft_model=PROMPT_LOOKUP)
            engine_rate(target, prompt, plain.replace(max_new_tokens=4, min_new_tokens=4))  # warm-up
            engine_rate(target, prompt, spec.replace(max_new_tokens=4, min_new_tokens=4))
            runs: dict[str, list] = {}
            for _ in range(args.repeats):
                for key, settings in (("plain", plain), ("spec", spec), ("spec-ad", adaptive), ("lookup", lookup)):
                    rate, acc = engine_rate(target, prompt, settings)
                    runs.setdefault(key, []).append(rate)
                    runs.setdefault(key + "-acc", []).append(acc)
                # transformers with the same draft: constant schedule and no confidence cut-off (as "spec"), and
                # its defaults (adaptive length, stop below 0.4 confidence: as "spec-ad").
                assist = dict(assistant_model=draft.model, num_assistant_tokens=GAMMA)
                constant = dict(num_assistant_tokens_schedule="constant", assistant_confidence_threshold=0.0)
                runs.setdefault("hf", []).append(transformers_rate(target, prompt, spec, **assist, **constant))
                runs.setdefault("hf-ad", []).append(transformers_rate(target, prompt, spec, **assist))
                runs.setdefault("hf-lk", []).append(
                    transformers_rate(target, prompt, spec, prompt_lookup_num_tokens=GAMMA)
                )
            m = {k: statistics.median(v) for k, v in runs.items() if None not in v}
            base = m["plain"]
            cells = [
                f"{base:7.1f}",
                *(f"{m['spec']:7.1f}", f"{m['spec-acc']:7.2f}", f"{m['spec'] / base:7.2f}"),
                *(f"{m['hf']:7.1f}", f"{m['hf'] / base:7.2f}"),
                *(f"{m['spec-ad']:7.1f}", f"{m['spec-ad'] / base:7.2f}"),
                *(f"{m['hf-ad']:7.1f}", f"{m['hf-ad'] / base:7.2f}"),
                *(f"{m['lookup']:7.1f}", f"{m['lookup-acc']:7.2f}", f"{m['lookup'] / base:7.2f}"),
                *(f"{m['hf-lk']:7.1f}", f"{m['hf-lk'] / base:7.2f}"),
            ]
            print(f"{mode:<8} {name:<8} " + " ".join(cells), flush=True)
    print("tokens/s; x = speed-up over plain; acc = accepted / proposed draft tokens; -ad = adaptive schedule")


if __name__ == "__main__":
    main()
