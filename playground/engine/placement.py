"""Where the engine's tensors live.

Work over the vocabulary (logits, processors, top-k, softmax) runs on the model's device. What the trace
records and beam search's bookkeeping (a few dozen candidates a step, read into Python lists for the beam tree
anyway) live on the host: each step brings its small results over together, at one synchronisation, instead
of reading element after element from the GPU, each read a synchronisation of its own. A tensor made in the
engine names its device: the model's, or `HOST`.
"""

from __future__ import annotations

import torch

HOST = torch.device("cpu")


def to_host(*tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The tensors on the host (no copy when they already are there)."""
    return tuple(t.to(HOST) for t in tensors)
