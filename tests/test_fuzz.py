"""Property-based fuzzing of every way settings come in: whatever a client sends, the answer is a result or a
message naming what is wrong (SettingsError, gr.Error), never another exception, a hang or a dead worker."""

import json
import math
import os
from pathlib import Path

import gradio as gr
import pytest
from hypothesis import HealthCheck, assume, event, example, given, settings
from hypothesis import strategies as st

from playground.knobs import KNOBS
from playground.settings import STRATEGIES, Settings, SettingsError
from playground.trace import STOP_REASONS
from playground.ui.controls import CONTROLS, make_settings
from playground.ui.runs import Runs
from tests.helpers import run as generate
from tests.tiny import make_tiny_model, make_tiny_tokenizer, wrap_loaded

# Every knob a payload may set (a draft model other than prompt lookup would be loaded from the path sent).
FIELDS = [knob.name for knob in KNOBS if knob.name != "draft_model"]

# Everything a JSON client or a careless caller can send: odd numbers, odd text, wrong types.
numbers = st.one_of(
    st.integers(-(2**70), 2**70),
    st.integers(0, 12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(0.0, 2.0),
)
texts = st.one_of(st.text(max_size=12), st.text(st.characters(codec=None), max_size=6), st.sampled_from(["", " "]))
scalars = st.one_of(numbers, texts, st.booleans(), st.none(), st.sampled_from([*STRATEGIES, "never", "adaptive"]))
values = st.one_of(scalars, st.lists(scalars, max_size=3), st.lists(st.lists(texts, max_size=3), max_size=2))
words = st.text("abcdefghij ", min_size=1, max_size=6)
# Plausible settings, so that many runs get past validation and exercise the strategies themselves.
plausible = st.fixed_dictionaries(
    {"strategy": st.sampled_from(STRATEGIES), "max_new_tokens": st.integers(1, 6)},
    optional={
        "temperature": st.floats(0.1, 2.0),
        "top_k": st.integers(0, 60),
        "top_p": st.floats(0.05, 1.0),
        "min_p": st.floats(0.0, 0.5),
        "typical_p": st.floats(0.05, 1.0),
        "epsilon_cutoff": st.floats(0.0, 0.2),
        "eta_cutoff": st.floats(0.0, 0.5),
        "repetition_penalty": st.floats(0.5, 2.0),
        "no_repeat_ngram_size": st.integers(0, 4),
        "stop": st.lists(words, max_size=2),
        "seed": st.integers(0, 2**63 - 1),
        "num_beams": st.integers(2, 3),
        "length_penalty": st.floats(-2.0, 2.0),
        "early_stopping": st.sampled_from([True, False, "never"]),
        "num_return_sequences": st.integers(1, 2),
        "force_words": st.lists(words, min_size=1, max_size=2),
        "force_one_of": st.lists(st.lists(words, min_size=1, max_size=3), max_size=2),
        "draft_model": st.sampled_from([None, "prompt-lookup"]),
        "prefix_ids": st.lists(st.integers(0, 100), max_size=4),
        "draft_precision": st.sampled_from(["fp32", "bf16"]),
        "num_draft_tokens": st.integers(1, 5),
        "draft_schedule": st.sampled_from(["constant", "adaptive"]),
        "prompt_lookup_ngram": st.integers(1, 4),
        "do_sample": st.booleans(),
        "measure_speedup": st.booleans(),
        "top_n": st.integers(1, 30),
        "chat": st.sampled_from([False, None]),
    },
)
wild = st.dictionaries(st.sampled_from([*FIELDS, "temprature", "prompt"]), values, max_size=3)
# Half plausible, half plausible with up to three fields replaced by anything at all.
payloads = st.one_of(plausible, st.builds(lambda base, odd: {**base, **odd}, plausible, wild))


@pytest.fixture(scope="module")
def tiny():
    tokenizer = make_tiny_tokenizer()
    return wrap_loaded(make_tiny_model(tokenizer, seed=0), tokenizer)


@pytest.fixture(autouse=True)
def small_server(monkeypatch):
    # Server limits a fuzzer cannot get past, so every valid run is short; the Hub is never asked.
    monkeypatch.setenv("PLAYGROUND_MAX_NEW_TOKENS", "6")
    monkeypatch.setenv("PLAYGROUND_MAX_BEAMS", "3")
    monkeypatch.setenv("PLAYGROUND_MAX_TIME", "5")
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


def check_trace(trace, chosen: Settings) -> None:
    assert trace.output.stop_reason in STOP_REASONS
    # A branch's forced tokens come first; max_new_tokens (at most 6 here) counts the tokens after them.
    forced = list(chosen.prefix_ids)
    assert trace.output.token_ids[: len(forced)] == forced
    assert 1 <= len(trace.output.token_ids) <= len(forced) + chosen.max_new_tokens <= len(forced) + 6
    assert all(0.0 <= step.chosen.prob <= 1.0 and math.isfinite(step.entropy) for step in trace.steps)
    json.loads(trace.to_json())  # always exportable
    trace.validate()  # and fits its own format: a step per token, probabilities, ranks, stage names


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=payloads, prompt=st.one_of(texts, st.just("the cat sat")))
# Found here: an integer in a float field reached transformers, which refused it ("penalty ... is 2").
@example(payload={"strategy": "greedy", "max_new_tokens": 1, "repetition_penalty": 2}, prompt="the cat sat")
@example(payload={"strategy": "sample", "max_new_tokens": 1, "temperature": 2, "top_p": 1}, prompt="the cat sat")
# Found here: None in a float field the strategy does not use was not refused and reached a range check.
@example(payload={"strategy": "greedy", "max_new_tokens": 1, "repetition_penalty": None}, prompt="the cat sat")
@example(payload={"strategy": "greedy", "max_new_tokens": 1, "temperature": None}, prompt="the cat sat")
# Found here: a temperature or repetition penalty near zero overflowed the logits (NaN probabilities).
@example(
    payload={"strategy": "sample", "max_new_tokens": 1, "temperature": 2.0233739799209883e-137}, prompt="the cat sat"
)
@example(payload={"strategy": "greedy", "max_new_tokens": 2, "repetition_penalty": 1e-137}, prompt="the cat sat")
# Found here: a branch's forced tokens come on top of max_new_tokens.
@example(payload={"strategy": "greedy", "max_new_tokens": 3, "prefix_ids": [0, 0, 0, 0]}, prompt="the cat sat")
# Found here: beams follow the penalized scores, candidates are ranked without penalties, so a penalty below 1
# let a beam take a token its step had not recorded.
@example(
    payload={"strategy": "beam", "max_new_tokens": 1, "chat": False, "top_n": 1, "repetition_penalty": 0.5},
    prompt="0",
)
def test_settings_and_runs_either_work_or_name_the_field(tiny, payload, prompt):
    payload.pop("prompt", None)
    try:
        chosen = Settings.from_dict(payload)
    except SettingsError as exc:
        assert exc.field and str(exc)
        event("refused by Settings")
        return
    try:
        trace = generate(tiny, prompt, chosen)
    except SettingsError as exc:
        assert exc.field and str(exc)
        event(f"refused at run time: {exc.field}")
        return
    check_trace(trace, chosen)
    event(f"ran {chosen.strategy}")


