"""Loading a model at a precision, once per (model, precision, device), with errors as one clear sentence.

Sources: the embedded default (by its name, `DEFAULT_MODEL_ID`), a local directory, or a Hugging Face model
id. Remote code is never trusted. Precisions: bitsandbytes `nf4` (the default), `fp4` and `int8`, or dense
`bf16` and `fp32`. CUDA is used when available, else the CPU; a model bigger than one device is spread over
several by accelerate when PLAYGROUND_DEVICE_MAP says so (`device_map.py`).
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch

from playground.models.bundled import DEFAULT_MODEL_ID, ensure_checkpoint
from playground.models.device_map import (
    check_device_map,
    device_map_from_env,
    dispatch_kwargs,
    keep_offload_folder,
    placement,
)
from playground.models.errors import ModelLoadError
from playground.settings import PRECISIONS
from playground.trace import ModelInfo


@dataclass
class LoadedModel:
    """A model ready to decode, shared by every request; `lock` lets one run use it at a time."""

    model: Any  # a transformers PreTrainedModel in eval mode
    tokenizer: Any  # its PreTrainedTokenizer(Fast)
    info: ModelInfo
    load_s: float
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    device_map: str | None = None  # how accelerate placed it ("auto"), None on one device


# Loaded models, least recently used first. At most PLAYGROUND_MAX_LOADED_MODELS stay (default 2: a target
# and its draft), so a page whose users switch models and precisions does not grow without bound; a run that
# still holds an evicted model keeps it alive until the run ends.
_loaded: dict[tuple[str, str, str], LoadedModel] = {}
_loading = threading.Lock()


def max_loaded_models() -> int:
    raw = os.environ.get("PLAYGROUND_MAX_LOADED_MODELS", "").strip()
    if not raw:
        return 2
    if not raw.isdigit() or int(raw) < 1:
        raise ModelLoadError(
            f"environment variable PLAYGROUND_MAX_LOADED_MODELS must be a whole number >= 1, got {raw!r}"
        )
    return int(raw)


def default_device() -> str:
    """ "cuda" when a GPU is usable, else "cpu"."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def precision_kwargs(precision: str, device: str) -> dict[str, Any]:
    """`from_pretrained` keyword arguments for a precision.

    Args:
        precision: one of PRECISIONS.
        device: "cuda" or "cpu"; bitsandbytes places the quantized weights there itself.
    """
    if precision in ("bf16", "fp32"):
        return {"dtype": torch.bfloat16 if precision == "bf16" else torch.float32}
    # On CPUs with AVX-512 BF16, bitsandbytes looks for an optional kernel package that would be fetched from
    # the Hub and warns when it is missing; nothing can be done about that offline, and it runs without it.
    logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)
    try:
        import bitsandbytes  # noqa: F401  (checked here so a missing package is named, not a traceback)
        from transformers import BitsAndBytesConfig
    except ImportError as exc:
        raise ModelLoadError(
            f"Precision {precision} needs the bitsandbytes package, which cannot be imported ({exc}); "
            "install requirements.txt or choose bf16 or fp32."
        ) from exc
    if precision == "int8":
        quant = BitsAndBytesConfig(load_in_8bit=True)
    else:
        quant = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type=precision,
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16,
        )
    return {"quantization_config": quant, "device_map": {"": device}, "dtype": torch.bfloat16}


def resolve_source(model_id: str) -> tuple[str, str]:
    """Where `model_id` comes from: ("bundled-gguf" | "local" | "hub", what from_pretrained reads)."""
    if model_id == DEFAULT_MODEL_ID:
        return "bundled-gguf", str(ensure_checkpoint())
    path = Path(model_id).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelLoadError(f"The directory {model_id} has no config.json, so it does not hold a model.")
        return "local", str(path)
    if path.exists() or model_id.startswith((".", "/", "~")) or model_id.count("/") > 1:
        raise ModelLoadError(f"No model directory at {model_id}: give a directory holding config.json, or a model id.")
    return "hub", model_id


def hub_kwargs(model_id: str, timeout: float = 3.0) -> dict[str, Any]:
    """Extra `from_pretrained` arguments for a Hub id: local files only when the Hub cannot be reached.

    Without this, an unreachable Hub costs a minute of retries before transformers gives up, which a
    person waiting on a page reads as a hang.

    Raises:
        ModelLoadError: the Hub cannot be reached and the model is not in the local cache.
    """
    from huggingface_hub import constants, try_to_load_from_cache

    host = urlparse(constants.ENDPOINT).hostname or "huggingface.co"
    offline = bool(constants.HF_HUB_OFFLINE)
    if not offline:
        try:
            socket.create_connection((host, 443), timeout=timeout).close()
        except OSError:
            offline = True
    if not offline:
        return {}
    if not isinstance(try_to_load_from_cache(model_id, "config.json"), str):
        why = "offline mode is on (HF_HUB_OFFLINE)" if constants.HF_HUB_OFFLINE else f"{host} cannot be reached"
        raise ModelLoadError(
            f"Cannot load {model_id!r}: it is not a local directory, not in the Hugging Face cache, and {why}."
        )
    return {"local_files_only": True}


