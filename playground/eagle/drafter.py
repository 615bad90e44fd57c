"""Drafting with the head during decoding: a greedy chain, the head feeding its own predicted feature and its
drafted token back for the next depth, over its own small KV cache (one layer: (1, H_kv, S, head_dim) keys and
values), which keeps the pairs the target has confirmed and drops the last round's drafts."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from playground.eagle.head import EagleHead


class HeadCache:
    """The head's keys and values, duck-typed as the cache transformers' attention updates (`update`)."""

    def __init__(self) -> None:
        self.keys: torch.Tensor | None = None  # (1, H_kv, S, head_dim)
        self.values: torch.Tensor | None = None

    @property
    def length(self) -> int:
        return 0 if self.keys is None else self.keys.shape[-2]

    def update(self, keys: torch.Tensor, values: torch.Tensor, layer_idx: int, *args, **kwargs):
        """Appends the new keys and values (1, H_kv, T, head_dim) and returns all of them."""
        if self.keys is None:
            self.keys, self.values = keys, values
        else:
            self.keys, self.values = torch.cat([self.keys, keys], dim=-2), torch.cat([self.values, values], dim=-2)
        return self.keys, self.values

    def keep(self, length: int) -> None:
        """Drops every position from `length` on."""
        if self.keys is not None:
            self.keys, self.values = self.keys[..., :length, :], self.values[..., :length, :]


@dataclass
class EagleDrafter:
    """One run's drafting state: the head, the target's input embeddings and its LM head's scored rows.

    Position p of the head's cache holds the pair (f_p, x_{p+1}): the target's feature at p and the token after
    it, at rotary position p.
    """

    head: EagleHead
    embed: nn.Module  # the target's input embeddings (frozen)
    projection: torch.Tensor  # (M, d) from `head.projection`, once per run
    cache: HeadCache = field(default_factory=HeadCache)
    confirmed: int = 0  # positions of the cache that hold the target's own features

    @torch.no_grad()
    def propose(self, hidden: torch.Tensor, tokens: torch.Tensor, budget: int) -> tuple[torch.Tensor, torch.Tensor]:
        """A greedy chain of `budget` drafted tokens after the text.

        Args:
            hidden: (n, d) the target's features at the positions it confirmed since the last call (the whole
                prompt's at the first call), in order.
            tokens: (n,) the token after each of them: the last is the target's newest token.
            budget: how many tokens to draft (>= 1).

        Returns:
            (budget,) drafted token ids and (budget,) the head's probability of each (its q, over the scored
            tokens), on `hidden`'s device.
        """
        self.cache.keep(self.confirmed)  # the last round's drafts, whether accepted or not, are recomputed
        feature = self.feed(hidden, tokens)[-1:]  # (1, d) the predicted feature after the newest token
        self.confirmed += hidden.shape[0]
        drafted, q = [], []
        for depth in range(budget):
            probs = torch.softmax(self.head.logits(feature, self.projection).float(), dim=-1)  # (1, M)
            best, column = probs.max(dim=-1)
            token = self.head.token_ids(column)
            drafted.append(token)
            q.append(best)
            if depth + 1 < budget:
                feature = self.feed(feature, token)
        return torch.cat(drafted).to(hidden.device), torch.cat(q).to(hidden.device)

    def feed(self, features: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Appends pairs (features (n, d), tokens (n,)) to the cache and returns the head's predictions (n, d)."""
        device = self.projection.device
        start, n = self.cache.length, features.shape[0]
        positions = torch.arange(start, start + n, device=device)[None]  # (1, n)
        # (1, 1, n, start + n): every cached pair, and the new ones causally.
        mask = torch.ones(n, start + n, dtype=torch.bool, device=device)
        mask[:, start:] = torch.ones(n, n, dtype=torch.bool, device=device).tril()
        embeds = self.embed(tokens.to(device))[None]
        out = self.head(features.to(device)[None], embeds, positions, mask[None, None], cache=self.cache)
        return out[0]
