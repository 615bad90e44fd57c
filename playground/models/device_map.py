"""Models bigger than one device: accelerate's big-model inference, and where a model placed by it computes.

`PLAYGROUND_DEVICE_MAP=auto` (the CLI's `--device-map auto`) loads a model with `from_pretrained(device_map=
"auto")`: accelerate fills the GPUs layer by layer, then the CPU, then the disk (offloaded weights wait on the
CPU or in a folder and are brought to the computing device for each forward pass). `PLAYGROUND_MAX_MEMORY`
caps what each device may hold, as accelerate's `max_memory`: "0=20GiB,1=20GiB,cpu=60GiB".

Such a model has no single device: input ids go to its embeddings' device, its logits come back on the
inputs' device, and a hidden state arrives where its last layer ran. `model.device` names the first weight's
device only, `meta` when that weight was offloaded.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from typing import Any

import torch

from playground.models.bundled import cache_dir
from playground.models.errors import ModelLoadError

DEVICE_MAP_ENV = "PLAYGROUND_DEVICE_MAP"
MAX_MEMORY_ENV = "PLAYGROUND_MAX_MEMORY"
DEVICE_MAPS = ("auto",)  # the strategies offered: accelerate's own choice of placement


def check_device_map(value: str | None, source: str) -> str | None:
    """`value` as a device map strategy, None (or "") for one device.

    Args:
        source: what gave the value (an environment variable, an argument), named in the error.

    Raises:
        ModelLoadError: not one of DEVICE_MAPS.
    """
    if value is None or not value.strip():
        return None
    if value.strip() not in DEVICE_MAPS:
        raise ModelLoadError(
            f"{source} must be one of {', '.join(DEVICE_MAPS)} (or unset for one device), got {value!r}"
        )
    return value.strip()


def device_map_from_env() -> str | None:
    """The device map PLAYGROUND_DEVICE_MAP asks for; None when it is unset (one device).

    Raises:
        ModelLoadError: a bad value, or PLAYGROUND_MAX_MEMORY set without it (a cap that nothing would read).
    """
    device_map = check_device_map(os.environ.get(DEVICE_MAP_ENV), f"environment variable {DEVICE_MAP_ENV}")
    if device_map is None and os.environ.get(MAX_MEMORY_ENV, "").strip():
        raise ModelLoadError(
            f"environment variable {MAX_MEMORY_ENV} caps what accelerate places on each device, so it needs "
            f"{DEVICE_MAP_ENV}=auto (or --device-map auto); unset it to load on one device"
        )
    return device_map


def max_memory_from_env() -> dict[int | str, str] | None:
    """PLAYGROUND_MAX_MEMORY as accelerate's `max_memory` ({0: "20GiB", "cpu": "60GiB"}); None when unset.

    Raises:
        ModelLoadError: an entry is not `device=size`, with a GPU index or "cpu" and a size such as 20GiB.
    """
    from accelerate.utils import convert_file_size_to_int

    raw = os.environ.get(MAX_MEMORY_ENV, "").strip()
    if not raw:
        return None
    limits: dict[int | str, str] = {}
    for entry in raw.split(","):
        device, _, size = (part.strip() for part in entry.partition("="))
        try:
            valid = (device.isdigit() or device == "cpu") and convert_file_size_to_int(size) > 0
        except ValueError:
            valid = False
        if not valid:
            raise ModelLoadError(
                f"environment variable {MAX_MEMORY_ENV} must list device=size pairs (a GPU index or cpu, a size "
                f'such as 20GiB), as in "0=20GiB,cpu=60GiB"; {entry.strip()!r} is not one'
            )
        limits[int(device) if device.isdigit() else device] = size
    return limits


def dispatch_kwargs(device_map: str) -> dict[str, Any]:
    """`from_pretrained` keyword arguments that place the model by `device_map` within PLAYGROUND_MAX_MEMORY,
    with a fresh folder (in the cache) for the weights offloaded to disk: the caller removes it, or ties it to
    the loaded model with `keep_offload_folder`."""
    folder = cache_dir() / "offload"
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "device_map": device_map,
        "max_memory": max_memory_from_env(),
        "offload_folder": tempfile.mkdtemp(prefix="weights-", dir=folder),
    }


def keep_offload_folder(model: Any, folder: str) -> None:
    """Removes the offload folder once `model` is gone (evicted and no run holds it) or the program ends."""
    weakref.finalize(model, shutil.rmtree, folder, True)


def placement(model: Any) -> str:
    """Where a dispatched model's weights sit, for the trace's `device`: each device of its map once, in the map's
    order ("cuda:0+cuda:1+cpu+disk"); a model on one device names that device ("cpu")."""
    device_map = getattr(model, "hf_device_map", None)
    if not device_map:
        return str(input_device(model))
    names = (str(torch.device(d)) if isinstance(d, int) else str(d) for d in device_map.values())
    return "+".join(dict.fromkeys(names))


def execution_device(module: torch.nn.Module) -> torch.device:
    """Where `module` computes: for a dispatched model, the device accelerate's hook brings its inputs and
    weights to (its own weights may wait on the CPU, on disk or on `meta`); else its weights' device."""
    hook = getattr(module, "_hf_hook", None)
    for part in getattr(hook, "hooks", (hook,)):  # a SequentialHook holds several
        device = getattr(part, "execution_device", None)
        if device is not None:
            return torch.device(device)
    return next(module.parameters()).device


def input_device(model: torch.nn.Module) -> torch.device:
    """Where a model reads its input ids (its embeddings' execution device); its logits come back there."""
    return execution_device(model.get_input_embeddings())
