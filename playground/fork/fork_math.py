"""The forking analysis's arithmetic, pure: outcome histograms, the outcome distribution at a position
(o_t = sum over branches w of weight(w) x hist(outcome | w)), the total-variation distance between two of them,
and the change points where it exceeds a threshold (Bigelow et al., "Forking Paths in Neural Text Generation",
ICLR 2025)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from itertools import pairwise

from playground.fork.outcome import label


def histogram(outcomes: Sequence[str | None]) -> dict[str, float]:
    """The share of each outcome label among `outcomes` ("(none)" for None), most frequent first; {} when empty."""
    counts = Counter(label(outcome) for outcome in outcomes)
    total = sum(counts.values())
    return {name: count / total for name, count in counts.most_common()}


def weights(probs: Sequence[float]) -> list[float]:
    """The branches' probabilities renormalised to sum to 1 over the branches sampled (all zero: equal weights,
    so a position whose tokens the sampler never draws still has a distribution)."""
    total = sum(probs)
    if total <= 0:
        return [1 / len(probs)] * len(probs) if probs else []
    return [p / total for p in probs]


def mixture(branch_weights: Sequence[float], histograms: Sequence[dict[str, float]]) -> dict[str, float]:
    """o_t: the outcome distribution at a position, sum_w weight(w) x hist(. | w), most likely first. A branch
    with no samples (an empty histogram) adds nothing; the rest are not renormalised."""
    mass: dict[str, float] = {}
    for weight, hist in zip(branch_weights, histograms, strict=True):
        for name, share in hist.items():
            mass[name] = mass.get(name, 0.0) + weight * share
    return dict(sorted(mass.items(), key=lambda item: -item[1]))


def tv_distance(a: dict[str, float], b: dict[str, float]) -> float:
    """Total-variation distance: half the summed absolute differences over every label of either (0 to 1)."""
    return 0.5 * sum(abs(a.get(name, 0.0) - b.get(name, 0.0)) for name in a.keys() | b.keys())


def successive_tv(distributions: Sequence[dict[str, float]]) -> list[float]:
    """The TV distance of each distribution from the one before it, 0.0 for the first ([] for none)."""
    return [0.0][: len(distributions)] + [tv_distance(before, after) for before, after in pairwise(distributions)]


def change_points(indexes: Sequence[int], tvs: Sequence[float], threshold: float) -> list[int]:
    """The indexes whose TV distance from the position before exceeds `threshold` (strictly)."""
    return [index for index, tv in zip(indexes, tvs, strict=True) if tv > threshold]


def ranked_outcomes(distributions: Sequence[dict[str, float]]) -> list[str]:
    """Every label of `distributions`, by total mass over them (ties: the first seen first): a stable order for
    colours."""
    total: dict[str, float] = {}
    for distribution in distributions:
        for name, share in distribution.items():
            total[name] = total.get(name, 0.0) + share
    return sorted(total, key=lambda name: -total[name])
