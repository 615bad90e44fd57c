"""XTC against its published definition (p-e-w; llama.cpp's xtc sampler): an independent reference removal set on random
logits, thresholds and coins (Hypothesis), worked examples, the property the issue names (when it fires with two or more
tokens above the threshold, exactly one of them stays, the least probable), the coin drawn from generators of its own
seeded from the run's (whose draws it leaves alone), and the exact average where nothing is drawn, with a filter after
XTC acting on each outcome.
"""

import math

import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

from playground.engine.processors import apply_stages, build_stages
from playground.engine.samplers.state import mix_outcomes
from playground.engine.samplers.xtc import (
    COIN_SEED_OFFSET,
    XTCLogitsWarper,
    coin_generators,
    flip_coins,
    xtc_filter,
    xtc_removed,
)
from playground.settings import Settings

INF = math.inf


def removed_by_definition(logits: list[float], threshold: float) -> set[int]:
    """The tokens XTC removes when it fires, in plain Python: p_i = exp(x_i) / sum exp(x_j) over the finite logits
    (float64); the candidates with p >= threshold, most probable first (the logit's order is the probability's;
    among equal logits, the higher id first, so that the lowest id of the least probable ones stays); if two or
    more, every one of them but the last goes."""
    finite = [(x, i) for i, x in enumerate(logits) if math.isfinite(x)]
    top = max(x for x, _ in finite)
    total = math.fsum(math.exp(x - top) for x, _ in finite)
    above = sorted(
        ((x, i) for x, i in finite if math.exp(x - top) / total >= threshold), key=lambda xi: (-xi[0], -xi[1])
    )
    return {i for _, i in above[:-1]} if len(above) >= 2 else set()


def probabilities(logits: list[float]) -> list[float]:
    finite = [x for x in logits if math.isfinite(x)]
    top, total = max(finite), math.fsum(math.exp(x - max(finite)) for x in finite)
    return [math.exp(x - top) / total if math.isfinite(x) else 0.0 for x in logits]


def gone(scores: torch.Tensor) -> set[int]:
    """The indices of a (V,) row whose score is -inf."""
    return set(torch.isneginf(scores).nonzero().flatten().tolist())


# Logits on a 0.1 grid: distinct ones stay distinct after a float32 softmax, so the order is never in doubt.
logit = st.integers(-300, 300).map(lambda i: i / 10)
row = st.lists(st.one_of(logit, logit, logit, st.just(-INF)), min_size=1, max_size=30).filter(
    lambda xs: any(math.isfinite(x) for x in xs)
)
thresholds = st.one_of(st.floats(0.0, 0.5), st.sampled_from([0.0, 0.1, 0.5]))


@given(rows=st.lists(row, min_size=1, max_size=4), threshold=thresholds, coins=st.lists(st.booleans(), min_size=4))
def test_the_removal_set_is_the_definitions(rows, threshold, coins):
    size = max(len(r) for r in rows)
    rows = [r + [-INF] * (size - len(r)) for r in rows]  # a removed token is no candidate
    # float32 and exact arithmetic may disagree only for a probability on the threshold itself.
    assume(all(abs(p - threshold) > 1e-5 for r in rows for p in probabilities(r) if p > 0))
    scores = torch.tensor(rows, dtype=torch.float32)
    fired = torch.tensor(coins[: len(rows)])
    filtered = xtc_filter(scores, threshold, fired)
    for r, logits in enumerate(rows):
        expected = removed_by_definition(logits, threshold)
        assert set(xtc_removed(scores, threshold)[r].nonzero().flatten().tolist()) == expected
        assert gone(filtered[r]) - gone(scores[r]) == (expected if coins[r] else set())


@st.composite
def two_above(draw) -> tuple[list[float], float]:
    """A row with at least two candidates and a threshold at most the second probability (and 0.5), so that two or
    more tokens reach it: drawn, not filtered, since most random thresholds leave one token or none above."""
    logits = draw(row.filter(lambda xs: sum(math.isfinite(x) for x in xs) >= 2))
    second = sorted(probabilities(logits), reverse=True)[1]
    return logits, draw(st.floats(0.0, 1.0)) * min(second, 0.5)


