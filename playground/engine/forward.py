"""The model's forward pass with a KV cache: prefill the prompt, then one token per step (or several, to verify
a draft), and rolling the cache back.

These call the model exactly as transformers' `generate` does (same inputs, same cache type, logits of the
last position only), so the logits are bit-for-bit the ones `generate` decodes from.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from transformers import DynamicCache, PreTrainedModel

from playground.models.device_map import input_device

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
        (len(tokens), V) float32 logits, on the model's input device.
    """
    ids = torch.tensor([tokens], dtype=torch.long, device=input_device(model))
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


@torch.no_grad()
def forward_chain(model: PreTrainedModel, tokens: torch.Tensor, cache: DynamicCache) -> torch.Tensor:
    """Feeds (N,) tokens in a row, each after the one before: what `forward_tree` gives for a tree of single
    children, through the model's own causal mask (a custom mask costs about a millisecond a pass on a CPU).

    Returns:
        (N, d) the last hidden state at each token (after the final norm: what the LM head reads).
    """
    return model.base_model(input_ids=tokens[None], cache=cache, use_cache=True).last_hidden_state[0]


@torch.no_grad()
def forward_tree(
    model: PreTrainedModel, tokens: torch.Tensor, tree_mask: torch.Tensor, depths: torch.Tensor, cache: DynamicCache
) -> torch.Tensor:
    """Feeds a draft tree in one pass (extending `cache` by its N nodes): each node sees the cached text and its
    own ancestors, at the position its depth gives it (tree attention, as Medusa verifies).

    Args:
        tokens: (N,) node tokens, parents before children; tree_mask: (N, N) bool, node i may see node j;
        depths: (N,) each node's depth below the root, which sits right after the cached text.

    Returns:
        (N, d) the last hidden state at each node (after the final norm: what the LM head reads).
    """
    past = cache.get_seq_length()
    size = tokens.shape[0]
    # A custom 4D mask is used as given (transformers' masking_utils), as bool for SDPA: True may attend.
    mask = torch.ones(1, 1, size, past + size, dtype=torch.bool, device=tokens.device)
    mask[0, 0, :, past:] = tree_mask
    if model.config._attn_implementation != "sdpa":  # eager attention adds the mask: 0 or the lowest value
        mask = torch.zeros(mask.shape, dtype=model.dtype, device=tokens.device).masked_fill(
            ~mask, torch.finfo(model.dtype).min
        )
    out = model.base_model(
        input_ids=tokens[None], cache=cache, attention_mask=mask, position_ids=(past + depths)[None], use_cache=True
    )
    return out.last_hidden_state[0]


def keep_path(cache: DynamicCache, start: int, nodes: list[int]) -> None:
    """Keeps, of the draft tree cached from position `start`, only `nodes` (ascending, the root first), moved to
    follow the text: the cache then holds the text and the accepted path, as if fed token by token."""
    if nodes == list(range(len(nodes))):  # a chain's accepted prefix, or the root alone: already in place
        rollback(cache, start + len(nodes))
        return
    ids = None
    for layer in cache.layers:
        if not getattr(layer, "is_initialized", True):
            continue
        if ids is None or ids.device != layer.keys.device:  # one index per device, not one per layer
            ids = torch.tensor(nodes, dtype=torch.long, device=layer.keys.device) + start
        # (B, H, T, D): the path's positions, copied before the slots they move into are overwritten.
        layer.keys[..., start : start + len(nodes), :] = layer.keys.index_select(-2, ids)
        layer.values[..., start : start + len(nodes), :] = layer.values.index_select(-2, ids)
    rollback(cache, start + len(nodes))
