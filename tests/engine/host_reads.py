"""Catches every read of a tensor's values into Python, on a CPU, where no read costs anything visible.

On a GPU each read (`int(t)`, `.item()`, `.tolist()`, a copy to the CPU, a boolean mask or `nonzero`, whose
result size depends on the data) makes Python wait for the device. CI has no GPU, and
`torch.cuda.set_sync_debug_mode` exists only for CUDA, so `HostReads` watches the operations themselves: a
TorchDispatchMode sees the ATen ops that need values (`_local_scalar_dense` behind `int()`, `float()`, `bool()`
and `.item()`; data-sized ops), a TorchFunctionMode the methods that never reach ATen on a CPU tensor
(`.tolist()`, `.numpy()`, `.cpu()`, `.to("cpu")`).

On a CPU model every tensor is on the host, so a move to the CPU cannot be told from a move to the model's
device: a `.to(...)` towards the CPU counts only when the engine's own code (playground/) makes it.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

import playground
from playground.engine import placement

PACKAGE = str(Path(playground.__file__).parent)
# ATen ops whose answer Python needs (`_local_scalar_dense`) or whose output size depends on the data.
VALUE_OPS = {"_local_scalar_dense", "nonzero", "masked_select", "_unique2", "unique_dim", "unique_consecutive"}
INDEX_OPS = {"index", "index_put", "index_put_"}  # reads when an index is a boolean mask
METHODS = {"tolist", "numpy", "cpu"}


def _caller() -> str:
    """file:line of the code that made the read, outside torch and this module."""
    frame = sys._getframe(2)
    while frame is not None and ("/torch/" in frame.f_code.co_filename or frame.f_code.co_filename == __file__):
        frame = frame.f_back
    return "?" if frame is None else f"{Path(frame.f_code.co_filename).name}:{frame.f_lineno}"


def _is_bool_mask(index) -> bool:
    return isinstance(index, torch.Tensor) and index.dtype in (torch.bool, torch.uint8)


def _towards_cpu(args: tuple, kwargs: dict) -> bool:
    """Whether `Tensor.to(*args, **kwargs)` names the CPU (a device, its name, or a tensor there)."""
    for value in (*args[1:], *kwargs.values()):
        if isinstance(value, str) and value.startswith("cpu"):
            return True
        if isinstance(value, torch.device) and value.type == "cpu":
            return True
        if isinstance(value, torch.Tensor) and value.device.type == "cpu":
            return True
    return False


class _ValueOps(TorchDispatchMode):
    def __init__(self, reads: HostReads) -> None:
        super().__init__()
        self.reads = reads

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func._opname
        masked = name in INDEX_OPS and any(_is_bool_mask(i) for i in (args[1] or []))
        if name in VALUE_OPS or masked:
            self.reads.note(f"{name}{' [boolean mask]' if masked else ''} at {_caller()}")
        return func(*args, **(kwargs or {}))


class _Methods(TorchFunctionMode):
    def __init__(self, reads: HostReads) -> None:
        super().__init__()
        self.reads = reads

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        kwargs = kwargs or {}
        made_here = sys._getframe(1).f_code.co_filename.startswith(PACKAGE)
        if name in METHODS or (name == "to" and made_here and _towards_cpu(args, kwargs)):
            self.reads.note(f".{name}() at {_caller()}")
        return func(*args, **kwargs)


class HostReads:
    """The reads made while `watching()`: "read_values" for each call of the engine's one reading helper
    (`placement.read_values`, whose own work is not looked into), and a description with its place for every
    read that bypasses it."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.inside_helper = False

    def note(self, read: str) -> None:
        if not self.inside_helper:
            self.log.append(read)

    def take(self) -> list[str]:
        """The reads since the last `take`."""
        taken, self.log = self.log, []
        return taken

    def _counted_helper(self, helper):
        def counted(*tensors):
            self.note("read_values")
            self.inside_helper = True
            try:
                return helper(*tensors)
            finally:
                self.inside_helper = False

        return counted

    @contextlib.contextmanager
    def watching(self, monkeypatch) -> Iterator[HostReads]:
        """Counts reads until the block ends; the helper is replaced wherever the engine imported it."""
        helper = placement.read_values
        counted = self._counted_helper(helper)
        for module in [m for name, m in sys.modules.items() if name.startswith("playground")]:
            if getattr(module, "read_values", None) is helper:
                monkeypatch.setattr(module, "read_values", counted)
        with _Methods(self), _ValueOps(self):
            yield self
