"""The pass-cost curve c(k) and the round sizes it picks: hand-built curves with answers worked out by hand, a
brute-force check over random ones, and the measurement itself on a tiny model."""

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from playground.engine.speculative import cost
from playground.engine.speculative.draft_tree import best_tree, expected_length
from tests.tiny import make_tiny_model, make_tiny_tokenizer, wrap_loaded

NF4_LIKE = [1.0] * 4 + [1.2] * 4 + [1.4] * 4 + [1.6] * 4  # bitsandbytes' steps of four tokens


def test_the_sizes_timed_end_and_start_the_first_groups_of_four_and_include_the_largest():
    assert cost.timed_sizes(16) == [1, 2, 4, 5, 8, 9, 12, 16]
    assert cost.timed_sizes(6) == [1, 2, 4, 5, 6]
    assert cost.timed_sizes(1) == [1]


def test_untimed_sizes_are_interpolated_and_a_slow_timing_is_bounded_by_a_larger_size():
    # 12 was slowed by noise (30 > 18 at 16): a pass over more tokens never costs less, so 12 costs 18 too.
    times = {1: 10.0, 2: 12.0, 4: 12.0, 8: 14.0, 12: 30.0, 16: 18.0}
    expected = [1.0, 1.2, 1.2, 1.2, 1.25, 1.3, 1.35, 1.4, 1.5, 1.6, 1.7, 1.8, 1.8, 1.8, 1.8, 1.8]
    assert cost.curve_from_times(times, 16) == pytest.approx(expected)
    # One token measured slower than two: c(1) is still 1, at the time of two.
    assert cost.curve_from_times({1: 12.0, 2: 10.0, 3: 15.0}, 3) == pytest.approx([1.0, 1.0, 1.5])
    # Steps of four, timed at both ends of each group: flat inside a group, as measured.
    steps = {1: 1.0, 2: 1.2, 4: 1.2, 5: 1.4, 8: 1.4, 9: 1.6, 12: 1.6, 16: 1.8}
    assert cost.curve_from_times(steps, 16)[:12] == pytest.approx([1.0] + [1.2] * 3 + [1.4] * 4 + [1.6] * 4)


def test_interpolation_is_linear_between_known_sizes():
    assert cost.interpolate([1, 2, 3, 4, 7], [1, 4, 7], [1.0, 1.6, 1.6]) == pytest.approx([1.0, 1.2, 1.4, 1.6, 1.6])


def test_a_curve_needs_the_time_of_one_token_and_of_the_largest_size():
    with pytest.raises(ValueError, match="sizes 1 and 16"):
        cost.curve_from_times({1: 1.0, 8: 2.0}, 16)


def test_half_accepted_drafts_stop_before_the_pass_grows_dearer():
    # E(g) = 2 - 0.5^g: 1.875 at g = 3 for a cost of 1; 1.9375 at g = 4 costs 1.2 (1.61 per unit).
    assert cost.best_chain_length(NF4_LIKE, [0.5] * 15) == 3


def test_well_accepted_drafts_fill_the_group_of_four_that_pays_most():
    # E(g) = (1 - 0.9^(g+1)) / 0.1 per cost: g = 3: 3.44; g = 7: 5.70 / 1.2 = 4.75; g = 11: 7.18 / 1.4 = 5.13;
    # g = 15: 8.15 / 1.6 = 5.09.
    assert cost.best_chain_length(NF4_LIKE, [0.9] * 15) == 11


def test_a_plain_step_is_best_when_no_draft_is_worth_its_cost():
    assert cost.best_chain_length([1.0, 2.0, 3.0], [0.9, 0.9]) == 0  # E(1) / c(2) = 1.9 / 2
    assert cost.best_chain_length(NF4_LIKE, [0.0] * 15) == 0
    assert cost.best_chain_length(NF4_LIKE, []) == 0


def test_the_chain_is_no_longer_than_the_acceptances_or_the_curve():
    assert cost.best_chain_length(NF4_LIKE, [1.0] * 2) == 2
    assert cost.best_chain_length([1.0, 1.0, 1.0], [1.0] * 10) == 2


def test_expected_chain_tokens_multiply_the_acceptances():
    assert cost.chain_expected_tokens([0.5, 0.4, 0.9], 3) == pytest.approx(1 + 0.5 + 0.2 + 0.18)
    assert cost.chain_expected_tokens([0.5], 0) == 1.0


def test_tree_size_weighs_the_next_guess_against_what_it_adds_to_the_pass():
    rates = [[0.5, 0.2]]  # one head: its best guess is right half the time, its second a fifth
    # One guess: 1.5 tokens for 1.2; two guesses: 1.7 tokens for 1.5.
    assert cost.best_tree_size([1.0, 1.2, 1.5], rates, most=5) == 1
    assert cost.best_tree_size([1.0, 1.0, 1.0], rates, most=5) == 2
    assert cost.best_tree_size([1.0, 1.0, 1.0], rates, most=1) == 1
    assert cost.best_tree_size([1.0, 1.6, 1.7], rates, most=5) == 0  # 1.5 / 1.6 < 1


def test_tree_size_stops_where_the_heads_have_no_more_guesses():
    # The tree cannot grow past the root and two guesses; a larger N would price the same tree again.
    assert cost.best_tree_size([1.0] * 6, [[0.5, 0.2]], most=5) == 2
    assert cost.best_tree_size([1.0] * 6, [], most=5) == 0


