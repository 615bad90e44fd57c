"""The head: concat(f_t, embed(x_{t+1})) -> Linear(2d, d) -> one decoder layer built from the target's own config
-> the predicted feature f_{t+1}, whose tokens the target's frozen LM head scores (as EAGLE-1 builds it).

The feature f_t is the target's last hidden state *after* its final norm, the very vector its LM head reads:
EAGLE-1 takes the same one for Llama (`hidden_states[-1]` of the base model), the engine's tree pass already
returns it at every node (`forward.forward_tree`), and the Medusa heads read it too, so both drafts cost no extra
target work. The layer has no input norm (EAGLE-1 drops it from its first layer: the input is the fused
projection, not a residual stream) and keeps its post-attention norm.

The LM head may be restricted to the tokens the model writes most (`vocab_ids`, as the Medusa heads do): on this
model it is 576 x 49,152, and each drafted token pays for one product with it.
"""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn


@dataclass
class EagleCard:
    """What a head file says of itself: the model it was trained on, how, and how well it drafts."""

    base_model: str
    hidden_size: int
    vocab_size: int  # the base model's
    restricted_vocab: int  # tokens the head scores (vocab_size when not restricted)
    layer: str  # the decoder layer's class, from the target's own model (e.g. "LlamaDecoderLayer")
    training: dict[str, Any] = field(default_factory=dict)  # positions, epochs, steps, seconds, precision
    # Held-out answers: "chain" (share of positions whose first d drafted tokens are all right, d = 1..).
    accuracy: dict[str, list] = field(default_factory=dict)
    command: str = ""


def head_config(config):
    """The target's config for the head's one layer, with SDPA attention (it takes a boolean 4D mask)."""
    config = copy.deepcopy(config.get_text_config(decoder=True))
    config._attn_implementation = "sdpa"
    return config


class EagleHead(nn.Module):
    """Fuse, one decoder layer, and the scored rows of the target's LM head.

    Args:
        config: the target's config (its hidden size, heads, rotary settings and norm make the layer).
        layer_cls, rotary_cls: the target's decoder layer and rotary embedding classes, built as
            `layer_cls(config, layer_idx=0)` and `rotary_cls(config)` (transformers' signature for both).
        vocab_ids: (M,) the token ids the head scores; None for the whole vocabulary.
    """

    def __init__(self, config, layer_cls: type[nn.Module], rotary_cls: type[nn.Module], vocab_ids=None) -> None:
        super().__init__()
        config = head_config(config)
        d = config.hidden_size
        self.fc = nn.Linear(2 * d, d)
        self.layer = layer_cls(config, layer_idx=0)
        self.layer.input_layernorm = nn.Identity()
        self.rotary = rotary_cls(config)
        self.register_buffer("vocab_ids", None if vocab_ids is None else vocab_ids.long(), persistent=False)

    @property
    def layer_name(self) -> str:
        return type(self.layer).__name__

    def projection(self, lm_head_weight: torch.Tensor) -> torch.Tensor:
        """The rows of the LM head's weight (V, d) the head scores: (M, d), as float32 on the head's device."""
        rows = lm_head_weight if self.vocab_ids is None else lm_head_weight[self.vocab_ids.to(lm_head_weight.device)]
        return rows.detach().to(self.fc.weight.device, torch.float32)

    def forward(
        self,
        features: torch.Tensor,
        embeds: torch.Tensor,
        positions: torch.Tensor,
        mask: torch.Tensor | None = None,
        cache=None,
    ) -> torch.Tensor:
        """The predicted next features.

        Args:
            features: (B, T, d) the target's features f_t (or the head's own predictions, when drafting deeper).
            embeds: (B, T, d) the embeddings of the tokens x_{t+1} that follow them.
            positions: (B, T) each input's position (that of x_{t+1}).
            mask: (B, 1, T, S) bool, True where a query may attend (S = cached + T keys); None: causal over
                the inputs alone (no cache).
            cache: a `drafter.HeadCache` (drafting) or None (training, measuring).

        Returns:
            (B, T, d) predicted f_{t+1}.
        """
        x = self.fc(torch.cat([features, embeds.to(features.dtype)], dim=-1).to(self.fc.weight.dtype))
        rotary = self.rotary(x, positions)  # (cos, sin), each (B, T, head_dim)
        return self.layer(x, attention_mask=mask, position_embeddings=rotary, cache=cache, is_causal=mask is None)

    def logits(self, predicted: torch.Tensor, projection: torch.Tensor) -> torch.Tensor:
        """(..., M) logits over the scored tokens from predicted features (..., d); column j is `token_ids(j)`."""
        return predicted.to(projection.dtype) @ projection.T

    def token_ids(self, columns: torch.Tensor) -> torch.Tensor:
        """The token ids of logit columns."""
        return columns if self.vocab_ids is None else self.vocab_ids.to(columns.device)[columns]

    def save(self, path: Path, card: EagleCard) -> None:
        """The head and its card in one safetensors file (the card as JSON metadata), weights in bfloat16."""
        tensors = {name: value.detach().to(torch.bfloat16).contiguous() for name, value in self.state_dict().items()}
        if self.vocab_ids is not None:
            tensors["vocab_ids"] = self.vocab_ids.cpu().contiguous()
        save_file(tensors, str(path), metadata={"card": json.dumps(asdict(card))})

    @classmethod
    def load(
        cls, path: Path, config, layer_cls: type[nn.Module], rotary_cls: type[nn.Module], device="cpu"
    ) -> tuple[EagleHead, EagleCard]:
        """A head and its card from `save`'s file, in float32, for the target whose config and classes are given."""
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as handle:
            card = EagleCard(**json.loads(handle.metadata()["card"]))
        tensors = load_file(str(path), device=str(device))
        head = cls(config, layer_cls, rotary_cls, tensors.pop("vocab_ids", None))
        head.load_state_dict({name: value.float() for name, value in tensors.items()})
        return head.to(device).eval(), card


def target_classes(model: nn.Module) -> tuple[type[nn.Module], type[nn.Module]]:
    """The decoder layer and rotary embedding classes of a transformers causal LM (its `base_model`)."""
    body = model.base_model
    return type(body.layers[0]), type(body.rotary_emb)
