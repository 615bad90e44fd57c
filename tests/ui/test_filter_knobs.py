"""Top-nσ and smoothing reach a run from every surface the knob table builds: the page's controls, /run and the
command line; a bad value is refused naming the knob (or its flag)."""

import json

import gradio as gr
import pytest

from playground.knobs import BY_NAME
from playground.ui.controls import CONTROLS, make_settings
from tests.helpers import cli_refusal, cli_run

FILTERS = dict(top_n_sigma=0.2, smoothing_factor=2.0, smoothing_curve=1.5)
STAGES = ["raw", "smoothing", "top_n_sigma", "final"]


def test_the_page_has_a_control_for_each_and_reads_it():
    assert set(FILTERS) <= set(CONTROLS)
    assert all(BY_NAME[name].used("sample") and not BY_NAME[name].used("greedy") for name in FILTERS)
    settings = make_settings({"strategy": "sample", **FILTERS})
    assert {name: getattr(settings, name) for name in FILTERS} == FILTERS


def test_run_json_applies_both_stages_and_names_a_bad_value(runs):
    payload = {"prompt": "the cat sat", "chat": False, "strategy": "sample", "top_k": 0, "max_new_tokens": 2}
    trace = json.loads(runs.api.run_json({**payload, **FILTERS}))
    assert {k: trace["settings"][k] for k in FILTERS} == FILTERS
    assert list(trace["steps"][0]["candidates"][0]["probs"]) == STAGES
    with pytest.raises(gr.Error, match=r"smoothing_curve must be &gt;= 1, got 0\.5"):
        runs.api.run_json({**payload, "smoothing_curve": 0.5})  # gr.Error escapes its message as HTML


def test_the_command_line_takes_their_flags(tiny_dir, capsys):
    flags = ["--top-n-sigma", "0.2", "--smoothing-factor", "2", "--smoothing-curve", "1.5", "--top-k", "0"]
    trace = cli_run(tiny_dir, capsys, flags)
    assert {k: trace.settings[k] for k in FILTERS} == FILTERS
    assert list(trace.steps[0].candidates[0].probs) == STAGES
    refused = cli_refusal(tiny_dir, capsys, ["--strategy", "sample", "--top-n-sigma", "-1"])
    assert "argument --top-n-sigma: top_n_sigma must be >= 0, got -1" in refused
