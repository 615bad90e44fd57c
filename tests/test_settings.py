"""Settings validate themselves and name the field and the value."""

import pytest

from playground.settings import BOOL_FIELDS, FLOAT_FIELDS, INT_FIELDS, Limits, Settings, SettingsError


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
        ({"strategy": "sample", "top_h": 1.5}, "top_h", "top_h must be <= 1, got 1.5"),
        ({"strategy": "sample", "top_h": -0.1}, "top_h", "top_h must be >= 0, got -0.1"),
        ({"strategy": "sample", "top_n_sigma": -1}, "top_n_sigma", "top_n_sigma must be >= 0, got -1"),
        ({"strategy": "sample", "top_n_sigma": 101}, "top_n_sigma", "top_n_sigma must be <= 100, got 101"),
        ({"strategy": "sample", "smoothing_factor": -0.5}, "smoothing_factor", "must be >= 0, got -0.5"),
        ({"strategy": "sample", "smoothing_factor": 150}, "smoothing_factor", "must be <= 100, got 150"),
        ({"strategy": "sample", "smoothing_curve": 0.5}, "smoothing_curve", "smoothing_curve must be >= 1, got 0.5"),
        ({"strategy": "sample", "smoothing_curve": 11}, "smoothing_curve", "smoothing_curve must be <= 10, got 11"),
        ({"repetition_penalty": 0}, "repetition_penalty", "got 0"),
        ({"presence_penalty": 2.5}, "presence_penalty", "presence_penalty must be <= 2, got 2.5"),
        ({"frequency_penalty": -3}, "frequency_penalty", "frequency_penalty must be >= -2, got -3"),
        ({"penalty_last_n": -2}, "penalty_last_n", "penalty_last_n must be >= -1, got -2"),
        ({"dry_multiplier": -0.1}, "dry_multiplier", "dry_multiplier must be >= 0, got -0.1"),
        ({"dry_base": 0.5}, "dry_base", "dry_base must be >= 1, got 0.5"),
        ({"dry_allowed_length": 0}, "dry_allowed_length", "dry_allowed_length must be >= 1, got 0"),
        ({"dry_penalty_last_n": -5}, "dry_penalty_last_n", "dry_penalty_last_n must be >= -1, got -5"),
        ({"dry_sequence_breakers": [""]}, "dry_sequence_breakers", "strings must be non-empty"),
        ({"dry_sequence_breakers": 3}, "dry_sequence_breakers", "must be a string or a list of strings"),
        ({"repetition_penalty": 1e-137}, "repetition_penalty", "repetition_penalty must be >= 0.01, got 1e-137"),
        ({"repetition_penalty": 101}, "repetition_penalty", "repetition_penalty must be <= 100, got 101"),
        ({"strategy": "sample", "temperature": 2e-137}, "temperature", "must be >= 0.01 for sampling, got 2e-137"),
        ({"strategy": "speculative", "do_sample": True, "temperature": 1e-3}, "temperature", ">= 0.01 for sampling"),
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
        ({"strategy": "sample", "temperature": float("inf")}, "temperature", "must be a finite number, got inf"),
        ({"repetition_penalty": float("-inf")}, "repetition_penalty", "finite"),
        ({"strategy": "beam", "length_penalty": float("inf")}, "length_penalty", "finite"),
        ({"strategy": "sample", "top_k": 10**30}, "top_k", "top_k must be <= 1000000"),
        ({"seed": 2**64}, "seed", "seed must be <= 9223372036854775807"),
        ({"max_new_tokens": "64"}, "max_new_tokens", "whole number, got '64'"),
        ({"strategy": ["greedy"]}, "strategy", "must be one of"),
        ({"stop": 5}, "stop", "stop must be a string or a list of strings, got 5"),
        ({"stop": [5]}, "stop", "non-empty"),
        ({"stop": ["a"] * 9}, "stop", "stop allows at most 8 strings"),
        ({"stop": ["x\ud800"]}, "stop", "stop holds a lone surrogate (U+D800) at character 2, not text"),
        ({"stop": ["a\x00"]}, "stop", "stop holds the control character U+0000 at character 2"),
        ({"strategy": "constrained", "force_words": "x" * 201}, "force_words", "201 characters long"),
        ({"strategy": "constrained", "force_words": {"a": 1}}, "force_words", "string or a list of strings"),
        ({"strategy": "constrained", "force_one_of": [["ok", "\x1b[31m"]]}, "force_one_of", "U+001B"),
        ({"strategy": "constrained", "force_words": [None]}, "force_words", "non-empty phrases"),
        ({"strategy": "constrained", "force_words": ["rain", "sun", "rain"]}, "force_words", "listed once, got 'rain'"),
        ({"strategy": "speculative", "do_sample": "yes"}, "do_sample", "true or false"),
        ({"strategy": "speculative", "measure_speedup": 1}, "measure_speedup", "true or false"),
        ({"strategy": "speculative", "speedup_pairs": 0}, "speedup_pairs", ">= 1, got 0"),
        ({"strategy": "speculative", "speedup_pairs": 10}, "speedup_pairs", "<= 9, got 10"),
        ({"strategy": "x" * 10_000}, "strategy", "got 'xxxxxxxx"),
        ({"repetition_penalty": 100.0001}, "repetition_penalty", "must be <= 100, got 100.0001"),
        ({"max_new_tokens": float("inf")}, "max_new_tokens", "whole number, got inf"),
        ({"do_sample": "yes"}, "do_sample", "true or false"),  # checked whatever the strategy
    ],
)
def test_bad_values_name_field_and_value(changes, field, message):
    with pytest.raises(SettingsError) as err:
        Settings(**changes)
    assert err.value.field == field
    assert message in str(err.value)
    assert len(str(err.value)) < 300, "a message quotes at most the start of a huge value"


