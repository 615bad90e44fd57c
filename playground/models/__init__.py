"""Model sources and precisions: the embedded default, Hugging Face ids and local directories."""

from playground.models.bundled import BUNDLED_GGUF, DEFAULT_MODEL_ID, cache_dir, ensure_checkpoint
from playground.models.loader import PRECISIONS, LoadedModel, ModelLoadError, clear_cache, load_model

__all__ = [
    "BUNDLED_GGUF",
    "DEFAULT_MODEL_ID",
    "PRECISIONS",
    "LoadedModel",
    "ModelLoadError",
    "cache_dir",
    "clear_cache",
    "ensure_checkpoint",
    "load_model",
]
