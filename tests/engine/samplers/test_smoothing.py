"""Smoothing (quadratic sampling) against its formula: an independent reference on random logits (Hypothesis),
worked values, and its properties: the top logit stays, removed tokens stay removed, each row is bent by its own
maximum, and up to curve 3 the order of the tokens is kept."""

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from playground.engine.samplers.smoothing import SmoothingLogitsWarper, smooth_logits

INF = math.inf


def smoothed_by_formula(logits: list[float], factor: float, curve: float) -> list[float]:
    """text-generation-webui's definition in Python floats: d = x - max, x' = max - k f d² + s f d³,
    k = (3 - curve) / 2, s = (curve - 1) / 2; a removed token (-inf) stays removed."""
    top = max(logits)
    k, s = (3 - curve) / 2, (curve - 1) / 2
    return [x if x == -INF else top - k * factor * (x - top) ** 2 + s * factor * (x - top) ** 3 for x in logits]


logit = st.floats(-20, 20, allow_nan=False, width=32)
rows = st.lists(st.one_of(logit, logit, logit, st.just(-INF)), min_size=1, max_size=30).filter(
    lambda xs: any(math.isfinite(x) for x in xs)
)
factors = st.floats(0.01, 5.0)
curves = st.floats(1.0, 10.0)


@given(logits=rows, factor=factors, curve=curves)
def test_every_logit_follows_the_formula(logits, factor, curve):
    scores = torch.tensor([logits], dtype=torch.float64)
    expected = torch.tensor([smoothed_by_formula(logits, factor, curve)], dtype=torch.float64)
    torch.testing.assert_close(smooth_logits(scores, factor, curve), expected, rtol=1e-9, atol=1e-9)


def test_worked_values():
    scores = torch.tensor([[0.0, -1.0, -2.0, -INF]])
    # curve 1 (k = 1, s = 0): max - f d²; curve 3 (k = 0, s = 1): max + f d³.
    assert smooth_logits(scores, 1.0, 1.0).tolist() == [[0.0, -1.0, -4.0, -INF]]
    assert smooth_logits(scores, 0.5, 1.0).tolist() == [[0.0, -0.5, -2.0, -INF]]
    assert smooth_logits(scores, 1.0, 3.0).tolist() == [[0.0, -1.0, -8.0, -INF]]
    # curve 2 (k = s = 1/2) at d = -2: -2 - 4 = -6, halved.
    assert smooth_logits(scores + 5, 1.0, 2.0).tolist() == [[5.0, 4.0, 5.0 - 6.0, -INF]]


@given(logits=rows, factor=factors, curve=st.floats(1.0, 3.0))
def test_the_top_stays_and_the_order_is_kept_up_to_curve_three(logits, factor, curve):
    scores = torch.tensor([logits], dtype=torch.float64)
    out = smooth_logits(scores, factor, curve)[0]
    top = scores.argmax()
    assert out[top] == scores[0, top]
    assert torch.equal(torch.isneginf(out), torch.isneginf(scores[0]))
    finite = torch.isfinite(scores[0])
    order = torch.argsort(scores[0, finite], stable=True)
    assert bool((out[finite][order].diff() >= 0).all())  # non-decreasing along the original order


def test_each_row_is_bent_by_its_own_maximum():
    # text-generation-webui takes one maximum over the whole batch: a second row would bend the first.
    scores = torch.tensor([[1.0, 0.0, -1.0], [9.0, 8.0, 7.0]])
    together = smooth_logits(scores, 1.0, 1.0)
    assert together.tolist() == [[1.0, 0.0, -3.0], [9.0, 8.0, 5.0]]
    for r in range(2):
        assert torch.equal(together[r : r + 1], smooth_logits(scores[r : r + 1], 1.0, 1.0))


def test_the_warper_leaves_its_input_alone_and_checks_its_arguments():
    scores = torch.tensor([[2.0, 1.0, -INF]])
    before = scores.clone()
    out = SmoothingLogitsWarper(0.5, 1.0)(torch.zeros(1, 1, dtype=torch.long), scores)
    assert torch.equal(scores, before)
    assert out.tolist() == [[2.0, 1.5, -INF]]
    for factor, curve in [(0.0, 1.0), (-1.0, 1.0), (1, 1.0), (0.5, 0.5)]:
        with pytest.raises(ValueError, match="smoothing"):
            SmoothingLogitsWarper(factor, curve)
