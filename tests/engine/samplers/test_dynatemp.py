"""Dynamic temperature against llama.cpp's temp-ext formula, written here in plain Python floats: the T of each row
and the distribution it gives, on random logits, ranges and exponents (Hypothesis); llama.cpp's edge cases (one
candidate left alone, T = 0 keeping the top token); and its place in the chain, where it stands in for the
temperature."""

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from playground.engine.processors import build_stages
from playground.engine.samplers.dynatemp import DynamicTemperatureLogitsWarper, dynamic_temperatures, scale_by_rows
from playground.settings import Settings, SettingsError

INF = math.inf


def temperature_by_formula(logits: list[float], temperature: float, spread: float, exponent: float) -> float | None:
    """llama.cpp's llama_sampler_temp_ext_apply in Python floats: None with one candidate or none (the scores are
    left alone), else T_min + (T_max - T_min) * (H / ln N) ** exponent over the finite logits."""
    finite = [x for x in logits if x != -INF]
    if len(finite) <= 1:
        return None
    top = max(finite)
    weights = [math.exp(x - top) for x in finite]
    total = math.fsum(weights)
    entropy = -math.fsum(w / total * math.log(w / total) for w in weights if w > 0)
    low, high = max(0.0, temperature - spread), temperature + spread
    return low + (high - low) * min(1.0, entropy / math.log(len(finite))) ** exponent


def probs_at(logits: list[float], t: float) -> list[float]:
    """softmax(logits / t) in Python floats; at t = 0 the top token (or tokens, tied) share everything."""
    top = max(logits)
    if t == 0:
        weights = [1.0 if x == top else 0.0 for x in logits]
    else:
        weights = [0.0 if x == -INF else math.exp((x - top) / t) for x in logits]
    total = math.fsum(weights)
    return [w / total for w in weights]


def warp(logits: list[list[float]], temperature: float, spread: float, exponent: float = 1.0):
    processor = DynamicTemperatureLogitsWarper(temperature, spread, exponent)
    scores = torch.tensor(logits, dtype=torch.float32)
    out = processor(torch.zeros(len(logits), 1, dtype=torch.long), scores)
    return processor, scores, out


logit = st.floats(-30, 30, allow_nan=False, width=32)
rows = st.lists(st.one_of(logit, logit, logit, st.just(-INF)), min_size=1, max_size=40).filter(
    lambda xs: any(x != -INF for x in xs)
)


@given(logits=rows, temperature=st.floats(0.01, 3.0), spread=st.floats(0.01, 3.0), exponent=st.floats(0.05, 8.0))
def test_each_row_is_divided_by_the_formulas_temperature(logits, temperature, spread, exponent):
    processor, _, out = warp([logits], temperature, spread, exponent)
    expected = temperature_by_formula(logits, temperature, spread, exponent)
    note = processor.notes(0)
    assert note["N"] == sum(x != -INF for x in logits)
    if expected is None:
        assert "T" not in note and out[0].tolist() == logits  # llama.cpp returns before touching the scores
        return
    assert note["T"] == pytest.approx(expected, rel=1e-6, abs=1e-9)
    assert max(0.0, temperature - spread) - 1e-9 <= note["T"] <= temperature + spread + 1e-9
    got = torch.softmax(out[0].double(), dim=-1).tolist()
    assert got == pytest.approx(probs_at(logits, expected), abs=1e-5)


def test_a_flat_row_gets_the_top_of_the_range_and_a_sure_one_the_bottom():
    processor, _, _ = warp([[1.0] * 8, [40.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]], temperature=1.0, spread=0.5)
    flat, sure = processor.notes(0), processor.notes(1)
    assert flat["T"] == pytest.approx(1.5) and flat["H"] == pytest.approx(math.log(8)) and flat["N"] == 8
    assert sure["T"] == pytest.approx(0.5, abs=1e-6)


def test_a_row_with_one_candidate_is_left_alone_and_says_so():
    processor, scores, out = warp([[-INF, 2.0, -INF], [1.0, 2.0, -INF]], temperature=1.0, spread=0.5)
    assert torch.equal(out[0], scores[0])
    assert processor.notes(0) == {"H": 0.0, "N": 1}
    assert set(processor.notes(1)) == {"T", "H", "N"}


