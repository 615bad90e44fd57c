"""The model's forward pass with a KV cache: prefill the prompt, then one token per step (or several, to verify
a draft), and rolling the cache back.

These call the model exactly as transformers' `generate` does (same inputs, same cache type, logits of the
last position only), so the logits are bit-for-bit the ones `generate` decodes from.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from transformers import DynamicCache, PreTrainedModel

CHUNK = 64  # tokens fed per forward pass when reading a known text: bounds the (CHUNK, V) logits held at once


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


@torch.no_grad()
def teacher_forced(model: PreTrainedModel, prompt: torch.LongTensor, tokens: list[int]) -> Iterator[torch.Tensor]:
    """The model's next-token logits before each of `tokens`, as if it had generated them after `prompt`
    (teacher forcing): one pass over the text, in chunks, instead of one per token.

    Args:
        prompt: (1, T) the context before the first token.
        tokens: the tokens to read, in order.

    Yields:
        (1, V) float32 logits predicting tokens[i], for i = 0, 1, ...
    """
    cache = new_cache(model)
    head = prefill(model, prompt, cache)  # predicts the chunk's first token
    for start in range(0, len(tokens), CHUNK):
        chunk = tokens[start : start + CHUNK]
        # Row i predicts chunk[i]: feeding every token of the chunk but the last gives rows 1 onwards.
        block = torch.cat([head, forward_tokens(model, chunk[:-1], cache)]) if len(chunk) > 1 else head
        yield from (block[i : i + 1] for i in range(len(chunk)))
        if start + CHUNK < len(tokens):
            head = forward_tokens(model, chunk[-1:], cache)  # predicts the next chunk's first token
