"""XTC's knobs are checked on the server and a bad value is named: each range, a threshold above 0.5 (XTC could
never fire), and XTC with speculative sampling, whose verification needs a fixed target distribution per step
(greedy speculative decoding, like every strategy that draws nothing, simply does not apply it)."""

import pytest

from playground.settings import Settings, SettingsError


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"xtc_threshold": -0.1}, "xtc_threshold", "xtc_threshold must be >= 0, got -0.1"),
        ({"xtc_threshold": 1.5}, "xtc_threshold", "xtc_threshold must be <= 1, got 1.5"),
        ({"xtc_probability": -0.5}, "xtc_probability", "xtc_probability must be >= 0, got -0.5"),
        ({"xtc_probability": 2}, "xtc_probability", "xtc_probability must be <= 1, got 2"),
        ({"xtc_probability": 0.5, "xtc_threshold": 0.6}, "xtc_threshold", "so it could never fire, got 0.6"),
        (
            {"strategy": "speculative", "do_sample": True, "xtc_probability": 0.5},
            "xtc_probability",
            "xtc_probability must be 0 with speculative sampling: ",
        ),
    ],
)
def test_a_bad_xtc_value_is_refused_by_name(changes, field, message):
    with pytest.raises(SettingsError, match=message) as error:
        Settings(**{"strategy": "sample", **changes})
    assert error.value.field == field
    assert str(error.value).startswith(message) or ", got " in message  # a knob simply on: no "got 0.5" tail


def test_what_is_allowed():
    assert Settings(strategy="sample", xtc_probability=1.0, xtc_threshold=0.5).xtc_threshold == 0.5  # two at 0.5
    assert Settings(strategy="sample", xtc_threshold=0.9).xtc_probability == 0.0  # off: the threshold is unused
    assert Settings(strategy="speculative", xtc_probability=0.5).do_sample is False  # greedy drafts apply no XTC
    assert Settings(strategy="beam", xtc_probability=0.5, xtc_threshold=0.9).strategy == "beam"  # nor beam search
    assert Settings(strategy="greedy", xtc_probability=0.5, xtc_threshold=0.9).strategy == "greedy"  # not sampled
