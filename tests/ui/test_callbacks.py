"""The page's event functions, called directly: control values to Settings, streamed triples, Stop, errors."""

import itertools
import json

import gradio as gr
import pytest

from playground.models import ModelLoadError
from playground.ui.callbacks import (
    CONTROLS,
    Runs,
    control_label,
    control_values,
    make_settings,
    split_phrases,
    split_sets,
    split_stops,
)
from playground.ui.presets import presets
from playground.ui.tokens import trace_html
from tests.tiny import make_tiny_model, wrap_loaded

# What the page sends for the tiny model: a browser sends whole numbers as floats.
VALUES = dict(
    model="tiny-random-llama",
    precision="fp32",
    prompt="the cat",
    prompt_format="raw",
    strategy="greedy",
    temperature=1.0,
    top_p=1.0,
    top_k=50.0,
    min_p=0.0,
    typical_p=1.0,
    repetition_penalty=1.0,
    no_repeat_ngram_size=0.0,
    max_new_tokens=8.0,
    seed=0.0,
    num_beams=4.0,
    length_penalty=1.0,
    num_return_sequences=1.0,
    forced_words="",
    one_of="",
    draft="bf16",
    num_draft_tokens=4.0,
    do_sample=False,
    measure_speedup=True,
    stop_strings="",
)


@pytest.fixture
def runs(tiny_tokenizer):
    # EOS almost never wins with this model (max_position_embeddings 512), so a long run goes on until stopped.
    model = make_tiny_model(tiny_tokenizer, seed=0, eos_boost=0.0)
    return Runs(["tiny-random-llama"], "fp32", wrap_loaded(model, tiny_tokenizer))


def test_values_cover_every_control():
    assert tuple(VALUES) == CONTROLS


def test_whole_floats_become_ints_and_fractions_are_named():
    settings = make_settings(VALUES)
    assert (settings.top_k, settings.max_new_tokens, settings.num_beams, settings.seed) == (50, 8, 4, 0)
    assert settings.chat is False
    with pytest.raises(ValueError, match=r"top_k must be a whole number, got 2\.5"):
        make_settings({**VALUES, "strategy": "sample", "top_k": 2.5})


def test_whole_numbers_in_float_controls_become_floats_and_booleans_are_named():
    whole = {**VALUES, "strategy": "sample", "temperature": 2, "top_p": 1, "repetition_penalty": 2, "min_p": 0}
    settings = make_settings(whole)
    assert all(type(getattr(settings, k)) is float for k in ("temperature", "top_p", "repetition_penalty", "min_p"))
    with pytest.raises(ValueError, match="repetition_penalty must be a number, got True"):
        make_settings({**VALUES, "repetition_penalty": True})


def test_errors_name_the_control_where_its_label_is_not_the_field_name():
    assert control_label("force_words") == "Forced words" and control_label("chat") == "Prompt format"
    assert control_label("num_beams") == "Number of beams"
    assert control_label("temperature") is None and control_label("top_k") is None  # "Top-k" says top_k
    assert control_label("prompt") is None and control_label(None) is None


def test_text_inputs_are_split_into_phrases_sets_and_stop_strings():
    assert split_phrases("umbrella, rainy day\n\n old boot ") == ("umbrella", "rainy day", "old boot")
    assert split_sets("red | blue|green\n\nyes|no") == (("red", "blue", "green"), ("yes", "no"))
    assert split_sets("red || blue") == (("red", "", "blue"),)
    assert split_stops("\\n\\n\n the end\n\n") == ("\n\n", " the end")
    settings = make_settings({**VALUES, "strategy": "constrained", "forced_words": "umbrella", "one_of": "red | blue"})
    assert settings.force_words == ("umbrella",) and settings.force_one_of == (("red", "blue"),)


@pytest.mark.parametrize("preset", presets(), ids=lambda p: p.name)
def test_every_preset_sets_the_controls_to_exactly_its_settings(preset):
    values = control_values(preset.settings, preset.prompt)
    assert set(values) == set(CONTROLS) - {"model", "precision"}
    assert make_settings(values) == preset.settings
    assert len(preset.lesson.split(". ")) >= 2, "a preset says what to look at"


