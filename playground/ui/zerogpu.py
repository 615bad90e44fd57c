"""Hugging Face ZeroGPU support through the optional `spaces` package, and nothing else.

On a ZeroGPU Space, a function that uses the GPU must be wrapped in `spaces.GPU`, which borrows a GPU for the
call. Everywhere else (no `spaces` package, or a Space on CPU or a dedicated GPU) the wrapper is the identity,
so the page behaves exactly as it does locally.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)


def on_gpu(fn: F) -> F:
    """`spaces.GPU(fn)` on ZeroGPU hardware, `fn` itself everywhere else."""
    if os.environ.get("SPACES_ZERO_GPU", "").lower() not in ("1", "true"):
        return fn
    try:
        import spaces
    except ImportError:
        return fn
    return spaces.GPU(duration=int(os.environ.get("PLAYGROUND_GPU_SECONDS", "120")))(fn)