def test_text_with_tabs_newlines_and_right_to_left_marks_is_text():
    stops = ("\n\n", "\t", "\u200f\u05e9\u05dc\u05d5\u05dd", "zero\u200bwidth", "emoji 🎛️")
    assert Settings(stop=stops).stop == stops


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


@pytest.mark.parametrize("strategy", ["greedy", "sample", "beam", "speculative"])
def test_float_fields_take_whole_numbers_and_hold_floats(strategy):
    # JSON clients write 2 for 2.0; transformers' processors refuse an int where they take a float.
    whole = dict(temperature=2, top_p=1, min_p=0, typical_p=1, repetition_penalty=2, max_time=3, length_penalty=1)
    whole |= dict(epsilon_cutoff=0, eta_cutoff=0, mass_threshold=1, top_h=1)
    whole |= dict(top_n_sigma=2, smoothing_factor=1, smoothing_curve=3)
    whole |= dict(presence_penalty=1, frequency_penalty=-1, dry_multiplier=1, dry_base=2)
    whole |= dict(xtc_threshold=0, xtc_probability=1)
    whole |= dict(mirostat_tau=2, mirostat_eta=1)
    whole |= dict(dynatemp_range=1, dynatemp_exponent=2)
    settings = Settings(strategy=strategy, **whole)
    assert set(whole) == set(FLOAT_FIELDS)
    for name, value in whole.items():
        assert type(getattr(settings, name)) is float and getattr(settings, name) == value
    assert all(type(settings.to_dict()[name]) is float for name in whole)


@pytest.mark.parametrize("name", FLOAT_FIELDS)
@pytest.mark.parametrize("strategy", ["greedy", "sample", "beam"])
@pytest.mark.parametrize("value", [True, None, "1.0"])
def test_a_non_number_in_any_float_field_is_named_whatever_the_strategy(name, strategy, value):
    if value is None and name == "max_time":
        assert Settings(strategy=strategy, max_time=None).max_time is None  # None: the server's limit
        return
    with pytest.raises(SettingsError) as err:
        Settings(strategy=strategy, **{name: value})
    assert err.value.field == name and str(err.value) == f"{name} must be a number, got {value!r}"


def test_an_integer_too_large_for_a_float_is_named():
    with pytest.raises(SettingsError, match="repetition_penalty must be a finite number, got an integer of 1329 bits"):
        Settings(repetition_penalty=10**400)


def test_int_fields_take_whole_floats_and_hold_ints():
    # A browser's number box and some JSON writers send 50.0 for 50; 50.5 is refused (above).
    settings = Settings(
        strategy="beam", **{name: float(getattr(Settings(strategy="beam"), name)) for name in INT_FIELDS}
    )
    assert all(type(getattr(settings, name)) is int for name in INT_FIELDS)
    assert Settings(seed=2.0**62).seed == 2**62


@pytest.mark.parametrize("name", INT_FIELDS + BOOL_FIELDS)
@pytest.mark.parametrize("value", ["abc", [1], None])
def test_a_wrong_type_in_any_int_or_bool_field_is_named_whatever_the_strategy(name, value):
    """The settings are recorded in the trace, and may be run again with a strategy that reads the knob."""
    with pytest.raises(SettingsError) as err:
        Settings(strategy="greedy", **{name: value})
    assert err.value.field == name and f"got {value!r}" in str(err.value)
