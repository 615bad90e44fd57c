"""A round's overhead beyond c(k), learned from its kind's timed rounds, in the run's own one-token passes."""

import pytest

from playground.engine.speculative.pricing import LIMIT, RoundCosts

CURVE = [1.0, 1.2, 1.25, 1.3]


def test_overheads_are_measured_in_the_runs_own_pass_time():
    costs = RoundCosts(CURVE)
    assert costs.overhead("medusa") == 0.0 and costs.priced("medusa") == CURVE  # nothing seen: c(k) alone
    # Passes twice as slow as when c(k) was measured (20 ms for one token): the unit follows them.
    costs.add("none", 1, pass_s=0.020, round_s=0.022)  # 0.1 of a pass beyond it
    costs.add("medusa", 3, pass_s=0.025, round_s=0.030)  # 1.25 passes of 20 ms, and 0.25 beyond it
    assert costs.overhead("none") == pytest.approx(0.1)
    assert costs.overhead("medusa") == pytest.approx(0.25)
    assert costs.priced("medusa") == pytest.approx([1.1, 1.45, 1.5, 1.55])


def test_a_kind_not_seen_yet_pays_what_every_round_has():
    costs = RoundCosts(CURVE)
    costs.add("medusa", 3, pass_s=0.025, round_s=0.030)
    costs.add("suffix", 2, pass_s=0.024, round_s=0.026)
    assert costs.overhead("none") == pytest.approx(min(costs.overhead("medusa"), costs.overhead("suffix")))


def test_a_pause_counts_at_most_the_limit_and_quick_rounds_nothing():
    costs = RoundCosts(CURVE)
    costs.add("none", 1, pass_s=0.020, round_s=5.0)  # the process stood still for seconds
    assert costs.overhead("none") == pytest.approx(LIMIT)
    quick = RoundCosts(CURVE)
    quick.add("none", 1, pass_s=0.020, round_s=0.019)  # a round cannot cost less than its pass: timing noise
    assert quick.overhead("none") == 0.0
