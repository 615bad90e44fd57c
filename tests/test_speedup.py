"""Measure speed-up's arithmetic: the order of the timings, their pairs, and the median with its range."""

import pytest

from playground.speedup import median_range, pair_up, speedup_text, timing_order
from playground.trace import DraftInfo, Speculative, SpeedupPair


def speculative(**measured) -> Speculative:
    """A speculative part with no rounds and the given speed-up fields."""
    draft = DraftInfo(source="prompt_lookup")
    return Speculative(draft, 4, "constant", [], 0.0, 0.0, 0.0, 0, 0, 0.0, 0.0, **measured)


def test_timings_alternate_starting_with_the_run_itself():
    assert timing_order(3) == ["speculative", "plain", "speculative", "plain", "speculative", "plain"]
    assert timing_order(1) == ["speculative", "plain"]


def test_rates_pair_up_in_order_and_a_lone_speculative_rate_is_dropped():
    assert pair_up([10.0, 8.0, 12.0, 11.0]) == [SpeedupPair(10.0, 8.0), SpeedupPair(12.0, 11.0)]
    assert pair_up([10.0, 8.0, 12.0]) == [SpeedupPair(10.0, 8.0)]  # stopped before the second plain timing
    assert pair_up([10.0]) == []


def test_the_median_and_range_of_the_pairs_speedups():
    pairs = [SpeedupPair(11.2, 10.0), SpeedupPair(9.8, 10.0), SpeedupPair(10.5, 10.0)]
    assert median_range(pairs) == pytest.approx((1.05, 0.98, 1.12))
    assert median_range(pairs[:2]) == pytest.approx((1.05, 0.98, 1.12))  # two: the middle of both
    assert speedup_text(speculative(speedup=1.05, speedup_pairs=pairs)) == "1.05×, 0.98-1.12× over 3 pairs"
    assert speedup_text(speculative(speedup=0.8, speedup_pairs=pairs[1:2])) == "0.98× over 1 pair"


def test_a_trace_from_before_pairs_shows_its_one_reading_and_one_without_shows_nothing():
    assert speedup_text(speculative(speedup=1.19)) == "1.19×"
    assert speedup_text(speculative()) == ""