@given(case=two_above())
def test_when_it_fires_exactly_one_token_above_the_threshold_stays_the_least_probable(case):
    logits, threshold = case
    scores = torch.tensor([logits], dtype=torch.float32)
    probs = torch.softmax(scores, dim=-1)[0]
    above = [i for i, x in enumerate(logits) if math.isfinite(x) and probs[i] >= threshold]
    assume(len(above) >= 2)
    after = xtc_filter(scores, threshold, torch.tensor([True]))[0]
    left = [i for i in above if math.isfinite(after[i])]
    assert len(left) == 1
    assert probs[left[0]] == min(probs[i] for i in above)
    # Nothing below the threshold goes.
    assert all(math.isfinite(after[i]) for i, x in enumerate(logits) if math.isfinite(x) and i not in above)


def test_worked_examples():
    scores = torch.tensor([[0.5, 0.3, 0.15, 0.05]]).log()
    assert gone(xtc_filter(scores, 0.1, torch.tensor([True]))[0]) == {0, 1}  # 0.15 is the least above 0.1
    assert gone(xtc_filter(scores, 0.1, torch.tensor([False]))[0]) == set()  # the coin did not fire
    assert gone(xtc_filter(scores, 0.4, torch.tensor([True]))[0]) == set()  # only 0.5 is above 0.4
    assert gone(xtc_filter(scores, 0.0, torch.tensor([True]))[0]) == {0, 1, 2}  # every candidate is above 0
    # A token an earlier stage removed is no candidate, even at threshold 0; ties keep the lower id.
    tied = torch.tensor([[1.0, 1.0, -INF, 2.0]])
    assert gone(xtc_filter(tied, 0.0, torch.tensor([True]))[0]) == {1, 2, 3}


def test_the_input_is_not_changed_in_place():
    scores = torch.tensor([[0.5, 0.3, 0.15, 0.05]]).log()
    before = scores.clone()
    xtc_filter(scores, 0.1, torch.tensor([True]))
    XTCLogitsWarper(0.1, 1.0)(None, scores)
    assert torch.equal(scores, before)


def test_each_row_flips_its_own_coin_from_its_generator():
    seeds = [3, 4, 5, 6]
    coins = flip_coins([torch.Generator().manual_seed(s) for s in seeds], 0.5, torch.device("cpu"))
    draws = [torch.rand(1, generator=torch.Generator().manual_seed(s)).item() for s in seeds]
    assert coins.tolist() == [u < 0.5 for u in draws]
    always = flip_coins([torch.Generator().manual_seed(s) for s in seeds], 1.0, torch.device("cpu"))
    assert always.all()


def test_the_coin_has_generators_of_its_own_seeded_from_the_runs_which_it_leaves_alone():
    runs = [torch.Generator().manual_seed(seed) for seed in (3, 4)]
    before = [g.get_state() for g in runs]
    xtc = XTCLogitsWarper(0.1, 0.5)
    xtc.start(runs)
    xtc(None, torch.tensor([[0.5, 0.3, 0.15, 0.05]] * 2).log())
    assert all(torch.equal(g.get_state(), state) for g, state in zip(runs, before, strict=True))
    assert [g.initial_seed() for g in xtc.generators] == [3 + COIN_SEED_OFFSET, 4 + COIN_SEED_OFFSET]
    assert all(g.device == torch.device("cpu") for g in xtc.generators)
    (last,) = coin_generators([torch.Generator().manual_seed(2**64 - 1)])  # the largest seed torch takes wraps
    assert last.initial_seed() == COIN_SEED_OFFSET - 1


def test_the_warper_refuses_what_settings_would_not_make():
    with pytest.raises(ValueError, match="threshold"):
        XTCLogitsWarper(1.5, 0.5)
    with pytest.raises(ValueError, match="probability"):
        XTCLogitsWarper(0.1, 0.0)


