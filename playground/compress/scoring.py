"""Scoring segments after the already compressed text: a KV cache that holds the kept tokens only.

A segment is fed after the cache (and after the previous segment's kept tokens, not yet in it), its per-token
losses are read, then the cache is rolled back to before the segment: only the tokens the selection keeps are fed,
with the next segment's pass. So each segment costs one forward pass, and every loss is
-log p(x_i | the kept tokens before it).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from playground.engine.forward import forward_tokens, new_cache, prefill, rollback
from playground.models.device_map import input_device


class KeptTextScorer:
    """Per-token losses of segments read in turn, each conditioned on the tokens kept so far."""

    def __init__(self, model, context: list[int]):
        """Reads `context` (the tokens before the first segment: the template's prefix, a BOS, text kept whole)."""
        self.model = model
        self.cache = new_cache(model)
        self.pending: list[int] = []  # kept tokens not yet in the cache: fed with the next segment
        self.head: torch.Tensor | None = None  # (V,) logits for the token after the cache; None before any token
        if context:
            ids = torch.tensor([context], dtype=torch.long, device=input_device(model))
            self.head = prefill(model, ids, self.cache)[0]

    @torch.no_grad()
    def score(self, segment: list[int]) -> torch.Tensor:
        """(len(segment),) float32 losses -log p(segment[i] | kept tokens, segment[:i]), nats, on the CPU; NaN for
        the prompt's very first token, which nothing predicts. Call `keep` with the tokens to keep before the next."""
        base = self.cache.get_seq_length()
        fed = self.pending + segment
        logits = forward_tokens(self.model, fed, self.cache)  # (P + L, V): row j predicts fed[j + 1]
        # rows[j] predicts fed[j]: the head (after the cache) predicts the first fed token.
        rows = logits if self.head is None else torch.cat([self.head[None], logits])
        shift = 0 if self.head is not None else 1
        first = len(self.pending) - shift  # the row that predicts segment[0]; -1 when nothing does
        targets = torch.tensor(segment, dtype=torch.long, device=logits.device)
        start = max(first, 0)
        losses = F.cross_entropy(rows[start : first + len(segment)], targets[start - first :], reduction="none")
        if first < 0:
            losses = torch.cat([torch.full((1,), float("nan"), device=losses.device), losses])
        if self.pending:  # the cache keeps the pending tokens; the head becomes the row after them (first >= 0)
            self.head = rows[first].clone()
        rollback(self.cache, base + len(self.pending))
        self.pending = []
        return losses.float().cpu()

    def keep(self, tokens: list[int]) -> None:
        """The tokens of the segment just scored that stay: the text the next segment is conditioned on."""
        self.pending = list(tokens)
