"""The logit lens's arithmetic on decoded layers, as pure functions over (N, V) logits, one row per layer."""

from __future__ import annotations

import torch


def layer_log_probs(logits: torch.Tensor) -> torch.Tensor:
    """(N, V) logits -> (N, V) float64 log-probabilities (float64, so that a KL near zero stays non-negative)."""
    return torch.log_softmax(logits.double(), dim=-1)


def kl_to_last(log_probs: torch.Tensor) -> torch.Tensor:
    """KL(row || last row) for every row of (N, V) log-probabilities, in nats -> (N,). A token a row gives
    probability 0 adds nothing; one the last row gives 0 but the row does not makes it infinite."""
    last = log_probs[-1:]
    probs = log_probs.exp()
    terms = torch.where(probs > 0, probs * (log_probs - last), torch.zeros_like(probs))
    return terms.sum(dim=-1)


def token_ranks(log_probs: torch.Tensor, token: int) -> torch.Tensor:
    """The 1-based rank of `token` in every row of (N, V) scores -> (N,): one plus how many tokens score strictly
    higher (a tie shares the better rank)."""
    mine = log_probs[:, token : token + 1]
    return (log_probs > mine).sum(dim=-1) + 1


def first_top1(ranks: list[int]) -> int | None:
    """The first layer (counted from 1) whose rank is 1, from the ranks of layers 1..L in order; None if none."""
    return next((layer for layer, rank in enumerate(ranks, start=1) if rank == 1), None)
