"""The chi-square check the sampling tests share: do seeded draws follow a distribution we computed ourselves?"""

from __future__ import annotations

import math

import torch


def critical(df: int, z: float = 3.09) -> float:
    """Chi-square quantile at p = 0.001 by the Wilson-Hilferty approximation."""
    return df * (1 - 2 / (9 * df) + z * math.sqrt(2 / (9 * df))) ** 3


def assert_follows(counts: torch.Tensor, p: torch.Tensor) -> None:
    """Draws counted per token, `counts` (V,), follow the distribution `p` (V,): no draw where p is 0, and the
    chi-square statistic under the critical value, tokens expected fewer than 5 times pooled into one cell."""
    counts, p = counts.double(), p.double()
    assert float(counts[p == 0].sum()) == 0, "a token of probability 0 was drawn"
    expected = p * counts.sum()
    common, rare = expected >= 5, (expected < 5) & (expected > 0)
    observed, wanted = counts[common], expected[common]
    if rare.any():
        observed = torch.cat([observed, counts[rare].sum(dim=0, keepdim=True)])
        wanted = torch.cat([wanted, expected[rare].sum(dim=0, keepdim=True)])
    stat = float(((observed - wanted) ** 2 / wanted).sum())
    assert stat < critical(len(observed) - 1), f"chi-square {stat:.1f} over {len(observed) - 1} degrees of freedom"
