"""How often the suffix draft guesses the model's own held-out answers, and what a guess costs:

    python -m benchmarks.suffix_acceptance --answers answers.pt [--budget 8] [--documents shipped|answers]

At every position t of each held-out answer (`eval_prompts.txt`, which the shipped corpus leaves out), the index
proposes up to `--budget` tokens after ids[:t]; a proposal's accepted length is how many of its leading tokens
are the answer's next tokens (what greedy verification keeps). It prints how often something is proposed, the
first token's hit rate when it is, the mean accepted length per proposal and per position, how well the
proposed tokens' estimated chances predict their hits, the index's build time and the time per proposal.
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np
import torch

from playground.engine.speculative.suffix import MIN_COUNT, MIN_PROB, PRIOR, SuffixIndex
from playground.models.bundled import DEFAULT_MODEL_ID
from playground.suffix.corpus import shipped_documents

BINS = [0.0, 0.2, 0.4, 0.6, 0.8, 0.95, 1.01]  # buckets of estimated chance for the calibration table


def accepted(proposed: list[int], answer: list[int]) -> int:
    """How many leading tokens of `proposed` equal `answer`'s."""
    count = 0
    for guess, token in zip(proposed, answer, strict=False):
        if guess != token:
            break
        count += 1
    return count


def measure(index: SuffixIndex, held_out: list[tuple[list[int], int]], budget: int) -> dict:
    """Proposals at every answer position: counts, accepted lengths, (share, hit) pairs and seconds per call."""
    positions, lengths, firsts, seconds, chances, hits = 0, [], [], [], [], []
    for ids, prompt_len in held_out:
        for t in range(prompt_len, len(ids)):
            started = time.perf_counter()
            tokens, probs = index.propose(ids[:t], budget)
            seconds.append(time.perf_counter() - started)
            positions += 1
            if not tokens:
                continue
            kept = accepted(tokens, ids[t:])
            lengths.append(kept)
            firsts.append(tokens[0] == ids[t])
            # Each token is judged only where the ones before it were right, as verification judges it.
            reached = probs[: min(kept + 1, len(probs)) if t + kept < len(ids) else kept]
            chances += reached
            hits += [j < kept for j in range(len(reached))]
    return dict(positions=positions, lengths=lengths, firsts=firsts, seconds=seconds, chances=chances, hits=hits)


def report(found: dict, build_s: float, num_tokens: int) -> None:
    """Prints what `measure` found."""
    lengths, seconds = np.array(found["lengths"]), np.array(found["seconds"]) * 1e3
    proposals = len(lengths)
    print(f"index: {num_tokens} tokens, built in {build_s:.2f} s")
    print(f"positions: {found['positions']}; something proposed at {proposals} ({proposals / found['positions']:.1%})")
    print(f"first token right when proposed: {np.mean(found['firsts']):.1%}")
    print(f"accepted per proposal: {lengths.mean():.2f} tokens; per position: {lengths.sum() / found['positions']:.2f}")
    print(f"proposal time: mean {seconds.mean():.3f} ms, median {np.median(seconds):.3f} ms, "
          f"90th percentile {np.percentile(seconds, 90):.3f} ms, 99th {np.percentile(seconds, 99):.3f} ms")  # fmt: skip
    chances, hits = np.array(found["chances"]), np.array(found["hits"])
    print("estimated chance -> tokens judged, hit rate, mean estimate:")
    for low, high in itertools.pairwise(BINS):
        inside = (chances >= low) & (chances < high)
        if inside.any():
            judged, rate, mean = inside.sum(), hits[inside].mean(), chances[inside].mean()
            print(f"  [{low:.2f}, {min(high, 1):.2f}): {judged:6d}  {rate:.1%}  {mean:.2f}")


def main(argv: list[str] | None = None) -> None:
    """Measures as the module docstring says."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answers", type=Path, required=True, help="the file playground.training.answers wrote")
    parser.add_argument("--budget", type=int, default=8)
    parser.add_argument(
        "--documents",
        choices=["shipped", "answers"],
        default="shipped",
        help="the shipped corpus, or only the answer parts of the file's training documents",
    )
    parser.add_argument("--min-count", type=int, default=MIN_COUNT)
    parser.add_argument("--min-prob", type=float, default=MIN_PROB)
    parser.add_argument("--prior", type=float, default=PRIOR)
    args = parser.parse_args(argv)
    corpus = torch.load(args.answers)
    if args.documents == "shipped":
        documents = shipped_documents(DEFAULT_MODEL_ID)
    else:
        documents = [ids[prompt_len:] for ids, prompt_len in corpus["train"]]
    started = time.perf_counter()
    index = SuffixIndex(documents, min_count=args.min_count, min_prob=args.min_prob, prior=args.prior)
    build_s = time.perf_counter() - started
    print(f"{args.documents} documents, min_count {args.min_count}, min_prob {args.min_prob}, prior {args.prior}, "
          f"budget {args.budget}")  # fmt: skip
    report(measure(index, corpus["held_out"], args.budget), build_s, index.num_tokens)


if __name__ == "__main__":
    main()
