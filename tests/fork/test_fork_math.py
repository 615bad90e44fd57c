"""The forking arithmetic on hand-built values: histograms, renormalised weights, o_t as a mixture, the TV
distance, change points and the outcomes' order."""

import pytest

from playground.fork.fork_math import (
    change_points,
    histogram,
    mixture,
    ranked_outcomes,
    successive_tv,
    tv_distance,
    weights,
)


def test_a_histogram_counts_labels_and_names_a_missing_outcome():
    assert histogram(["4", None, "4", "5"]) == {"4": 0.5, "(none)": 0.25, "5": 0.25}
    assert list(histogram(["b", "a", "a"])) == ["a", "b"]  # most frequent first
    assert histogram([]) == {}


def test_weights_renormalise_over_the_branches_sampled():
    assert weights([0.3, 0.1, 0.1]) == pytest.approx([0.6, 0.2, 0.2])
    assert weights([0.0, 0.0]) == [0.5, 0.5]
    assert weights([]) == []


def test_o_t_is_the_weighted_mixture_of_the_branches_histograms():
    o = mixture([0.75, 0.25], [{"4": 1.0}, {"4": 0.5, "5": 0.5}])
    assert o == pytest.approx({"4": 0.875, "5": 0.125})
    assert list(o) == ["4", "5"]
    assert sum(mixture([0.5, 0.5], [{"a": 1.0}, {"b": 1.0}]).values()) == pytest.approx(1.0)


def test_tv_distance_is_half_the_summed_differences():
    assert tv_distance({"a": 1.0}, {"a": 1.0}) == 0.0
    assert tv_distance({"a": 1.0}, {"b": 1.0}) == 1.0
    assert tv_distance({"a": 0.5, "b": 0.5}, {"a": 0.8, "c": 0.2}) == pytest.approx(0.5 * (0.3 + 0.5 + 0.2))


def test_change_points_are_the_positions_whose_tv_exceeds_the_threshold():
    os = [{"a": 1.0}, {"a": 1.0}, {"a": 0.2, "b": 0.8}, {"a": 0.1, "b": 0.9}]
    tvs = successive_tv(os)
    assert tvs == pytest.approx([0.0, 0.0, 0.8, 0.1])
    assert change_points([0, 2, 4, 6], tvs, 0.3) == [4]
    assert change_points([0, 2, 4, 6], tvs, 0.8) == []  # strictly above
    assert successive_tv([]) == [] and successive_tv([{"a": 1.0}]) == [0.0]


def test_outcomes_are_ranked_by_total_mass():
    assert ranked_outcomes([{"a": 0.6, "b": 0.4}, {"b": 0.7, "c": 0.3}]) == ["b", "a", "c"]