def test_where_nothing_is_drawn_it_gives_both_outcomes_and_their_mixture():
    scores = torch.tensor([[0.5, 0.3, 0.15, 0.05]]).log()
    xtc = XTCLogitsWarper(0.1, 0.25)
    xtc.start(None)
    (w0, kept), (w1, fired) = xtc.outcomes(None, scores)
    assert (w0, w1) == (0.75, 0.25) and torch.equal(kept, scores) and gone(fired[0]) == {0, 1}
    # p = 0.75 * [0.5, 0.3, 0.15, 0.05] + 0.25 * [0, 0, 0.75, 0.25]
    expected = torch.tensor([0.375, 0.225, 0.3, 0.1])
    torch.testing.assert_close(xtc(None, scores)[0].exp(), expected)
    assert xtc.notes(0) == {"q": 0.25, "threshold": 0.1, "above": 3, "mixed": True, "excluded": [0, 1], "kept": 2}


def test_mix_outcomes_leaves_out_a_weight_of_zero():
    scores = torch.tensor([[0.0, -INF]])
    assert mix_outcomes([(0.0, torch.zeros(1, 2)), (1.0, scores)]) is scores
    torch.testing.assert_close(
        mix_outcomes([(0.5, torch.zeros(1, 2)), (0.5, scores)]).exp(), torch.tensor([[0.75, 0.25]])
    )


def test_a_filter_after_xtc_cuts_each_outcome_not_their_mixture():
    # p = [0.4, 0.3, 0.2, 0.1]; XTC at 0.15 fired keeps [0.2, 0.1] of the top three; top-k 2 after it keeps
    # tokens 0 and 1 unfired (0.4 / 0.7, 0.3 / 0.7) and tokens 2 and 3 fired (2/3, 1/3).
    scores = torch.tensor([[0.4, 0.3, 0.2, 0.1]]).log()
    settings = Settings(strategy="sample", xtc_probability=0.5, xtc_threshold=0.15, top_k=2,
                        sampler_order=("xtc", "top_k"))  # fmt: skip
    stages = build_stages(settings, 1, [], torch.device("cpu"))
    stages[0][1].start(None)
    staged = apply_stages(stages, torch.zeros(1, 1, dtype=torch.long), scores)
    assert [name for name, _ in staged] == ["raw", "xtc", "top_k"]
    xtc_mix = 0.5 * torch.tensor([0.4, 0.3, 0.2, 0.1]) + 0.5 * torch.tensor([0, 0, 2 / 3, 1 / 3])
    torch.testing.assert_close(staged[1][1][0].exp(), xtc_mix)
    final = 0.5 * torch.tensor([4 / 7, 3 / 7, 0, 0]) + 0.5 * torch.tensor([0, 0, 2 / 3, 1 / 3])
    torch.testing.assert_close(staged[2][1][0].exp(), final)  # top-k 2 of the mixture would keep 0 and 2 only


def test_a_drawn_step_notes_its_coin_and_rows_follow_keep():
    scores = torch.tensor([[0.5, 0.3, 0.15, 0.05], [0.9, 0.04, 0.03, 0.03]]).log()
    xtc = XTCLogitsWarper(0.1, 1.0)
    xtc.start([torch.Generator().manual_seed(0), torch.Generator().manual_seed(1)])
    out = xtc(None, scores)
    assert gone(out[0]) == {0, 1} and gone(out[1]) == set()
    fired = {"q": 1.0, "threshold": 0.1, "fired": True}
    assert xtc.notes(0) == {**fired, "above": 3, "excluded_some": True, "excluded": [0, 1], "kept": 2}
    assert xtc.notes(1) == {**fired, "above": 1, "excluded_some": False, "excluded": [], "kept": 0}
    xtc.keep([1])
    assert xtc.notes(0)["above"] == 1 and len(xtc.generators) == 1
    assert gone(xtc(None, scores[:1])[0]) == {0, 1}  # one row now, drawn with the second generator
