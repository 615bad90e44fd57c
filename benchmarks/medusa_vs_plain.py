"""Medusa heads against plain decoding, the same-weights draft and prompt lookup, one run.

    python -m benchmarks.medusa_vs_plain [--precision nf4] [--max-new-tokens 64] [--trees 4,8,16] [--repeats 2]

1. What a verifying pass costs against the tree's size: one target pass over N tree nodes (N = 1 is a plain
   decoding step) after a 150-token text, median of 9, and its ratio to N = 1, at --precision and at bf16.
   A tree of N nodes pays off only when the tokens it emits per pass exceed that ratio.
2. For greedy and sampling, on prompts of different kinds, the engine's tokens/s of plain decoding, Medusa heads
   with each tree size, the target's own weights at bf16 as a draft (4 tokens per round) and prompt lookup; for
   each speculative run its tokens per target pass and speed-up over plain decoding in the same run. Every run
   makes exactly --max-new-tokens tokens. Greedy also counts how many Medusa outputs equal plain greedy (all of
   them in fp32; at nf4 a batched pass may round differently from a one-token pass, rarely flipping a token).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from benchmarks import machine
from playground.engine import generate
from playground.engine.forward import forward_tokens, forward_tree, new_cache
from playground.engine.speculative import load_draft
from playground.engine.speculative.draft_tree import best_tree
from playground.models import DEFAULT_MODEL_ID, load_model
from playground.settings import MEDUSA, PROMPT_LOOKUP, Settings

PROMPTS = {
    "explain": "Explain how a rainbow forms.",
    "story": "Write a short story about a robot who learns to paint.",
    "list": "List five tips for learning a new language.",
    "rewrite": "Rewrite this sentence in the past tense: The old lighthouse keeper climbs the stairs every evening, "
    "lights the lamp, and watches the ships pass by the rocky coast.",
}
SAMPLING = dict(do_sample=True, temperature=0.7, top_p=0.95, seed=1)


def pass_cost(loaded, sizes: list[int], text: int = 150, repeats: int = 9) -> dict[int, float]:
    """Median seconds of one target pass over a draft tree of each size (its shape from the heads' hit rates),
    after `text` cached tokens."""
    model = loaded.model
    draft = load_draft(Settings(strategy="speculative", draft_model=MEDUSA), loaded)
    device = model.device
    cache = new_cache(model)
    forward_tokens(model, list(range(1000, 1000 + text)), cache)
    trees = {n: best_tree(draft.hit_rates, n) for n in sizes}
    times: dict[int, list[float]] = {n: [] for n in sizes}
    for _ in range(repeats):
        for n, tree in trees.items():
            tokens = torch.arange(2000, 2000 + tree.size, device=device)
            mask, depths = tree.mask(device), torch.tensor(tree.depths, device=device)

            def verify(tokens=tokens, mask=mask, depths=depths):
                return model.get_output_embeddings()(forward_tree(model, tokens, mask, depths, cache))

            seconds, _ = machine.timed(verify)
            cache.crop(-tree.size)
            times[n].append(seconds)
    return {n: statistics.median(t) for n, t in times.items()}


def run(loaded, prompt: str, settings: Settings) -> tuple[float, object]:
    """Tokens/s of one engine run (the draft loaded beforehand, outside the timing) and its trace."""
    draft = load_draft(settings, loaded)
    started = time.perf_counter()
    with torch.no_grad():
        trace = generate(loaded, prompt, settings, draft=draft)
    return trace.timing.new_tokens / (time.perf_counter() - started), trace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--precision", default="nf4")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--trees", default="4,8,16", help="Medusa tree sizes (guesses per round) to run")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--only-cost", action="store_true", help="measure the verifying pass only (part 1)")
    args = parser.parse_args()
    target = load_model(DEFAULT_MODEL_ID, args.precision)
    load_model(DEFAULT_MODEL_ID, "bf16")  # the same-weights draft, loaded before any timing
    trees = [int(n) for n in args.trees.split(",")]
    n = args.max_new_tokens
    print(f"target {DEFAULT_MODEL_ID} {args.precision} on {target.info.device}, {n} tokens, median of {args.repeats}")
    print(machine.describe())

    print("\n1. one verifying pass against the tree's nodes (the root included), at nf4 and at bf16")
    sizes = [1, 2, 3, 5, 9, 17, 33, 64]
    costs = {args.precision: pass_cost(target, sizes), "bf16": pass_cost(load_model(DEFAULT_MODEL_ID, "bf16"), sizes)}
    print(f"{'nodes':>6}" + "".join(f"{name + ' ms':>10}{'x one':>7}" for name in costs))
    for size in sizes:
        print(f"{size:>6}" + "".join(f"{c[size] * 1000:10.1f}{c[size] / c[1]:7.2f}" for c in costs.values()))
    if args.only_cost:
        return

    print("\n2. tokens/s (tok/pass: tokens per target pass; x: speed-up over plain in this run)")
    names = [f"medusa-{t}" for t in trees] + ["same-bf16", "lookup"]
    header = f"{'mode':<9}{'prompt':<9}{'plain':>7}" + "".join(f"{name:>12}{'tok/pass':>9}{'x':>6}" for name in names)
    print(header)
    totals: dict[tuple[str, str], list[float]] = {}
    equal = compared = 0
    for mode, knobs in (("greedy", {}), ("sampling", SAMPLING)):
        for label, prompt in PROMPTS.items():
            exact = dict(max_new_tokens=n, min_new_tokens=n)
            plain = Settings(strategy="sample" if knobs else "greedy", **exact,
                             **{k: v for k, v in knobs.items() if k != "do_sample"})  # fmt: skip
            spec = Settings(strategy="speculative", **exact, **knobs)
            variants = {f"medusa-{t}": spec.replace(draft_model=MEDUSA, tree_size=t) for t in trees}
            variants |= {"same-bf16": spec.replace(draft_model=None, draft_precision="bf16", num_draft_tokens=4),
                         "lookup": spec.replace(draft_model=PROMPT_LOOKUP, num_draft_tokens=4)}  # fmt: skip
            run(target, prompt, plain.replace(max_new_tokens=4, min_new_tokens=4))  # warm-up
            rates: dict[str, list[float]] = {}
            passes: dict[str, float] = {}
            plain_ids = None
            for _ in range(args.repeats):
                rate, trace = run(target, prompt, plain)
                rates.setdefault("plain", []).append(rate)
                plain_ids = trace.output.token_ids
                for name, settings in variants.items():
                    rate, trace = run(target, prompt, settings)
                    rates.setdefault(name, []).append(rate)
                    passes[name] = trace.speculative.tokens_per_round
                    if not knobs and name.startswith("medusa"):
                        compared += 1
                        equal += trace.output.token_ids == plain_ids
            median = {name: statistics.median(values) for name, values in rates.items()}
            cells = "".join(
                f"{median[name]:12.1f}{passes[name]:9.2f}{median[name] / median['plain']:6.2f}" for name in names
            )
            print(f"{mode:<9}{label:<9}{median['plain']:7.1f}{cells}")
            for name in names:
                totals.setdefault((mode, name), []).append(median[name] / median["plain"])
                totals.setdefault((mode, name + " tok/pass"), []).append(passes[name])
    print("\nmean over prompts (speed-up over plain, tokens per target pass):")
    for mode in ("greedy", "sampling"):
        cells = []
        for name in names:
            speedup, per_pass = (statistics.mean(totals[(mode, key)]) for key in (name, name + " tok/pass"))
            cells.append(f"{name} {speedup:.2f}x / {per_pass:.2f}")
        print(f"  {mode}: " + ", ".join(cells))
    print(f"greedy Medusa outputs equal to plain greedy: {equal} of {compared}")


if __name__ == "__main__":
    main()
