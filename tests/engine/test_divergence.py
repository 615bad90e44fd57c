"""Divergences between two next-token distributions, on hand-built distributions with worked values: each
function takes log-probabilities (log 0 = -inf for a token a filter removed)."""

import math

import pytest
import torch
from hypothesis import assume, example, given
from hypothesis import strategies as st

from playground.engine.divergence import (
    js_divergence,
    kl_divergence,
    log_probs,
    ruled_out_token,
    total_variation,
    uncovered_mass,
)

LN2 = math.log(2)


def t(*rows):
    """Log-probabilities of hand-built probability rows: a 0 becomes -inf, as a filtered token's score."""
    return torch.tensor(rows, dtype=torch.float64).log()


def test_identical_distributions_are_zero_apart():
    p = t([0.7, 0.2, 0.1, 0.0])
    assert kl_divergence(p, p).item() == 0.0
    assert js_divergence(p, p).item() == pytest.approx(0.0, abs=1e-12)
    assert total_variation(p, p).item() == 0.0
    assert uncovered_mass(p, p).item() == 0.0


def test_worked_example():
    # p = (1/2, 1/2, 0), q = (1/4, 1/4, 1/2): KL(p||q) = ln 2; m = (3/8, 3/8, 1/4);
    # JS = (ln(4/3) + (ln(2/3) + ln 2) / 2) / 2; TV = (1/4 + 1/4 + 1/2) / 2.
    p, q = t([0.5, 0.5, 0.0]), t([0.25, 0.25, 0.5])
    assert kl_divergence(p, q).item() == pytest.approx(LN2)
    assert js_divergence(p, q).item() == pytest.approx((math.log(4 / 3) + (math.log(2 / 3) + LN2) / 2) / 2)
    assert total_variation(p, q).item() == pytest.approx(0.5)
    # KL is not symmetric: q puts half its mass where p puts none.
    assert kl_divergence(q, p).item() == math.inf and uncovered_mass(q, p).item() == pytest.approx(0.5)


def test_a_token_only_a_can_choose_makes_kl_infinite_and_says_how_much_mass_is_uncovered():
    # B's top-k removed the token A gives 0.1: B calls A's choice impossible.
    p, q = t([0.9, 0.1, 0.0]), t([1.0, 0.0, 0.0])
    assert kl_divergence(p, q).item() == math.inf
    assert uncovered_mass(p, q).item() == pytest.approx(0.1)
    # The other way round only A's support matters: B's token is one A gives 0.9.
    assert kl_divergence(q, p).item() == pytest.approx(-math.log(0.9))
    assert js_divergence(p, q).item() < LN2 and total_variation(p, q).item() == pytest.approx(0.1)


def log_softmax_by_hand(scores: list[float]) -> list[float]:
    """log(softmax) from its definition in Python floats: x - log(sum(exp(x))), the largest taken out."""
    top = max(scores)
    total = top + math.log(math.fsum(math.exp(x - top) for x in scores))
    return [x - total for x in scores]


def test_a_tail_that_float32_rounds_to_zero_at_temperature_0_3_is_unlikely_not_impossible():
    # A is greedy (the model's softmax), B samples at temperature 0.3 with no filter: B's tail logits are 100+
    # below its top, whose exp() float32 rounds to 0. Temperature rules nothing out: KL is finite.
    logits = torch.tensor([8.0, 5.0, 0.0, -30.0, -40.0])
    cool = logits / 0.3  # (V,) float32, as TemperatureLogitsWarper divides
    assert torch.softmax(cool, dim=-1)[-2:].tolist() == [0.0, 0.0]  # the underflow the probabilities would show
    logp, logq = log_probs(logits), log_probs(cool)
    assert logq.dtype == torch.float64 and not torch.isneginf(logq).any()
    by_hand_p, by_hand_q = log_softmax_by_hand(logits.tolist()), log_softmax_by_hand(cool.tolist())
    expected = math.fsum(math.exp(a) * (a - b) for a, b in zip(by_hand_p, by_hand_q, strict=True))
    assert math.isfinite(kl_divergence(logp, logq).item())
    assert kl_divergence(logp, logq).item() == pytest.approx(expected, rel=1e-9)
    assert uncovered_mass(logp, logq).item() == 0.0 and ruled_out_token(logp, logq).item() == -1


