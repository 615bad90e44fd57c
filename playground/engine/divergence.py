"""How far apart two next-token distributions are: pure functions on probability tensors.

Each takes `p` (configuration A) and `q` (configuration B) of shape (..., V), rows summing to 1, and returns one
value per row, shape (...). Filters (top-k, top-p, ...) give tokens probability exactly 0, which matters:

- KL(A||B) = sum_x p(x) log(p(x) / q(x)) is infinite as soon as A can choose a token B never would (q(x) = 0 where
  p(x) > 0): B then says A's choice is impossible. `uncovered_mass` says how much of A's probability sits on
  such tokens, so a view can show "infinite, because 3% of A's mass is outside B's support" instead of a bare
  infinity. Tokens A never chooses (p(x) = 0) add nothing, whatever q says.
- Jensen-Shannon and total variation are always finite: JS compares each side with their average, which is
  positive wherever either is; both lie in [0, ln 2] and [0, 1].
"""

from __future__ import annotations

import math

import torch

LN2 = math.log(2.0)


def kl_divergence(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """KL(p || q) in nats per row; +inf where p puts mass on a token q gives probability 0. (..., V) -> (...)"""
    p, q = p.double(), q.double()
    on = p > 0
    # 0 * log(0 / q) = 0 by convention; only the tokens p can choose count.
    terms = torch.where(on, p * (torch.log(p.where(on, 1.0)) - torch.log(q.where(on, 1.0))), 0.0)
    kl = terms.sum(-1).clamp_min(0.0)  # rounding can leave -1e-17 where p == q
    return torch.where(uncovered_mass(p, q) > 0, math.inf, kl)


def uncovered_mass(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """The probability p puts on tokens q gives probability 0: why KL(p || q) is infinite. (..., V) -> (...)"""
    return torch.where((p > 0) & (q <= 0), p.double(), 0.0).sum(-1)


def js_divergence(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Jensen-Shannon divergence in nats per row, in [0, ln 2]. (..., V) -> (...)"""
    p, q = p.double(), q.double()
    m = (p + q) / 2
    # m > 0 wherever p or q is, so both halves are finite.
    return ((_kl_finite(p, m) + _kl_finite(q, m)) / 2).clamp(0.0, LN2)


def total_variation(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Total variation distance per row: half the L1 distance, the most probability the two disagree on, in
    [0, 1]. (..., V) -> (...)"""
    return ((p.double() - q.double()).abs().sum(-1) / 2).clamp(0.0, 1.0)


def _kl_finite(p: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    on = p > 0
    return torch.where(on, p * (torch.log(p.where(on, 1.0)) - torch.log(m.where(on, 1.0))), 0.0).sum(-1)
