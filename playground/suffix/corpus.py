"""Documents of token ids in one small file: the ids laid end to end (uint16 when every id fits, else uint32)
and each document's length, in a compressed numpy archive.

A corpus ships for the embedded default only (`SHIPPED`; CARD.md says how it was made).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from playground.models.bundled import DEFAULT_MODEL_ID

HERE = Path(__file__).parent
# Model id -> the token ids of its own answers to the training prompts (see CARD.md).
SHIPPED = {DEFAULT_MODEL_ID: HERE / "smollm2-135m-instruct.npz"}


def save_documents(documents: list[list[int]], path: Path) -> None:
    """Writes `documents` (lists of non-negative token ids) to `path` (a .npz file)."""
    lengths = np.array([len(doc) for doc in documents], dtype=np.int64)
    tokens = np.array([token for doc in documents for token in doc], dtype=np.int64)
    small = tokens.size == 0 or int(tokens.max()) <= np.iinfo(np.uint16).max
    np.savez_compressed(
        path, tokens=tokens.astype(np.uint16 if small else np.uint32), lengths=lengths.astype(np.uint32)
    )


def load_documents(path: Path) -> list[list[int]]:
    """The documents `save_documents` wrote to `path`."""
    with np.load(path) as archive:
        tokens, lengths = archive["tokens"].astype(np.int64), archive["lengths"].astype(np.int64)
    ends = np.cumsum(lengths)
    return [tokens[end - length : end].tolist() for end, length in zip(ends, lengths, strict=True)]


def shipped_documents(model_id: str) -> list[list[int]] | None:
    """The corpus that ships for `model_id`, or None when none does."""
    path = SHIPPED.get(model_id)
    return load_documents(path) if path is not None else None
