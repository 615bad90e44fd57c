"""The forking request: defaults, caps and the token budget refused by name, positions at a stride, and the
result's JSON round trip."""

import dataclasses
import json

import pytest

from playground.fork.request import ForkRequest
from playground.fork.result import ForkAnalysis, ForkBranch, ForkPosition
from playground.settings import Limits, SettingsError
from playground.trace import Sample


def test_the_issues_benchmark_fits_the_default_budget():
    request = ForkRequest(limits=Limits())
    assert request.cost_tokens(24) == 24 * 3 * 8 * 24 <= Limits().max_fork_tokens
    request.check_budget(24)


def test_positions_follow_the_stride_up_to_the_cap():
    assert ForkRequest(stride=3, max_positions=3).positions(20) == [0, 3, 6]
    assert ForkRequest(stride=5).positions(12) == [0, 5, 10]
    assert ForkRequest(samples=2, alternatives=1, stride=5, max_new_tokens=4).cost_tokens(12) == 3 * 2 * 2 * 4


def test_the_budget_is_refused_by_name_above_the_server_limit():
    request = ForkRequest(limits=dataclasses.replace(Limits(), max_fork_tokens=1000))
    with pytest.raises(SettingsError, match="PLAYGROUND_MAX_FORK_TOKENS") as refused:
        request.check_budget(24)
    assert refused.value.field == "max_fork_tokens"


@pytest.mark.parametrize(
    ("knobs", "field"),
    [
        (dict(samples=0), "samples"),
        (dict(samples=129), "samples"),  # Limits.max_samples
        (dict(alternatives=9), "alternatives"),
        (dict(stride=0), "stride"),
        (dict(max_positions=129), "max_positions"),
        (dict(max_new_tokens=65), "max_new_tokens"),  # Limits.max_sample_tokens
        (dict(threshold=1.5), "threshold"),
        (dict(samples=True), "samples"),
        (dict(rule="regex", pattern="[a-"), "outcome_pattern"),
        (dict(rule="vote"), "outcome_rule"),
    ],
)
def test_bad_requests_name_the_field(knobs, field):
    with pytest.raises(SettingsError) as refused:
        ForkRequest(**knobs, limits=Limits())
    assert refused.value.field == field


def test_a_sliders_whole_float_is_taken_as_an_int():
    assert ForkRequest(samples=4.0).samples == 4


def test_an_analysis_survives_a_json_round_trip():
    sample = Sample(seed=3, token_ids=[5, 6], probs=[0.5, 0.25], text="ab", stop_reason="eos")
    branch = ForkBranch(token_id=5, text="a", prob=0.5, weight=1.0, samples=[sample], outcomes=[None])
    analysis = ForkAnalysis(
        rule="the first word of the text, lowercased",
        outcomes=["(none)"],
        positions=[ForkPosition(index=0, chosen_id=5, branches=[branch], o={"(none)": 1.0}, tv=0.0)],
        change_points=[],
        request=ForkRequest(samples=1, rule="marker", pattern="A:"),
        new_tokens=2,
        seconds=0.5,
        stopped="stopped",
    )
    again = ForkAnalysis.from_dict(analysis.to_dict())
    assert again == analysis and again.positions[0].branches[0].histogram() == {"(none)": 1.0}
    assert ForkAnalysis.from_dict(json.loads(analysis.to_json())) == analysis
