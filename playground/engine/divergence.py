"""How far apart two next-token distributions are: pure functions on log-probability tensors.

Each takes `logp` (configuration A) and `logq` (configuration B) of shape (..., V), float64 log-probabilities as
`log_probs` makes them from scores, and returns one value per row, shape (...).

Why log-probabilities, in float64: a token is impossible under a side only when one of its stages removed it
(top-k, top-p, ... set its score to -inf). A probability vector cannot tell that apart from a token that is
merely unlikely: at temperature 0.3 a tail logit 40 below the top becomes exp(-133), which float32's softmax
rounds to 0, and KL would call every step infinite. The log-softmax of the same scores keeps it at -133.

- KL(A||B) = sum_x p(x) (log p(x) - log q(x)) is infinite as soon as A can choose a token B never would (log q(x)
  = -inf where log p(x) > -inf): B then says A's choice is impossible. `uncovered_mass` says how much of A's
  probability sits on such tokens, and `ruled_out_token` which of them A likes best, so a view can say why
  instead of showing a bare infinity. Tokens A never chooses add nothing, whatever q says.
- Jensen-Shannon and total variation are always finite: JS compares each side with their average, which is
  positive wherever either is; they lie in [0, ln 2] and [0, 1].
"""

from __future__ import annotations

import math

import torch

LN2 = math.log(2.0)


def log_probs(scores: torch.Tensor) -> torch.Tensor:
    """The log-softmax of `scores` in float64: -inf exactly where a score is -inf. (..., V) -> (..., V)"""
    return torch.log_softmax(scores.double(), dim=-1)


def kl_divergence(logp: torch.Tensor, logq: torch.Tensor) -> torch.Tensor:
    """KL(p || q) in nats per row; +inf where p can take a token q rules out. (..., V) -> (...)"""
    on = ~torch.isneginf(logp)
    # 0 * log(0 / q) = 0 by convention; only the tokens p can choose count. A ruled-out token's term is
    # p * inf, set apart so that a p that underflows in exp() cannot make it 0 * inf = nan.
    covered = on & ~torch.isneginf(logq)
    terms = torch.where(covered, logp.exp() * (logp - logq.where(covered, 0.0)), 0.0)
    kl = terms.sum(-1).clamp_min(0.0)  # rounding can leave -1e-17 where p == q
    return torch.where((on & ~covered).any(-1), math.inf, kl)


def uncovered_mass(logp: torch.Tensor, logq: torch.Tensor) -> torch.Tensor:
    """The probability p puts on tokens q rules out: why KL(p || q) is infinite. (..., V) -> (...)"""
    return torch.where(torch.isneginf(logq), logp.exp(), 0.0).sum(-1)


def ruled_out_token(logp: torch.Tensor, logq: torch.Tensor) -> torch.Tensor:
    """The id of the token p gives the most probability among those q rules out, -1 in rows where q rules out
    none that p can take. (..., V) -> (...) long"""
    gone = torch.isneginf(logq) & ~torch.isneginf(logp)
    best = torch.where(gone, logp, -math.inf).argmax(-1)
    return torch.where(gone.any(-1), best, -1)


def js_divergence(logp: torch.Tensor, logq: torch.Tensor) -> torch.Tensor:
    """Jensen-Shannon divergence in nats per row, in [0, ln 2]. (..., V) -> (...)"""
    logm = torch.logaddexp(logp, logq) - LN2  # log((p + q) / 2), finite wherever p or q is
    return ((_kl_to_mixture(logp, logm) + _kl_to_mixture(logq, logm)) / 2).clamp(0.0, LN2)


def total_variation(logp: torch.Tensor, logq: torch.Tensor) -> torch.Tensor:
    """Total variation distance per row: half the L1 distance, the most probability the two disagree on, in
    [0, 1]. (..., V) -> (...)"""
    return ((logp.exp() - logq.exp()).abs().sum(-1) / 2).clamp(0.0, 1.0)


def _kl_to_mixture(logp: torch.Tensor, logm: torch.Tensor) -> torch.Tensor:
    # logm > -inf wherever logp is, so every term p can take is finite.
    on = ~torch.isneginf(logp)
    return torch.where(on, logp.exp() * (logp - logm.where(on, 0.0)), 0.0).sum(-1)