def load_model(
    model_id: str = DEFAULT_MODEL_ID, precision: str = "nf4", device: str | None = None, device_map: str | None = None
) -> LoadedModel:
    """Loads (or returns the already loaded) model and tokenizer.

    Args:
        model_id: `DEFAULT_MODEL_ID` for the embedded model, a local directory, or a Hugging Face model id.
        precision: one of PRECISIONS.
        device: "cuda" or "cpu"; None picks CUDA when available (or the device map, if one is asked for).
        device_map: "auto" spreads the model over the devices with accelerate, within PLAYGROUND_MAX_MEMORY;
            None means PLAYGROUND_DEVICE_MAP's, unless `device` is given.

    Raises:
        ModelLoadError: one sentence naming what is missing (package, directory, model, network) or the bad
            device map.
    """
    if precision not in PRECISIONS:
        raise ModelLoadError(f"Unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}.")
    if device_map is None:
        device_map = None if device else device_map_from_env()
    else:
        device_map = check_device_map(device_map, "device_map")
    device = device or default_device()
    key = (model_id, precision, device_map or device)
    with _loading:
        loaded = _loaded.pop(key, None)
        if loaded is None:
            loaded = _load(model_id, precision, device, device_map)
            while len(_loaded) >= max_loaded_models():
                del _loaded[next(iter(_loaded))]
        _loaded[key] = loaded  # now the most recently used
        return loaded


def clear_cache() -> None:
    """Forgets every loaded model (tests use it to measure a cold load)."""
    with _loading:
        _loaded.clear()


def _load(model_id: str, precision: str, device: str, device_map: str | None) -> LoadedModel:
    started = time.perf_counter()
    source, location = resolve_source(model_id)
    kwargs = precision_kwargs(precision, device)
    if device_map:
        kwargs.update(dispatch_kwargs(device_map))  # in place of bitsandbytes' one device
    try:
        tokenizer, model = _from_pretrained(model_id, source, location, precision, kwargs)
    except BaseException:
        if device_map:
            shutil.rmtree(kwargs["offload_folder"], ignore_errors=True)
        raise
    if device_map:
        keep_offload_folder(model, kwargs["offload_folder"])
    elif "quantization_config" not in kwargs:
        model.to(device)
    model.eval()
    info = ModelInfo(
        id=model_id,
        source=source,
        precision=precision,
        device=placement(model) if device_map else device,
        memory_mb=round(model.get_memory_footprint() / 2**20, 1),
        vocab_size=int(model.get_output_embeddings().weight.shape[0]),
    )
    return LoadedModel(model, tokenizer, info, time.perf_counter() - started, device_map=device_map)


def _from_pretrained(model_id: str, source: str, location: str, precision: str, kwargs: dict[str, Any]) -> tuple:
    """The tokenizer and the model, with transformers' failures as one ModelLoadError sentence."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        if source == "hub":
            kwargs.update(hub_kwargs(model_id))
        tokenizer = AutoTokenizer.from_pretrained(location, trust_remote_code=False)
        model = AutoModelForCausalLM.from_pretrained(location, trust_remote_code=False, **kwargs)
    except ModelLoadError:
        raise
    except Exception as exc:  # transformers raises OSError, ValueError, ImportError ... with long messages
        raise ModelLoadError(_explain(model_id, source, precision, exc)) from exc
    return tokenizer, model


def _explain(model_id: str, source: str, precision: str, exc: Exception) -> str:
    """One sentence for a failed `from_pretrained`, from the exception's type and first line."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, ImportError):
        return f"Loading {model_id} at {precision} needs a package that is missing: {first}"
    if "dispatched on the CPU or the disk" in str(exc):  # bitsandbytes' refusal of an offloaded device map
        return (
            f"{model_id} at {precision} does not fit the GPUs' memory, and bitsandbytes cannot offload quantized "
            "weights to the CPU or disk: raise PLAYGROUND_MAX_MEMORY's GPU sizes, or choose bf16 or fp32, which "
            "can be offloaded."
        )
    if "trust_remote_code" in str(exc):
        return f"{model_id} needs its own code to run, which this playground never executes; choose another model."
    if source == "hub" and isinstance(exc, OSError):
        return (
            f"Cannot load {model_id!r}: it is not a local directory, not in the Hugging Face cache, and the Hub "
            "cannot be reached or has no such model."
        )
    if source == "local":
        return f"The directory {model_id} does not hold a loadable model: {first}"
    return f"Cannot load {model_id} at {precision}: {first}"
