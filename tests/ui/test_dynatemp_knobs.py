"""Dynamic temperature reaches a run from every surface the knob table builds: the page's controls, /run and the
command line, where the run records it under its name with its T; a bad value is refused naming the knob (or its
flag)."""

import json

import gradio as gr
import pytest

from playground.knobs import BY_NAME
from playground.ui.controls import CONTROLS, make_settings
from tests.helpers import cli_refusal, cli_run

DYNATEMP = dict(dynatemp_range=0.5, dynatemp_exponent=2.0)
STAGES = ["raw", "dynatemp", "final"]  # the temperature (0.8 below) is its centre, no stage of its own


def test_the_page_has_a_control_for_each_and_reads_it():
    assert set(DYNATEMP) <= set(CONTROLS)
    assert all(BY_NAME[name].used("sample") and not BY_NAME[name].used("greedy") for name in DYNATEMP)
    settings = make_settings({"strategy": "sample", **DYNATEMP})
    assert {name: getattr(settings, name) for name in DYNATEMP} == DYNATEMP


def test_run_json_applies_it_notes_t_and_names_a_bad_value(runs):
    payload = {"prompt": "the cat sat", "chat": False, "strategy": "sample", "top_k": 0, "max_new_tokens": 2,
               "temperature": 0.8}  # fmt: skip
    trace = json.loads(runs.api.run_json({**payload, **DYNATEMP}))
    assert {k: trace["settings"][k] for k in DYNATEMP} == DYNATEMP
    assert list(trace["steps"][0]["candidates"][0]["probs"]) == STAGES
    assert 0.3 <= trace["steps"][0]["notes"]["dynatemp"]["T"] <= 1.3
    with pytest.raises(gr.Error, match=r"dynatemp_exponent must be &gt; 0, got 0"):
        runs.api.run_json({**payload, "dynatemp_range": 0.5, "dynatemp_exponent": 0})


def test_the_command_line_takes_their_flags(tiny_dir, capsys):
    flags = ["--dynatemp-range", "0.5", "--dynatemp-exponent", "2", "--temperature", "0.8", "--top-k", "0"]
    trace = cli_run(tiny_dir, capsys, flags)
    assert {k: trace.settings[k] for k in DYNATEMP} == DYNATEMP
    assert list(trace.steps[0].candidates[0].probs) == STAGES
    assert all("T" in step.notes["dynatemp"] for step in trace.steps)
    refused = cli_refusal(tiny_dir, capsys, ["--strategy", "sample", "--dynatemp-range", "-1"])
    assert "argument --dynatemp-range: dynatemp_range must be >= 0, got -1" in refused
