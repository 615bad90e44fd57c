"""A greedy chain drafted at every position of a known text at once, as the drafter would draft it there: for
measuring the head on held-out answers without decoding them.

Block 0 holds the text's pairs (f_i, x_{i+1}) at positions i; block j (j >= 1) holds each chain's j-th drafted
pair, at position i + j for the chain that starts after pair i. A query of block a, row i may see the pairs of
block 0 up to i (the text so far) and its own chain's rows i of blocks 1..a: exactly what the drafter's cache
holds when it drafts after pair i. The layer is recomputed over all blocks at each depth (small: a few hundred
rows per block).
"""

from __future__ import annotations

import torch
from torch import nn

from playground.eagle.head import EagleHead


def chain_mask(n: int, blocks: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """(blocks * n, blocks * n) bool: who may attend to whom among `blocks` blocks of `n` rows (module docstring)."""
    rows = torch.arange(blocks * n, device=device)
    block, index = rows // n, rows % n
    text = (block[None, :] == 0) & (index[None, :] <= index[:, None])  # a text pair at or before the chain's start
    own = (block[None, :] >= 1) & (block[None, :] <= block[:, None]) & (index[None, :] == index[:, None])
    return text | own


@torch.no_grad()
def draft_chains(
    head: EagleHead,
    features: torch.Tensor,
    tokens: torch.Tensor,
    embed: nn.Module,
    projection: torch.Tensor,
    depth: int,
) -> torch.Tensor:
    """The greedy chain the head drafts after every pair of a text.

    Args:
        features: (L, d) the target's features at every position of the text.
        tokens: (L,) the text's token ids.
        embed: the target's input embeddings.
        projection: (M, d) from `head.projection`.
        depth: the chain's length.

    Returns:
        (L - 1, depth) token ids: row i drafts the tokens at i + 2, ..., i + 1 + depth.
    """
    n, device = features.shape[0] - 1, projection.device
    feats, toks, drafted = [features[:-1].to(device)], [tokens[1:].to(device)], []
    for blocks in range(1, depth + 1):
        positions = torch.cat([torch.arange(n, device=device) + b for b in range(blocks)])[None]
        mask = chain_mask(n, blocks, device)[None, None]
        out = head(torch.cat(feats)[None], embed(torch.cat(toks))[None], positions, mask)[0]  # (blocks * n, d)
        predicted = out[(blocks - 1) * n :]  # (n, d) each chain's next feature
        token = head.token_ids(head.logits(predicted, projection).argmax(dim=-1))
        drafted.append(token)
        feats.append(predicted)
        toks.append(token)
    return torch.stack(drafted, dim=1)
