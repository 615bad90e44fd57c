"""Mirostat's knobs are checked on the server, each refusal naming the knob: its three ranges, and the runs that
would apply it but cannot (speculative sampling, whose verification cannot follow a target that moves with every
token drawn; XTC, whose coin a replayed run does not know). Like every sampling-only stage it is simply not applied
where nothing is drawn (greedy, beam search, constrained beam search, greedy speculative decoding), so those run."""

import pytest

from playground.settings import Settings, SettingsError
from playground.stages import BY_NAME, Where


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
    ],
)
def test_a_bad_value_is_refused_by_name(changes, field, message):
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        Settings(**{"strategy": "sample", **changes})
    assert info.value.field == field


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"strategy": "speculative", "do_sample": True, "mirostat": 2}, "mirostat must be 0 with speculative sampling"),
        ({"mirostat": 2, "xtc_probability": 0.5}, "mirostat must be 0 while XTC is on: "),
    ],
)
def test_where_it_would_apply_but_cannot_it_is_refused_in_words(changes, message):
    with pytest.raises(SettingsError) as info:
        Settings(**{"strategy": "sample", **changes})
    assert info.value.field == "mirostat" and str(info.value).startswith(message)
    assert "got" not in str(info.value)  # the knob is simply on: its value says nothing more


@pytest.mark.parametrize(
    "changes",
    [
        {"strategy": "greedy"},
        {"strategy": "beam"},
        {"strategy": "constrained", "force_words": ("rain",)},
        {"strategy": "speculative"},  # greedy speculative decoding
        {"strategy": "speculative", "draft_model": "prompt-lookup"},
        {"strategy": "greedy", "xtc_probability": 0.5},  # neither stage applies, so they do not clash
    ],
)
def test_a_run_that_draws_nothing_does_not_apply_it_and_is_not_refused(changes):
    settings = Settings(**{"mirostat": 2, **changes})
    where = Where(prompt_len=0, eos_ids=[], device=None)
    assert settings.mirostat == 2 and not BY_NAME["mirostat"].applies(settings, where)


def test_the_defaults_leave_it_off_and_the_edges_pass():
    assert Settings().mirostat == 0 and (Settings().mirostat_tau, Settings().mirostat_eta) == (5.0, 0.1)
    for version in (1, 2):
        settings = Settings(strategy="sample", mirostat=version, mirostat_tau=100, mirostat_eta=1)
        assert (settings.mirostat_tau, settings.mirostat_eta) == (100.0, 1.0)
    assert Settings(strategy="beam", mirostat=0).mirostat == 0  # off, it joins any strategy