costs = st.lists(st.floats(min_value=0.01, max_value=1.0), min_size=0, max_size=15).map(
    lambda steps: [1.0 + sum(steps[:i]) for i in range(len(steps) + 1)]  # non-decreasing, c(1) = 1
)
chances = st.lists(st.floats(min_value=0.0, max_value=1.0), max_size=16)


@given(costs, chances)
def test_the_chain_length_is_the_brute_force_best(curve, accept):
    rates = []
    for g in range(min(len(accept), len(curve) - 1) + 1):
        tokens, alive = 1.0, 1.0
        for j in range(g):
            alive *= accept[j]
            tokens += alive
        rates.append(tokens / curve[g])
    chosen = cost.best_chain_length(curve, accept)
    assert 0 <= chosen < len(rates)
    assert rates[chosen] == pytest.approx(max(rates), rel=1e-12)


@given(costs, st.lists(st.lists(st.floats(0.0, 1.0), min_size=3, max_size=3), min_size=1, max_size=3))
def test_the_tree_size_is_the_brute_force_best(curve, hit_rates):
    hit_rates = [sorted(row, reverse=True) for row in hit_rates]  # a head's guesses, best first
    most = 8
    rates = [
        expected_length(best_tree(hit_rates, n + 1), hit_rates) / curve[best_tree(hit_rates, n + 1).size - 1]
        for n in range(min(most, len(curve) - 1) + 1)
    ]
    chosen = cost.best_tree_size(curve, hit_rates, most)
    assert 0 <= chosen < len(rates)
    assert rates[chosen] == pytest.approx(max(rates), rel=1e-12)


@pytest.fixture(scope="module")
def tiny():
    tokenizer = make_tiny_tokenizer()
    return wrap_loaded(make_tiny_model(tokenizer), tokenizer)


def test_the_measured_curve_is_positive_and_never_falls(tiny):
    curve = cost.measure_cost_curve(tiny.model, list(range(10, 60)))
    assert len(curve) == cost.MOST and curve[0] == 1.0
    assert all(c > 0 for c in curve)
    assert all(a <= b for a, b in itertools.pairwise(curve))
    assert len(cost.measure_cost_curve(tiny.model, [5], most=3)) == 3


@pytest.mark.parametrize(("budget", "repeats"), [(0.0, 1), (60.0, cost.REPEATS)])
def test_a_repeat_starts_only_if_it_would_end_within_the_budget(tiny, monkeypatch, budget, repeats):
    timed = []
    monkeypatch.setattr(cost, "BUDGET_S", budget)
    monkeypatch.setattr(cost, "_time_pass", lambda model, tokens, *rest: timed.append(len(tokens)) or 0.01)
    cost.measure_cost_curve(tiny.model, [5, 6, 7])
    assert timed == [1] + cost.timed_sizes(cost.MOST) * repeats  # the warm-up pass, then each repeat's sizes


def test_measuring_needs_a_context(tiny):
    with pytest.raises(ValueError, match="needs a context"):
        cost.measure_cost_curve(tiny.model, [])


def test_the_curve_settles_on_the_least_times_of_its_first_measurements_per_model(tiny, monkeypatch):
    readings = iter([{1: 1.0, 16: 3.0}, {1: 2.0, 16: 2.5}, {1: 0.5, 16: 4.0}, {1: 9.0, 16: 9.0}])
    measured = []

    def fake(model, ids, most=cost.MOST):
        measured.append(len(ids))
        return next(readings)

    monkeypatch.setattr(cost, "pass_times", fake)
    cost.clear_cost_curves()
    assert cost.cost_curve(tiny, [1, 2, 3])[-1] == pytest.approx(3.0)
    assert cost.cost_curve(tiny, [1] * 40)[-1] == pytest.approx(2.5)  # 1.0 and 2.5: the least of each size
    assert cost.cost_curve(tiny, [1])[-1] == pytest.approx(5.0)  # 0.5 and 2.5
    assert measured == [3, 40, 1]
    assert cost.cost_curve(tiny, [1, 2])[-1] == pytest.approx(5.0) and len(measured) == cost.SETTLE  # settled
    other = wrap_loaded(tiny.model, tiny.tokenizer, model_id="another")
    cost.cost_curve(other, [1, 2])
    assert measured == [3, 40, 1, 2]  # another model measures its own
    cost.clear_cost_curves()


def test_a_pass_never_costs_more_than_as_many_one_token_passes():
    curve = cost.curve_from_times({1: 1.0, 2: 2.7, 4: 8.9, 16: 15.0}, 16)  # a load spike while 2 and 4 were timed
    assert curve[:4] == pytest.approx([1.0, 2.0, 3.0, 4.0])
    assert all(c <= k for k, c in enumerate(curve, start=1))


def test_implausible_timings_take_every_repeat_whatever_the_budget(tiny, monkeypatch):
    timed = []
    monkeypatch.setattr(cost, "BUDGET_S", 0.0)
    monkeypatch.setattr(cost, "_time_pass", lambda model, tokens, *rest: timed.append(len(tokens)) or len(tokens) ** 2)
    cost.measure_cost_curve(tiny.model, [5, 6, 7])  # a pass over k tokens takes k² seconds: more than k passes
    assert timed == [1] + cost.timed_sizes(cost.MOST) * cost.REPEATS
