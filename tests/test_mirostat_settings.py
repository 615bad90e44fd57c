"""Mirostat's knobs are checked on the server, each refusal naming the knob: its three ranges, and the strategies
it cannot join (beam search and constrained beam search draw no token to update mu from; speculative decoding's
verification cannot follow a target that moves with every token drawn)."""

import pytest

from playground.settings import Settings, SettingsError


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"mirostat": 3}, "mirostat", "mirostat must be 0 (off), 1 or 2, got 3"),
        ({"mirostat": -1}, "mirostat", "mirostat must be 0 (off), 1 or 2, got -1"),
        ({"mirostat": 1.5}, "mirostat", "mirostat must be a whole number, got 1.5"),
        ({"mirostat_tau": 0}, "mirostat_tau", "mirostat_tau must be > 0, got 0"),
        ({"mirostat_tau": -2}, "mirostat_tau", "mirostat_tau must be > 0, got -2"),
        ({"mirostat_tau": 101}, "mirostat_tau", "mirostat_tau must be <= 100, got 101"),
        ({"mirostat_eta": 0}, "mirostat_eta", "mirostat_eta must be > 0, got 0"),
        ({"mirostat_eta": 1.01}, "mirostat_eta", "mirostat_eta must be <= 1, got 1.01"),
        ({"strategy": "beam", "mirostat": 2}, "mirostat", "mirostat must be 0 with beam: beam search draws no"),
        ({"strategy": "constrained", "force_words": ("rain",), "mirostat": 1}, "mirostat", "0 with constrained"),
        ({"strategy": "speculative", "do_sample": True, "mirostat": 2}, "mirostat", "0 with speculative: verific"),
        ({"mirostat": 2, "xtc_probability": 0.5}, "mirostat", "must be 0 while XTC is on: mu moves"),
    ],
)
def test_a_bad_value_is_refused_by_name(changes, field, message):
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        Settings(**{"strategy": "sample", **changes})
    assert info.value.field == field


def test_the_defaults_leave_it_off_and_the_edges_pass():
    assert Settings().mirostat == 0 and (Settings().mirostat_tau, Settings().mirostat_eta) == (5.0, 0.1)
    for version in (1, 2):
        settings = Settings(strategy="sample", mirostat=version, mirostat_tau=100, mirostat_eta=1)
        assert (settings.mirostat_tau, settings.mirostat_eta) == (100.0, 1.0)
    assert Settings(strategy="beam", mirostat=0).mirostat == 0  # off, it joins any strategy
