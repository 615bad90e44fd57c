"""LLMLingua's token-level selection rule for one segment, as pure functions over (n,) loss tensors.

LLMLingua (`get_estimate_threshold_base_distribution`) sorts the segment's losses, takes the one at the keep
ratio's quantile as the threshold and keeps the tokens whose loss is above it: the least predictable tokens carry
the most information. Two differences, so that the kept share is within one token of the target:
- the count kept is round(n * keep_ratio) (LLMLingua's index int(n * ratio) - 1 keeps one token fewer than
  int(n * ratio) when losses differ): with distinct losses and nothing forced, our kept set holds LLMLingua's;
- forced tokens count towards that share (LLMLingua adds them on top), and ties at the threshold are broken by
  position, earlier tokens first, so exactly max(round(n * keep_ratio), forced) tokens are kept.
"""

from __future__ import annotations

import math

import torch


def keep_count(n: int, keep_ratio: float) -> int:
    """Tokens of a segment of `n` to keep at `keep_ratio`: n * keep_ratio rounded half up, at most n."""
    if not 0.0 < keep_ratio <= 1.0:
        raise ValueError(f"keep_ratio must be in (0, 1], got {keep_ratio}")
    return min(n, math.floor(n * keep_ratio + 0.5))


def _ranked(losses: torch.Tensor) -> torch.Tensor:
    """(n,) indexes by loss, highest first; equal losses in position order (a stable sort)."""
    return torch.sort(losses, descending=True, stable=True).indices


def keep_threshold(losses: torch.Tensor, keep_ratio: float) -> float:
    """The threshold of one segment: tokens whose loss is above it are kept (LLMLingua's
    get_estimate_threshold_base_distribution, counting round(n * keep_ratio) tokens to keep).

    Args:
        losses: (n,) per-token losses, nats.
        keep_ratio: the share to keep, in (0, 1].

    Returns:
        The loss of the highest-ranked token that is dropped; -inf when every token is kept (keep_ratio 1.0).
    """
    count = keep_count(losses.shape[0], keep_ratio)
    if count >= losses.shape[0]:
        return float("-inf")
    return float(losses[_ranked(losses)[count]])


def keep_mask(losses: torch.Tensor, keep_ratio: float, forced: torch.Tensor) -> torch.Tensor:
    """Which tokens of one segment are kept: the forced ones, then the unforced ones with the highest losses
    (those above the threshold of the unforced tokens; ties at it broken by position, earlier first) until
    round(n * keep_ratio) are kept.

    Args:
        losses: (n,) per-token losses, nats (a forced token's value is not read).
        keep_ratio: the share to keep, in (0, 1].
        forced: (n,) bool, tokens that are never dropped.

    Returns:
        (n,) bool, True where the token is kept. The inputs are not modified.
    """
    slots = max(0, keep_count(losses.shape[0], keep_ratio) - int(forced.sum()))
    free = (~forced).nonzero().flatten()  # (m,) indexes of the unforced tokens
    chosen = free[_ranked(losses[free])[:slots]]
    kept = forced.clone()
    kept[chosen] = True
    return kept
