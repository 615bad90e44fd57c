"""The EAGLE-style head against the shipped Medusa heads, on the held-out answers, in one run:

    python -m benchmarks.eagle_vs_medusa --answers answers.pt --eagle eagle.safetensors [--precision nf4]

1. Acceptance by depth d = 1..4 of a greedy chain of 4 drafted tokens after every held-out answer position (the
   share of positions whose first d drafted tokens all equal the answer's): the EAGLE head drafting from its own
   predictions, and the Medusa heads used as a chain (head k's top guess at depth k + 1).
2. The shipped Medusa tree (draft_tree.best_tree from the card's hit rates, sizes 4, 8, 16): the card's expected
   length (an upper bound) and the length the heads' real guesses reach on the same positions.
3. What a round costs on this CPU: one target pass over 1 token after a 150-token text (the unit), what drafting
   costs per round (median ms), and the pass over n tokens, c(n), both assumed (0.92 + 0.24 ceil(n / 4) at nf4)
   and measured here; then the expected tokens per unit of cost, drafting included (a plain step is 1.00).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch

from benchmarks import machine
from playground.eagle.drafter import EagleDrafter
from playground.eagle.head import EagleHead, target_classes
from playground.engine.forward import forward_tokens, new_cache
from playground.engine.speculative.draft_tree import best_tree, expected_length
from playground.medusa.draft import SHIPPED
from playground.medusa.heads import MedusaHeads
from playground.models import DEFAULT_MODEL_ID, load_model
from playground.training.acceptance import (
    chain_acceptance,
    chain_truth,
    expected_tokens,
    pass_cost,
    tokens_per_cost,
    tree_accepted,
)
from playground.training.eagle import cached_features, held_out_chains

RANKS = 10  # guesses per Medusa head the trees may read
TEXT = 150  # tokens of text before the timed passes and drafts


def interleaved_ms(timers: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median milliseconds of each timer, run in turn `repeats` times after one warm-up round (interleaved, so
    other work sharing the CPU weighs on all of them alike)."""
    times: dict[str, list[float]] = {name: [] for name in timers}
    for round_ in range(repeats + 1):
        for name, fn in timers.items():
            started = time.perf_counter()
            fn()
            if round_:
                times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) * 1000 for name, values in times.items()}


@torch.no_grad()
def medusa_guesses(heads: MedusaHeads, projection: torch.Tensor, sequences, features) -> tuple[torch.Tensor, ...]:
    """The heads' top guesses at every held-out origin, (N, K, RANKS) token ids, and the answers' tokens there,
    (N, K)."""
    guesses, truth = [], []
    for (ids, prompt_len), feats in zip(sequences, features, strict=True):
        logits = heads(feats[prompt_len - 1 : len(ids) - 2], projection)  # (K, N, M)
        guesses.append(heads.token_ids(torch.topk(logits, RANKS, dim=-1).indices).permute(1, 0, 2))
        truth.append(chain_truth(ids, prompt_len, heads.num_heads))
    return torch.cat(guesses), torch.cat(truth)


def pass_timers(loaded, sizes: list[int]) -> dict[str, Callable[[], object]]:
    """A target pass over n new tokens after TEXT cached ones, for each n (then the cache drops them again)."""
    model, cache = loaded.model, new_cache(loaded.model)
    forward_tokens(model, list(range(1000, 1000 + TEXT)), cache)

    @torch.no_grad()
    def one_pass(n: int) -> None:
        forward_tokens(model, list(range(2000, 2000 + n)), cache)
        cache.crop(-n)

    return {f"pass {n}": lambda n=n: one_pass(n) for n in sizes}


@torch.no_grad()
def eagle_timer(head: EagleHead, loaded, depth: int) -> Callable[[], object]:
    """One round's drafting: two confirmed pairs fed, then a chain of `depth` tokens drafted, after a TEXT-pair
    context in the head's cache."""
    model = loaded.model
    projection = head.projection(model.get_output_embeddings().weight)
    drafter = EagleDrafter(head, model.get_input_embeddings(), projection)
    d = model.config.hidden_size
    drafter.propose(torch.randn(TEXT, d), torch.arange(1000, 1000 + TEXT), 1)

    def draft() -> None:
        drafter.propose(torch.randn(2, d), torch.tensor([3000, 3001]), depth)
        drafter.confirmed -= 2  # the next call feeds the same two positions again

    return draft  # `propose` runs without autograd itself


def medusa_timer(heads: MedusaHeads, projection: torch.Tensor) -> Callable[[], object]:
    """The heads' guesses for one round (the tree loop's `next_guesses`: logits, softmax, top-k)."""
    last = torch.randn(projection.shape[1])
    return torch.no_grad()(lambda: torch.topk(torch.softmax(heads(last, projection).float(), dim=-1), RANKS))


