"""Mirostat (Basu et al. 2021, arXiv 2007.14966, "Mirostat: a neural text decoding algorithm that directly controls
perplexity"): a feedback loop that holds the surprise of the chosen tokens near a target tau, in bits.

Each row carries mu, the largest surprise it lets through (it starts at 2 * tau). At a step:
  v2 keeps the tokens whose surprise -log2 p is at most mu (the top token always stays), as llama.cpp's
     llama_sampler_mirostat_v2 does;
  v1 estimates the Zipf exponent s of the distribution from its top m = 100 tokens (a least-squares fit of
     ln(p_i / p_{i+1}) against ln((i + 2) / (i + 1)), the paper's eq. 30), and keeps the top k tokens, with
     k = (eps * 2**mu / (1 - N**-eps)) ** (1 / s), eps = s - 1, N the vocabulary size, as the paper's Algorithm 1
     and llama.cpp's llama_sampler_mirostat compute it (k rounded down, at least 1).
The engine then draws from what is left with its ordinary seeded draw, and tells the stage which token it took
(`chosen`): mu -= eta * (surprise - tau).

Which distribution the surprise is measured on: the one the stage receives, before its own cut, as the paper's
reference code does (`log2(1 / prob_original[i])`). llama.cpp measures it on the kept tokens renormalised, which
reads lower by log2 of the kept mass (never above mu, so its tau means a little more surprise than ours). Ours
is the surprise of the text under the distribution the earlier stages shaped (the model's own with them off), and
it stays finite for any token mirostat cut, so a branch's forced token or Compare's path, which need not lie in the
cut, replays mu without a special case. A token the earlier stages removed has no finite surprise: it leaves mu as
it was (its note's surprise is None).

Here mirostat is one stage of the chain, last by default, so the other samplers shape what it cuts; llama.cpp
skips every other sampler but temperature when mirostat is on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any

import torch

from playground.engine.placement import read_values
from playground.engine.samplers.state import StageState

LN2 = math.log(2.0)
ZIPF_TOKENS = 100  # m: the top tokens the Zipf exponent is fitted on (the paper's and llama.cpp's 100)


def surprise_bits(scores: torch.Tensor) -> torch.Tensor:
    """-log2 p of every token under softmax(scores), in float64: +inf where a score is -inf. (B, V) -> (B, V)"""
    return -torch.log_softmax(scores.double(), dim=-1) / LN2


def v2_keep(scores: torch.Tensor, mu: torch.Tensor) -> torch.Tensor:
    """Mirostat 2's cut: the tokens whose surprise is at most mu, and each row's top token whatever mu is.

    Args:
        scores: (B, V) logits; -inf marks a token an earlier stage removed.
        mu: (B,) float64, each row's largest surprise let through, in bits.

    Returns:
        (B, V) bool, True where the token stays.
    """
    keep = surprise_bits(scores) <= mu[:, None]
    top = scores.argmax(dim=-1, keepdim=True)  # (B, 1)
    return keep.scatter(-1, top, True)


def zipf_exponent(scores: torch.Tensor, m: int = ZIPF_TOKENS) -> torch.Tensor:
    """Mirostat 1's estimate of the Zipf exponent s from each row's top `m` tokens (the paper's eq. 30):
    s = sum(t_i * b_i) / sum(t_i ** 2), t_i = ln((i + 2) / (i + 1)), b_i = ln(p_i / p_{i+1}), i from 0 to m - 2,
    over the finite candidates only (a token an earlier stage removed is no candidate, as in llama.cpp, whose
    filters shrink the candidate list). (B, V) -> (B,) float64; NaN for a row with fewer than two candidates.
    """
    logp = torch.log_softmax(scores.double(), dim=-1)
    top = torch.topk(logp, min(m, logp.shape[-1]), dim=-1).values  # (B, M), best first
    ranks = torch.arange(1, top.shape[-1], dtype=torch.float64, device=scores.device)  # i + 1, (M - 1,)
    t = torch.log((ranks + 1) / ranks)  # (M - 1,)
    valid = torch.isfinite(top[:, 1:])  # (B, M - 1): both p_i and p_{i+1} are candidates
    b = torch.where(valid, top[:, :-1] - top[:, 1:], 0.0)
    return (t * b).sum(dim=-1) / (t * t * valid).sum(dim=-1)


def v1_k(s: torch.Tensor, mu: torch.Tensor, vocab: int) -> torch.Tensor:
    """Mirostat 1's k from the Zipf exponent: (eps * 2**mu / (1 - N**-eps)) ** (1 / s), eps = s - 1, N = `vocab`,
    rounded down and kept within 1 to N (llama.cpp's int(k), at least 1).

    Computed in logs: 2**mu alone overflows float32 for mu above 128. eps / (1 - N**-eps) is positive on both sides
    of eps = 0 and tends to 1 / ln N there; a row whose s is NaN (one candidate) or 0 with nothing to say gets 1.

    Args:
        s: (B,) float64 Zipf exponents (`zipf_exponent`).
        mu: (B,) float64 target surprises, in bits.
        vocab: N, the vocabulary size.

    Returns:
        (B,) long.
    """
    eps = s - 1
    log_n = math.log(vocab)
    limit = 1 / log_n if vocab > 1 else 1.0  # eps / (1 - N**-eps) at eps = 0
    ratio = torch.where(eps == 0, limit, eps / -torch.expm1(-eps * log_n))
    k = torch.exp((torch.log(ratio) + mu * LN2) / s)
    return torch.nan_to_num(k, nan=1.0, posinf=float(vocab)).clamp(1, vocab).floor().long()


def top_k_keep(scores: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Each row's k[row] best tokens, as transformers' top-k keeps them (a tie with the k-th stays too).
    (B, V), (B,) long -> (B, V) bool."""
    ranked = scores.sort(dim=-1, descending=True).values  # (B, V)
    kth = ranked.gather(-1, (k - 1).clamp(max=scores.shape[-1] - 1)[:, None])  # (B, 1)
    return scores >= kth


def chosen_surprise(scores: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """The surprise, in bits, of each row's token under softmax(scores): +inf for a token of probability 0.
    (B, V), (B,) -> (B,) float64."""
    scores = scores.double()
    return (torch.logsumexp(scores, dim=-1) - scores.gather(-1, tokens[:, None])[:, 0]) / LN2


def update_mu(mu: torch.Tensor, surprise: torch.Tensor, tau: float, eta: float) -> torch.Tensor:
    """mu - eta * (surprise - tau) for each row; a row whose surprise is infinite keeps its mu. (B,) -> (B,)"""
    return torch.where(torch.isfinite(surprise), mu - eta * (surprise - tau), mu)


@dataclass
class _Step:
    """What the last call did for each row, kept for `chosen` and `notes`. Every tensor has the batch first."""

    scores: torch.Tensor  # (B, V) what the stage received: the surprise is measured on it
    mu: torch.Tensor  # (B,) the mu the cut used
    kept: torch.Tensor  # (B,) tokens left
    k: torch.Tensor | None  # (B,) mirostat 1's k, None for mirostat 2
    s: torch.Tensor | None  # (B,) mirostat 1's Zipf exponent
    surprise: torch.Tensor | None = None  # (B,) the chosen token's surprise, once `chosen` has been told

    def rows(self, index: torch.Tensor) -> _Step:
        """The same record for the rows `index` (B',) names, in its order."""
        picked = {f.name: getattr(self, f.name) for f in fields(self)}
        return replace(self, **{name: None if t is None else t[index] for name, t in picked.items()})


class MirostatLogitsWarper(StageState):
    """Mirostat's cut as a stage of the chain, with mu kept per row and updated from each token taken.

    Args:
        version: 1 (top-k from the Zipf estimate) or 2 (the surprise cut).
        tau: the target surprise, in bits (> 0); mu starts at 2 * tau.
        eta: the learning rate of mu's update, in (0, 1].
        filter_value: what a removed token's logit becomes.
    """

    def __init__(self, version: int, tau: float, eta: float, filter_value: float = -float("inf")) -> None:
        if version not in (1, 2):
            raise ValueError(f"`version` has to be 1 or 2, but is {version}")
        if not tau > 0:
            raise ValueError(f"`tau` has to be > 0, but is {tau}")
        if not 0 < eta <= 1:
            raise ValueError(f"`eta` has to be in (0, 1], but is {eta}")
        self.version, self.tau, self.eta, self.filter_value = version, tau, eta, filter_value
        self.mu: torch.Tensor | None = None  # (B,) float64, made at the first call (the batch is known there)
        self.last: _Step | None = None

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if self.mu is None:
            self.mu = torch.full((scores.shape[0],), 2.0 * self.tau, dtype=torch.float64, device=scores.device)
        if self.version == 2:
            keep, k, s = v2_keep(scores, self.mu), None, None
        else:
            s = zipf_exponent(scores)
            k = v1_k(s, self.mu, scores.shape[-1])
            keep = top_k_keep(scores, k)
        out = scores.masked_fill(~keep, self.filter_value)
        self.last = _Step(scores, self.mu, torch.isfinite(out).sum(dim=-1), k, s)
        return out

    def chosen(self, tokens: torch.Tensor) -> None:
        self.last.surprise = chosen_surprise(self.last.scores, tokens)
        self.mu = update_mu(self.last.mu, self.last.surprise, self.tau, self.eta)

    def keep(self, rows: list[int]) -> None:
        index = torch.tensor(rows, dtype=torch.long, device=self.mu.device)
        self.mu, self.last = self.mu[index], self.last.rows(index)

    def resume(self, other: StageState) -> None:
        self.mu = other.mu

    def notes(self, row: int) -> dict[str, Any] | None:
        """mu before and after the step, the tokens kept (and v1's k and s), the chosen token's surprise."""
        last = self.last
        extra = [] if last.k is None else [last.k[row], last.s[row]]
        mu, kept, surprise, after, *v1 = read_values(last.mu[row], last.kept[row], last.surprise[row],
                                                     self.mu[row], *extra)  # fmt: skip
        note = dict(mu=mu, kept=kept, surprise=surprise if math.isfinite(surprise) else None, mu_after=after)
        if v1:
            note |= dict(k=v1[0], s=v1[1] if math.isfinite(v1[1]) else None)
        return note
