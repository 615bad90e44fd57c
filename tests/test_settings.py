"""Settings validate themselves and name the field and the value."""

import pytest

from playground.settings import Limits, Settings, SettingsError


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"strategy": "sample", "temperature": -1}, "temperature", "temperature must be > 0 for sampling, got -1"),
        ({"strategy": "sample", "temperature": 0}, "temperature", "got 0"),
        ({"strategy": "sample", "top_p": 0.0}, "top_p", "top_p must be > 0"),
        ({"strategy": "sample", "top_p": 1.5}, "top_p", "got 1.5"),
        ({"strategy": "sample", "top_k": -3}, "top_k", "got -3"),
        ({"strategy": "sample", "min_p": 2.0}, "min_p", "got 2"),
        ({"strategy": "sample", "typical_p": 0}, "typical_p", "got 0"),
        ({"repetition_penalty": 0}, "repetition_penalty", "got 0"),
        ({"max_new_tokens": 0}, "max_new_tokens", "got 0"),
        ({"max_new_tokens": 10**6}, "max_new_tokens", "server's limit"),
        ({"min_new_tokens": 80, "max_new_tokens": 10}, "min_new_tokens", "got 80"),
        ({"strategy": "beam", "num_beams": 1}, "num_beams", "got 1"),
        ({"strategy": "beam", "num_beams": 99}, "num_beams", "server's limit"),
        ({"strategy": "beam", "num_beams": 2, "num_return_sequences": 3}, "num_return_sequences", "got 3"),
        ({"strategy": "beam", "early_stopping": "sometimes"}, "early_stopping", "'sometimes'"),
        ({"strategy": "nucleus"}, "strategy", "'nucleus'"),
        ({"stop": ["ok", ""]}, "stop", "non-empty"),
        ({"max_time": 10**6}, "max_time", "server's limit"),
        ({"top_n": 0}, "top_n", "got 0"),
        ({"seed": -1}, "seed", "got -1"),
        ({"max_new_tokens": 3.5}, "max_new_tokens", "whole number"),
        ({"strategy": "sample", "temperature": float("nan")}, "temperature", "must be a number"),
    ],
)
def test_bad_values_name_field_and_value(changes, field, message):
    with pytest.raises(SettingsError) as err:
        Settings(**changes)
    assert err.value.field == field
    assert message in str(err.value)


def test_defaults_follow_generation_config():
    s = Settings()
    assert (s.strategy, s.temperature, s.top_k, s.top_p, s.repetition_penalty) == ("greedy", 1.0, 50, 1.0, 1.0)
    assert (s.length_penalty, s.early_stopping, s.num_return_sequences, s.top_n) == (1.0, False, 1, 20)


def test_sampling_knobs_are_not_checked_for_greedy():
    assert Settings(strategy="greedy", temperature=0).temperature == 0


def test_limits_come_from_environment(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_MAX_NEW_TOKENS", "16")
    monkeypatch.setenv("PLAYGROUND_MAX_BEAMS", "3")
    assert Settings(max_new_tokens=16).max_new_tokens == 16
    with pytest.raises(SettingsError, match="max_new_tokens must be <= 16"):
        Settings(max_new_tokens=17)
    with pytest.raises(SettingsError, match="num_beams must be <= 3"):
        Settings(strategy="beam", num_beams=4, max_new_tokens=16)


def test_bad_limit_in_environment_is_named(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_MAX_TIME", "soon")
    with pytest.raises(SettingsError, match="PLAYGROUND_MAX_TIME must be a number, got 'soon'"):
        Limits.from_env()


def test_round_trip_through_dict():
    s = Settings(strategy="beam", num_beams=3, stop=["\n\n"], early_stopping="never")
    data = s.to_dict()
    assert data["stop"] == ["\n\n"] and "limits" not in data
    assert Settings.from_dict(data) == s
    with pytest.raises(SettingsError, match="unknown setting 'beams'"):
        Settings.from_dict({"beams": 3})


def test_time_budget_never_exceeds_server_limit():
    limits = Limits(max_time=30.0)
    assert Settings(limits=limits).time_budget == 30.0
    assert Settings(max_time=5.0, limits=limits).time_budget == 5.0


def test_defaults_within_a_hosts_smaller_limits(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_MAX_NEW_TOKENS", "16")
    monkeypatch.setenv("PLAYGROUND_MAX_BEAMS", "3")
    s = Settings.within()
    assert (s.max_new_tokens, s.num_beams) == (16, 3)
    assert Settings.within(Limits()).max_new_tokens == 64
