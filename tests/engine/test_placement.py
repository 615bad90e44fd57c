"""The one read from the device: packed into one vector, it must give back exactly what each tensor holds."""

import torch

from playground.engine.placement import HOST, packed_values, read_values, to_host


def _tensors():
    return [
        torch.tensor([[3, 2**40 + 1], [0, 7]]),  # ids, one beyond float32's exact range
        torch.tensor([0.1, -1e-30, float("-inf"), 3.4e38], dtype=torch.float32),
        torch.tensor([True, False]),
        torch.tensor(2.5, dtype=torch.bfloat16),  # 0-dim
        torch.zeros(0, 5),  # empty, as a round with no proposals
        torch.tensor([[-1, 4]], dtype=torch.int32),
    ]


def test_packed_values_give_what_tolist_gives():
    """The packing a GPU read goes through, checked where it can be: on the CPU."""
    tensors = _tensors()
    values = packed_values(*tensors)
    assert values == [t.tolist() for t in tensors]
    assert [type(v) for v in values[0][0]] == [int, int] and type(values[2][0]) is bool
    assert read_values(*tensors) == values


def test_one_tensor_reads_as_itself():
    assert packed_values(torch.tensor([1.5, 2.0])) == read_values(torch.tensor([1.5, 2.0])) == [[1.5, 2.0]]


def test_to_host_keeps_shapes_dtypes_and_values():
    tensors = _tensors()
    for moved, t in zip(to_host(*tensors), tensors, strict=True):
        assert moved.device == HOST and moved.dtype == t.dtype and moved.shape == t.shape
        assert torch.equal(moved, t)
