"""Where the engine's tensors live, and the one way their values come to the host.

Work over the vocabulary (logits, processors, top-k, softmax) runs on the model's device. What the trace
records and beam search's bookkeeping (a few dozen candidates a step, read into Python lists for the beam tree
anyway) live on the host. A GPU runs ahead of Python until Python asks for a value: every read (`int(t)`,
`.item()`, `.tolist()`, `.to("cpu")`, a boolean mask, `nonzero`) waits for the device to finish, a
synchronisation of its own. So a step packs everything it needs into one vector and reads it with
`read_values`, once, and works out the rest on the host. A tensor made in the engine names its device: the
model's, or `HOST`.
"""

from __future__ import annotations

from typing import Any

import torch

HOST = torch.device("cpu")


def read_values(*tensors: torch.Tensor) -> list[Any]:
    """The values of `tensors`, each as `Tensor.tolist()` gives it (nested lists of int, float or bool), read
    from the device in one transfer (`packed_values`); tensors already on the host are read as they are.

    Args:
        tensors: at least one; any shapes and dtypes (empty ones included).
    """
    if tensors[0].device == HOST:  # nothing to wait for: packing would only add work
        return [t.tolist() for t in tensors]
    return packed_values(*tensors)


def packed_values(*tensors: torch.Tensor) -> list[Any]:
    """`read_values` through one copy: the tensors are flattened into one float64 vector on the first one's
    device, copied to the host at once, then cut and cast back. Exact for every float32, bfloat16 and float16
    value and for ids below 2**53."""
    device = tensors[0].device
    packed = torch.cat([t.to(device).reshape(-1).double() for t in tensors])  # (sum of numels,)
    pieces = packed.to(HOST).split([t.numel() for t in tensors])  # the one transfer
    return [piece.to(t.dtype).view(t.shape).tolist() for piece, t in zip(pieces, tensors, strict=True)]


def to_host(*tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The tensors on the host, same shapes and dtypes, brought over together by `read_values`."""
    return tuple(
        torch.tensor(values, dtype=t.dtype, device=HOST).reshape(t.shape)
        for values, t in zip(read_values(*tensors), tensors, strict=True)
    )
