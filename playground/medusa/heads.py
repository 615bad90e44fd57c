"""The heads: K residual blocks on the target's last hidden state, each followed by the target's own (frozen) LM
head, as Medusa-1 builds them. Head k at position t guesses the token at t + k + 2 (the target itself gives
t + 1).

On this model the LM head is 576 x 49152, a fifth of all weights: K full-vocabulary projections would cost
about a forward pass on a CPU. So the heads may score only a subset of the vocabulary, the tokens the model
writes most often (as FR-Spec restricts its draft), and `vocab_ids` says which.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn


class ResBlock(nn.Module):
    """x + SiLU(W x + b), starting as the identity (W = 0, b = 0): an untrained head guesses what the LM head
    says for the current position."""

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.linear = nn.Linear(hidden_size, hidden_size)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + nn.functional.silu(self.linear(x))


@dataclass
class HeadsCard:
    """What a heads file says of itself: the model it was trained on, how, and how well it guesses."""

    base_model: str
    num_heads: int
    hidden_size: int
    vocab_size: int  # the base model's
    restricted_vocab: int  # tokens the heads score (vocab_size when not restricted)
    training: dict[str, Any] = field(default_factory=dict)  # prompts, tokens, steps, seconds, precision
    # Held-out prompts, per head: "top1", "top5", and "by_rank" (the hit rate of its guess at each rank).
    accuracy: dict[str, list] = field(default_factory=dict)
    command: str = ""


class MedusaHeads(nn.Module):
    """K heads over a hidden size; `vocab_ids` (M,) the token ids they score, or None for the whole vocabulary."""

    def __init__(self, num_heads: int, hidden_size: int, vocab_ids: torch.Tensor | None = None) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(ResBlock(hidden_size) for _ in range(num_heads))
        self.register_buffer("vocab_ids", None if vocab_ids is None else vocab_ids.long(), persistent=False)

    @property
    def num_heads(self) -> int:
        return len(self.blocks)

    def projection(self, lm_head_weight: torch.Tensor) -> torch.Tensor:
        """The rows of the LM head's weight (V, d) the heads score: (M, d)."""
        if self.vocab_ids is None:
            return lm_head_weight
        return lm_head_weight[self.vocab_ids.to(lm_head_weight.device)]

    def forward(self, hidden: torch.Tensor, projection: torch.Tensor, count: int | None = None) -> torch.Tensor:
        """Every head's logits over the scored tokens (the first `count` heads' only, when given).

        Args:
            hidden: (..., d) the target's last hidden state (after its final norm).
            projection: (M, d) from `projection`, computed once per run.
            count: how many heads to run (a tree one guess deep reads head 1 alone); None for all K.

        Returns:
            (K, ..., M) logits (K = count when given); column j is token `token_id(j)`.
        """
        # The projection is the large part (M x d, 6,889 x 576 for the shipped heads): read once for all K heads
        # in one matmul, (K, ..., d) @ (d, M), rather than once per head. The blocks stay K small matmuls:
        # stacking their weights into one batched matmul would copy them on every call, which costs more.
        blocks = self.blocks[:count] if count is not None else self.blocks
        stacked = torch.stack([block(hidden.to(block.linear.weight.dtype)) for block in blocks])  # (K, ..., d)
        return stacked.to(projection.dtype) @ projection.T

    def token_ids(self, columns: torch.Tensor) -> torch.Tensor:
        """The token ids of logit columns."""
        return columns if self.vocab_ids is None else self.vocab_ids.to(columns.device)[columns]

    def save(self, path: Path, card: HeadsCard) -> None:
        """The heads and their card in one safetensors file (the card as JSON metadata). The weights are stored
        in bfloat16, half the size of float32 (the heads compute in float32 once loaded)."""
        tensors = {name: value.detach().to(torch.bfloat16).contiguous() for name, value in self.state_dict().items()}
        if self.vocab_ids is not None:
            tensors["vocab_ids"] = self.vocab_ids.cpu().contiguous()
        save_file(tensors, str(path), metadata={"card": json.dumps(asdict(card))})

    @classmethod
    def load(cls, path: Path, device: torch.device | str = "cpu") -> tuple[MedusaHeads, HeadsCard]:
        """Heads and card from `save`'s file."""
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as handle:
            card = HeadsCard(**json.loads(handle.metadata()["card"]))
        tensors = load_file(str(path), device=str(device))
        heads = cls(card.num_heads, card.hidden_size, tensors.pop("vocab_ids", None))
        heads.load_state_dict(tensors)
        return heads.to(device).eval(), card
