"""The sampling tests' chi-square check passes draws from the distribution it is given and fails others."""

import pytest
import torch

from tests.chi_square import assert_follows


def draws(p: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """`n` seeded draws from `p`, counted per token."""
    picked = torch.multinomial(p, n, replacement=True, generator=torch.Generator().manual_seed(seed))
    return torch.bincount(picked, minlength=len(p)).double()


def test_draws_from_p_follow_p_and_not_a_nearby_distribution():
    p = torch.softmax(torch.linspace(0, 4, 30), dim=0)
    counts = draws(p, 4000, seed=1)
    assert_follows(counts, p)
    with pytest.raises(AssertionError, match="chi-square"):
        assert_follows(counts, torch.softmax(torch.linspace(0, 3, 30), dim=0))
    with pytest.raises(AssertionError, match="probability 0 was drawn"):
        assert_follows(counts, torch.cat([p[:-1], torch.zeros(1)]) / p[:-1].sum())