def as_json(payload: object) -> str | None:
    """The payload as JSON text, or None where JSON cannot spell it."""
    try:
        return json.dumps(payload)
    except (ValueError, TypeError):
        return None


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.one_of(payloads, values), raw=st.booleans())
def test_the_run_endpoint_answers_every_payload_with_a_trace_or_a_message(tiny, payload, raw):
    runs = Runs(["tiny-random-llama"], "fp32", tiny)
    if isinstance(payload, dict):
        payload = {"prompt": "the cat", "chat": False, **payload}
    sent = as_json(payload) if raw else payload
    assume(sent is not None or not raw)  # an object JSON cannot spell is no payload a client can send
    try:
        trace = json.loads(runs.api.run_json(sent))
    except gr.Error as exc:
        assert isinstance(exc.message, str) and exc.message and "<" not in exc.message
        event("refused")
        return
    assert trace["output"]["stop_reason"] in STOP_REASONS
    event("ran")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(controls=st.fixed_dictionaries({name: values for name in CONTROLS}))
def test_the_page_controls_either_make_settings_or_name_the_control(controls):
    try:
        make_settings(controls)
    except SettingsError as exc:
        assert exc.field and str(exc)


def test_ci_runs_the_same_examples_every_time():
    # .ci/run names the derandomized profile itself (not every CI system exports CI=true); tests/conftest.py
    # loads the profile HYPOTHESIS_PROFILE names, else "ci" under CI=true, else "dev" (a local run searches
    # afresh).
    assert "export HYPOTHESIS_PROFILE=ci" in (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert settings.get_profile("ci").derandomize and settings.get_profile("ci").database is None
    expected = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
    assert settings.get_current_profile_name() == expected
    if expected == "ci":  # as under .ci/run: the examples this run searches are the ones every CI run searches
        assert settings.default.derandomize and settings.default.database is None