def print_rows(rows: list[tuple], ms: dict[str, float]) -> None:
    """The comparison table: one row per draft and length (name, length, tokens per pass, tokens in the pass,
    drafting timer), its value with the assumed and the measured c(n)."""
    print(f"{'draft':<14}{'len':>4}{'tok/pass':>9}{'pass n':>7}{'draft ms':>9}{'draft x':>8}"
          f"{'c(n) nf4':>9}{'tok/cost':>9}{'c(n) here':>10}{'tok/cost':>9}")  # fmt: skip
    for name, length, tokens, n, timer in rows:
        steps, cost = ms[timer] / ms["pass 1"], ms[f"pass {n}"] / ms["pass 1"]
        assumed, here = tokens_per_cost(tokens, n, steps), tokens / (cost + steps)
        print(f"{name:<14}{length:>4}{tokens:9.2f}{n:>7}{ms[timer]:9.2f}{steps:8.3f}"
              f"{pass_cost(n):9.2f}{assumed:9.2f}{cost:10.2f}{here:9.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answers", required=True, help="the model's own answers (training/eagle.py's format)")
    parser.add_argument("--eagle", required=True, help="the EAGLE head file (python -m playground.training.eagle)")
    parser.add_argument("--precision", default="nf4")
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--trees", default="4,8,16")
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument(
        "--features", type=Path, help="the held-out features kept by training (--features X: X.held.pt)"
    )
    args = parser.parse_args()
    loaded = load_model(DEFAULT_MODEL_ID, args.precision)
    model = loaded.model
    print(f"target {DEFAULT_MODEL_ID} {args.precision} on {loaded.info.device}\n{machine.describe()}")
    held = list(torch.load(args.answers)["held_out"])
    features = cached_features(loaded, held, args.features)
    head, card = EagleHead.load(args.eagle, model.config, *target_classes(model))
    embed, weight = model.get_input_embeddings(), model.get_output_embeddings().weight
    eagle = chain_acceptance(*held_out_chains(head, held, features, embed, head.projection(weight), args.depth))
    heads, heads_card = MedusaHeads.load(SHIPPED[DEFAULT_MODEL_ID])
    projection = heads.projection(weight.detach().float())
    guesses, truth = medusa_guesses(heads, projection, held, features)
    medusa = chain_acceptance(guesses[:, : args.depth, 0], truth[:, : args.depth])
    print(f"\n1. held-out acceptance by depth ({len(truth)} positions of {len(held)} answers)")
    print(f"{'draft':<14}" + "".join(f"{'d=' + str(d):>8}" for d in range(1, args.depth + 1)))
    for name, rates in (("eagle chain", eagle), ("medusa chain", medusa)):
        print(f"{name:<14}" + "".join(f"{rate:8.1%}" for rate in rates))
    print(f"(the EAGLE card: {card.accuracy['chain']}; Medusa card top-1: {heads_card.accuracy['top1']})")

    sizes = [int(size) for size in args.trees.split(",")]
    trees = {size: best_tree(heads_card.accuracy["by_rank"], size) for size in sizes}
    print("\n2. Medusa trees (card's bound, then measured on the same positions)")
    measured = {size: 1 + float(tree_accepted(tree, guesses, truth).float().mean()) for size, tree in trees.items()}
    for size, tree in trees.items():
        bound = expected_length(tree, heads_card.accuracy["by_rank"])
        print(f"size {size:>3}: {bound:.2f} bound, {measured[size]:.2f} measured tokens per pass")

    print(f"\n3. cost per round, median of {args.repeats}; c(n) in one-token passes; tok/cost: 1.00 is a plain step")
    depths = range(1, args.depth + 1)
    timers = pass_timers(loaded, sorted({1} | {k + 1 for k in depths} | set(sizes)))
    timers |= {f"eagle {k}": eagle_timer(head, loaded, k) for k in depths} | {"medusa": medusa_timer(heads, projection)}
    ms = interleaved_ms(timers, args.repeats)
    print(f"one-token target pass after {TEXT} tokens: {ms['pass 1']:.1f} ms")
    rows = [("eagle chain", k, expected_tokens(eagle, k), k + 1, f"eagle {k}") for k in depths]
    rows += [("medusa chain", k, expected_tokens(medusa, k), k + 1, "medusa") for k in depths]
    rows += [("medusa tree", size, measured[size], size, "medusa") for size in sizes]
    print_rows(rows, ms)


if __name__ == "__main__":
    main()