def test_run_streams_html_and_status_then_the_trace(runs):
    triples = list(runs.generate(VALUES))
    assert all(trace is None for _, _, trace in triples[:-1])
    assert all(status.startswith("Generating… step ") for _, status, _ in triples[:-1])
    html, status, trace = triples[-1]
    assert html == trace_html(trace) and html.count('class="tok ') == len(trace.steps) == 8
    # While streaming, the Output only grows at its end (so Gradio can send it as a short diff).
    shown = [h for h, _, _ in triples]
    assert all(b.startswith(a) for a, b in itertools.pairwise(shown))
    assert status.startswith("tiny-random-llama fp32 · 8 tokens · ") and "tokens/s" in status
    assert status.endswith(("stopped: max new tokens reached", "stopped: end of sequence"))


def test_beam_search_streams_its_running_best_as_plain_text(runs):
    triples = list(runs.generate({**VALUES, "strategy": "beam", "num_beams": 3.0}))
    assert triples[0][0].startswith('<span class="plain">')
    assert triples[-1][2].beams is not None and 'data-step="0"' in triples[-1][0]


def test_stop_ends_the_run_at_its_next_step_and_keeps_the_trace(runs):
    values = {**VALUES, "max_new_tokens": 400.0}
    runs.arm("alice")
    run = runs.generate(values, session="alice")
    next(run)
    assert runs.stop("bob") is False  # another visitor's Stop does not touch this run
    assert runs.stop("alice") is True
    *_, (html, status, trace) = run
    assert trace.output.stop_reason == "cancelled" and status.endswith("stopped: stopped by you")
    assert len(trace.steps) < 400 and html == trace_html(trace)
    assert runs.stop("alice") is False


def test_stop_while_waiting_in_the_queue_means_the_run_never_starts(runs):
    runs.arm("carol")
    runs.stop("carol")
    assert list(runs.generate(VALUES, session="carol")) == [("", "Stopped before it started.", None)]


def test_an_abandoned_run_frees_the_model(runs):
    run = runs.generate({**VALUES, "max_new_tokens": 400.0}, session="dave")
    next(run)
    assert runs.default.lock.locked()
    run.close()  # what Gradio does when the browser tab closes
    assert not runs.default.lock.locked()
    assert runs.stop("dave") is False


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (dict(strategy="<b>beam</b>"), "strategy must be one of greedy, sample, beam, constrained, speculative, "
         "got '&lt;b&gt;beam&lt;/b&gt;'"),
        (dict(model="/etc/passwd"), "model '/etc/passwd' is not served here; choose one of: tiny-random-llama"),
        (dict(precision="fp8"), "precision 'fp8' is unknown"),
        (dict(prompt_format="markdown"), "Prompt format: prompt format must be chat or raw"),
        (dict(stop_strings=None, strategy="beam", num_return_sequences=9.0), "Return sequences: num_return_sequences"),
        (dict(prompt="  "), "prompt must not be empty"),
    ],
)  # fmt: skip
def test_bad_input_becomes_a_gradio_error_naming_it(runs, changes, message):
    with pytest.raises(gr.Error) as err:
        list(runs.generate({**VALUES, **changes}))
    assert message in err.value.message


def test_status_line_reports_constraints_and_draft_acceptance(runs):
    constrained = {**VALUES, "strategy": "constrained", "forced_words": "dog"}
    assert "· constraints met" in list(runs.generate(constrained))[-1][1]
    impossible = {**constrained, "forced_words": "elephant", "max_new_tokens": 2.0}
    assert "constraints NOT met" in list(runs.generate(impossible))[-1][1]
    speculative = {**VALUES, "strategy": "speculative", "draft": "prompt-lookup"}
    assert "of draft tokens accepted" in list(runs.generate(speculative))[-1][1]