def test_t_of_zero_keeps_the_top_token_and_never_makes_nan():
    """T_min is 0 when the range reaches below it; a one-hot float32 softmax has entropy 0, so T is 0, where
    llama.cpp keeps the top token alone. A T far below float32's smallest number must not overflow either."""
    scores = torch.tensor([[100.0, 0.0, -5.0], [3.0, 2.0, 1.0]])
    out = scale_by_rows(scores, torch.tensor([0.0, 1e-300], dtype=torch.float64))
    assert not torch.isnan(out).any()
    assert torch.softmax(out, dim=-1).tolist() == [[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]
    processor, _, out = warp([[100.0, 0.0, -5.0]], temperature=0.3, spread=0.5)  # H = 1e-41 nats in float64
    assert processor.notes(0)["T"] < 1e-40 and torch.softmax(out, dim=-1)[0].tolist() == [1.0, 0.0, 0.0]


def test_input_is_not_changed_in_place_and_rows_are_independent():
    logits = [[3.0, 1.0, 0.0, -INF], [0.5, 0.25, 0.125, 0.0]]  # exact in float32
    processor, scores, out = warp(logits, temperature=0.8, spread=0.6, exponent=2.0)
    assert scores.tolist() == logits
    for r, row in enumerate(logits):
        alone, _, single = warp([row], 0.8, 0.6, 2.0)
        assert torch.equal(single[0], out[r]) and alone.notes(0) == processor.notes(r)


def test_the_notes_follow_the_rows_that_go_on():
    processor, _, _ = warp([[1.0, 1.0], [5.0, 0.0], [0.0, 0.0]], temperature=1.0, spread=0.5)
    before = [processor.notes(r) for r in range(3)]
    processor.keep([1, 1, 0])
    assert [processor.notes(r) for r in range(3)] == [before[1], before[1], before[0]]


def test_the_temperatures_are_nan_only_where_nothing_is_scaled():
    t = dynamic_temperatures(torch.tensor([0.0, 0.0, 0.5]), torch.tensor([0, 1, 2]), 1.0, 0.5, 1.0)
    assert math.isnan(t[0]) and math.isnan(t[1]) and t[2] == pytest.approx(0.5 + 0.5 / math.log(2))


@pytest.mark.parametrize("bad", [dict(spread=0.0), dict(spread=-1.0), dict(exponent=0.0), dict(exponent=-2.0)])
def test_the_warper_refuses_an_empty_range_or_exponent(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        DynamicTemperatureLogitsWarper(**{"temperature": 1.0, "spread": 0.5, "exponent": 1.0, **bad})


def chain(**knobs) -> list[str]:
    return [name for name, _ in build_stages(Settings(**{"strategy": "sample", "top_k": 0, **knobs}), 3, [0], "cpu")]


def test_it_takes_the_temperatures_place_and_moves_with_it():
    assert chain(temperature=0.7) == ["temperature"]
    assert chain(temperature=0.7, dynatemp_range=0.5) == ["dynatemp"]  # the temperature is its centre, not a stage
    assert chain(temperature=1.0, dynatemp_range=0.5) == ["dynatemp"]
    assert chain(dynatemp_range=0.5, top_k=5) == ["dynatemp", "top_k"]
    assert chain(dynatemp_range=0.5, top_k=5, temperature_last=True) == ["top_k", "dynatemp"]
    assert chain(dynatemp_range=0.5, smoothing_factor=0.3) == ["smoothing", "dynatemp"]
    greedy = Settings(strategy="greedy", dynatemp_range=0.5)
    assert build_stages(greedy, 3, [0], "cpu") == []  # sampling only, as the temperature


@pytest.mark.parametrize(
    ("knobs", "message"),
    [
        (dict(dynatemp_range=-0.1), "dynatemp_range must be >= 0, got -0.1"),
        (dict(dynatemp_range=11), "dynatemp_range must be <= 10, got 11"),
        (dict(dynatemp_exponent=0), "dynatemp_exponent must be > 0, got 0"),
        (dict(dynatemp_exponent=10.5), "dynatemp_exponent must be <= 10, got 10.5"),
    ],
)
def test_settings_refuse_a_range_or_exponent_out_of_bounds_by_name(knobs, message):
    with pytest.raises(SettingsError, match=message) as caught:
        Settings(strategy="sample", **knobs)
    assert caught.value.field == next(iter(knobs))
