"""The model's forward pass with a KV cache: prefill the prompt, then one token per step (or several, to verify
a draft), and rolling the cache back.

These call the model exactly as transformers' `generate` does (same inputs, same cache type, logits of the
last position only), so the logits are bit-for-bit the ones `generate` decodes from.
"""

from __future__ import annotations

import torch
from transformers import DynamicCache, PreTrainedModel


def new_cache(model: PreTrainedModel) -> DynamicCache:
    """An empty KV cache for `model`."""
    return DynamicCache(config=model.config)


@torch.no_grad()
def prefill(model: PreTrainedModel, input_ids: torch.LongTensor, cache: DynamicCache) -> torch.Tensor:
    """Runs the prompt through the model, filling `cache`.

    Args:
        input_ids: (B, T) prompt tokens (B > 1 only for beam search, where every row is the same prompt).

    Returns:
        (B, V) float32 logits for the next token.
    """
    out = model(input_ids=input_ids, cache=cache, use_cache=True, logits_to_keep=1)
    return out.logits[:, -1].float()


@torch.no_grad()
def decode_one_token(model: PreTrainedModel, tokens: torch.LongTensor, cache: DynamicCache) -> torch.Tensor:
    """Feeds one new token per row and returns the next-token logits.

    Args:
        tokens: (B, 1) the token just chosen for each row.

    Returns:
        (B, V) float32 logits.
    """
    out = model(input_ids=tokens, cache=cache, use_cache=True)
    return out.logits[:, -1].float()


@torch.no_grad()
def forward_tokens(model: PreTrainedModel, tokens: list[int], cache: DynamicCache) -> torch.Tensor:
    """Feeds several tokens at once (extending `cache`) and returns the logits at each position.

    Returns:
        (len(tokens), V) float32 logits, on the model's device.
    """
    ids = torch.tensor([tokens], dtype=torch.long, device=model.device)
    return model(input_ids=ids, cache=cache, use_cache=True).logits[0].float()


def rollback(cache: DynamicCache, length: int) -> None:
    """Drops cached positions beyond `length`, as if the tokens after them had never been fed."""
    extra = cache.get_seq_length() - length
    if extra > 0:
        cache.crop(-extra)