def test_run_json_checks_the_model_against_the_allowlist(runs):
    assert '"schema"' in runs.run_json({"prompt": "the cat", "chat": False, "max_new_tokens": 3})
    with pytest.raises(gr.Error, match="not served here"):
        runs.run_json({"prompt": "the cat", "model": "gpt2"})
    with pytest.raises(gr.Error, match="unknown setting 'temprature'"):
        runs.run_json({"prompt": "the cat", "temprature": 0.5})


def test_run_json_takes_whole_numbers_where_floats_go(runs):
    payload = '{"prompt": "the cat sat", "chat": false, "max_new_tokens": 1, "repetition_penalty": 2}'
    trace = json.loads(runs.run_json(payload))
    assert trace["settings"]["repetition_penalty"] == 2.0 and len(trace["output"]["token_ids"]) == 1
    with pytest.raises(gr.Error, match="temperature must be a number, got True"):
        runs.run_json({"prompt": "the cat", "temperature": True})


def test_runs_load_refuses_before_loading_anything(runs):
    with pytest.raises(ModelLoadError, match="not served here"):
        runs.load("../models/secret", "fp32")
    assert runs.load("tiny-random-llama", "fp32") is runs.default


def test_a_tab_gets_one_run_at_a_time(runs):
    runs.arm("erin")
    with pytest.raises(gr.Error, match="This tab already has a run waiting or going"):
        runs.arm("erin")
    run = runs.generate({**VALUES, "max_new_tokens": 400.0}, session="erin")
    next(run)
    with pytest.raises(gr.Error, match="already has a run"):
        runs.arm("erin")
    runs.arm("frank")  # another tab is not held up
    runs.stop("erin")
    list(run)
    runs.arm("erin")  # free again once its run ended


def test_a_closed_tab_stops_its_run_and_is_forgotten(runs):
    runs.arm("gina")
    run = runs.generate({**VALUES, "max_new_tokens": 400.0}, session="gina")
    next(run)
    runs.forget("gina")  # what demo.unload does when the tab closes
    *_, (_, _, trace) = run
    assert trace.output.stop_reason == "cancelled"
    runs.arm("hank")
    runs.forget("hank")  # clicked, still queued, tab closed: nothing is left behind
    assert runs.stop("hank") is False


def test_run_json_never_loads_a_draft_from_a_path(runs):
    payload = {"prompt": "the cat", "strategy": "speculative", "draft_model": "/tmp/evil-model"}
    with pytest.raises(gr.Error, match="model '/tmp/evil-model' is not served here"):
        runs.run_json(payload)
    assert '"schema"' in runs.run_json({**payload, "draft_model": "prompt-lookup", "chat": False})


def test_an_unforeseen_failure_is_one_line_and_the_next_run_works(runs, monkeypatch, caplog):
    import playground.ui.callbacks as callbacks

    def broken(*args, **kwargs):
        raise RuntimeError("the kernel <fell> over")

    monkeypatch.setattr(callbacks, "stream", broken)
    with pytest.raises(gr.Error) as err:
        list(runs.generate(VALUES, session="ivy"))
    assert err.value.message == (
        "The run failed: RuntimeError: the kernel &lt;fell&gt; over. The details are in the server's log."
    )
    assert "a run failed" in caplog.text
    with pytest.raises(gr.Error, match="The run failed: RuntimeError"):
        runs.run_json({"prompt": "the cat"})
    monkeypatch.undo()
    assert list(runs.generate(VALUES, session="ivy"))[-1][2] is not None


def test_another_allowlisted_model_can_be_the_draft_but_never_a_path(runs):
    settings = make_settings({**VALUES, "strategy": "speculative", "draft": "model:org/small"})
    assert (settings.draft_model, settings.draft_precision) == ("org/small", "bf16")
    assert control_values(settings, "hi")["draft"] == "model:org/small"
    assert make_settings(control_values(settings, "hi")) == settings
    with pytest.raises(gr.Error, match="model '/etc' is not served here"):
        list(runs.generate({**VALUES, "strategy": "speculative", "draft": "model:/etc"}))