def test_the_token_ruled_out_is_the_one_a_likes_best_among_those_b_gives_zero():
    p = t([0.1, 0.5, 0.3, 0.04, 0.06], [0.5, 0.5, 0.0, 0.0, 0.0])
    q = t([0.2, 0.8, 0.0, 0.0, 0.0], [0.5, 0.5, 0.0, 0.0, 0.0])
    # Row 0: B removed tokens 2, 3 and 4, which A gives 0.3, 0.04 and 0.06; row 1: B removed only tokens A never
    # takes.
    assert ruled_out_token(p, q).tolist() == [2, -1]
    assert kl_divergence(p, q)[0].item() == math.inf and uncovered_mass(p, q)[0].item() == pytest.approx(0.4)
    assert kl_divergence(p, q)[1].item() == 0.0


def test_disjoint_supports_are_as_far_apart_as_can_be():
    p, q = t([0.5, 0.5, 0.0, 0.0]), t([0.0, 0.0, 0.3, 0.7])
    assert kl_divergence(p, q).item() == math.inf and uncovered_mass(p, q).item() == pytest.approx(1.0)
    assert js_divergence(p, q).item() == pytest.approx(LN2)
    assert total_variation(p, q).item() == pytest.approx(1.0)


def test_rows_are_independent_and_the_shape_drops_the_vocabulary():
    p = t([0.5, 0.5], [1.0, 0.0], [0.2, 0.8])
    q = t([0.5, 0.5], [0.5, 0.5], [0.8, 0.2])
    assert kl_divergence(p, q).shape == (3,) and js_divergence(p[None], q[None]).shape == (1, 3)
    assert kl_divergence(p, q)[0].item() == 0.0 and kl_divergence(p, q)[1].item() == pytest.approx(LN2)


distributions = st.lists(st.floats(0.0, 1.0), min_size=2, max_size=12).filter(lambda xs: sum(xs) > 1e-3)


@given(a=distributions, b=distributions, zero=st.integers(0, 11))
# torch's Categorical clamps probabilities to float64's eps, so a q of 8.6e-231 on p's support counted as 2.2e-16
# there (KL 36.04 instead of the exact 529.75): the exact sum is the reference for such q.
@example(a=[0.0, 0.0, 0.0, 1.0], b=[0.0, 0.0, 1.0, 8.583322233805074e-231], zero=0)
# A subnormal q: p / q overflows to inf, so the exact sum takes the logarithms apart (KL = -ln 5e-324 = 744.44).
@example(a=[0.0, 1.0, 0.0], b=[0.0, 5e-324, 1.0], zero=0)
def test_matches_torch_categorical_kl_and_stays_in_bounds(a, b, zero):
    n = min(len(a), len(b))
    p = torch.tensor(a[:n], dtype=torch.float64)
    q = torch.tensor(b[:n], dtype=torch.float64)
    q[zero % n] = 0.0  # a filtered-out token
    assume(p.sum() > 1e-3 and q.sum() > 1e-3)  # zeroing one token may leave no mass to normalize
    p, q = p / p.sum(), q / q.sum()
    reference = torch.distributions.kl_divergence(
        torch.distributions.Categorical(probs=p), torch.distributions.Categorical(probs=q)
    ).item()
    logp, logq = p.log(), q.log()
    ours = kl_divergence(logp, logq).item()
    if uncovered_mass(logp, logq).item() > 0:
        assert ours == math.inf and reference == math.inf
    elif q[p > 0].min().item() < torch.finfo(torch.float64).eps:  # where torch clamps: the exact sum
        exact = math.fsum(
            pi * (math.log(pi) - math.log(qi)) for pi, qi in zip(p.tolist(), q.tolist(), strict=True) if pi > 0
        )
        assert ours == pytest.approx(exact, rel=1e-9)
    else:
        assert ours == pytest.approx(reference, abs=1e-9)
    assert 0.0 <= js_divergence(logp, logq).item() <= LN2
    assert 0.0 <= total_variation(logp, logq).item() <= 1.0
    assert js_divergence(logp, logq).item() == pytest.approx(js_divergence(logq, logp).item(), abs=1e-12)
