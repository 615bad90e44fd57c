"""XTC reaches a run from every surface the knob table builds: the page's controls, /run and the command line; a
bad value is refused naming the knob (or its flag), a threshold above 0.5 saying why."""

import json

import gradio as gr
import pytest

from playground.knobs import BY_NAME
from playground.settings import Settings, SettingsError
from playground.ui.controls import CONTROLS, make_settings
from playground.ui.explain import explanations
from tests.helpers import cli_refusal, cli_run

XTC = dict(xtc_probability=0.5, xtc_threshold=0.02)
STAGES = ["raw", "temperature", "xtc", "final"]


def test_the_page_has_a_control_for_each_and_reads_it():
    assert set(XTC) <= set(CONTROLS)
    assert all(BY_NAME[name].used("sample") and not BY_NAME[name].used("greedy") for name in XTC)
    settings = make_settings({"strategy": "sample", **XTC})
    assert {name: getattr(settings, name) for name in XTC} == XTC


def test_the_threshold_says_its_control_stops_where_settings_stop_and_that_more_is_refused():
    widget = BY_NAME["xtc_threshold"].widget
    top = widget.maximum
    _, body = explanations()["xtc_threshold"]
    assert f"the control stops at {top:g}, and /run and the command line refuse a higher value" in body
    assert f"stops at {top:g}" in widget.info
    assert Settings(strategy="sample", xtc_probability=0.5, xtc_threshold=top).xtc_threshold == top
    with pytest.raises(SettingsError, match=r"xtc_threshold must be at most 0\.5 when XTC is on"):
        Settings(strategy="sample", xtc_probability=0.5, xtc_threshold=top + 0.01)


def test_run_json_applies_xtc_with_its_notes_and_names_a_bad_value(runs):
    payload = {"prompt": "the cat sat", "chat": False, "strategy": "sample", "temperature": 0.3, "top_k": 0}
    trace = json.loads(runs.api.run_json({**payload, **XTC, "max_new_tokens": 3}))
    assert {k: trace["settings"][k] for k in XTC} == XTC
    assert list(trace["steps"][0]["candidates"][0]["probs"]) == STAGES
    assert all(isinstance(step["notes"]["xtc"]["fired"], bool) for step in trace["steps"])
    with pytest.raises(gr.Error, match=r"xtc_threshold must be at most 0\.5 when XTC is on"):
        runs.api.run_json({**payload, **XTC, "xtc_threshold": 0.7})


def test_the_command_line_takes_their_flags(tiny_dir, capsys):
    flags = ["--xtc-probability", "0.5", "--xtc-threshold", "0.02", "--temperature", "0.3", "--top-k", "0"]
    trace = cli_run(tiny_dir, capsys, flags, max_new_tokens=3)
    assert {k: trace.settings[k] for k in XTC} == XTC
    assert list(trace.steps[0].candidates[0].probs) == STAGES
    assert all("fired" in step.notes["xtc"] for step in trace.steps)
    refused = cli_refusal(tiny_dir, capsys, ["--strategy", "sample", "--xtc-probability", "1.5"])
    assert "argument --xtc-probability: xtc_probability must be <= 1, got 1.5" in refused
