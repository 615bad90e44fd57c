"""Mirostat reaches a run from every surface the knob table builds: the page's controls (shown for sampling only),
/run and the command line, with its notes in the trace; a bad value, or mirostat with speculative sampling, is
refused naming the knob (or its flag), while beam search simply does not apply it."""

import json

import gradio as gr
import pytest

from playground.knobs import BY_NAME
from playground.ui.controls import CONTROLS, make_settings
from tests.helpers import cli_refusal, cli_run

KNOBS = dict(mirostat=2, mirostat_tau=3.0, mirostat_eta=0.2)
STAGES = ["raw", "mirostat", "final"]
NOTE = {"mu", "kept", "surprise", "mu_after"}


def test_the_page_has_a_control_for_each_shown_for_sampling_only():
    assert set(KNOBS) <= set(CONTROLS)
    assert all(BY_NAME[name].used("sample") for name in KNOBS)
    assert all(BY_NAME[name].used("speculative", do_sample=True) for name in KNOBS)  # where it is refused by name
    assert not any(BY_NAME[name].used(strategy) for name in KNOBS for strategy in ("greedy", "beam", "speculative"))
    assert "llama.cpp" in BY_NAME["mirostat"].widget.info  # the page says what we do differently
    settings = make_settings({"strategy": "sample", **{k: float(v) for k, v in KNOBS.items()}})  # as a browser sends
    assert {name: getattr(settings, name) for name in KNOBS} == KNOBS and isinstance(settings.mirostat, int)


def test_run_json_applies_the_stage_and_names_a_bad_value(runs):
    payload = {"prompt": "the cat sat", "chat": False, "strategy": "sample", "top_k": 0, "max_new_tokens": 2}
    trace = json.loads(runs.api.run_json({**payload, **KNOBS}))
    assert {k: trace["settings"][k] for k in KNOBS} == KNOBS
    assert list(trace["steps"][0]["candidates"][0]["probs"]) == STAGES
    assert set(trace["steps"][0]["notes"]["mirostat"]) == NOTE and trace["steps"][0]["notes"]["mirostat"]["mu"] == 6
    with pytest.raises(gr.Error, match="mirostat_eta must be &gt; 0, got 0"):  # gr.Error escapes its message
        runs.api.run_json({**payload, "mirostat_eta": 0})
    with pytest.raises(gr.Error, match="mirostat must be 0 with speculative sampling: "):
        runs.api.run_json({**payload, **KNOBS, "strategy": "speculative", "do_sample": True})
    beam = json.loads(runs.api.run_json({**payload, **KNOBS, "strategy": "beam", "num_beams": 2}))
    # Beam search draws no token: like every sampling-only stage, mirostat is not applied, and nothing is refused.
    assert beam["settings"]["mirostat"] == 2 and beam["beams"]["sequences"]
    assert not any("mirostat" in (step.get("notes") or {}) for step in beam["steps"])


def test_the_command_line_takes_its_flags(tiny_dir, capsys):
    flags = ["--mirostat", "2", "--mirostat-tau", "3", "--mirostat-eta", "0.2", "--top-k", "0"]
    trace = cli_run(tiny_dir, capsys, flags)
    assert {k: trace.settings[k] for k in KNOBS} == KNOBS
    assert list(trace.steps[0].candidates[0].probs) == STAGES and set(trace.steps[0].notes["mirostat"]) == NOTE
    for bad, message in [
        (["--strategy", "sample", "--mirostat", "3"], "argument --mirostat: mirostat must be 0 (off), 1 or 2, got 3"),
        (["--strategy", "sample", "--mirostat-tau", "0"], "argument --mirostat-tau: mirostat_tau must be > 0, got 0"),
        (
            ["--strategy", "speculative", "--do-sample", "--mirostat", "1"],
            "argument --mirostat: mirostat must be 0 with speculative sampling",
        ),
    ]:
        assert message in cli_refusal(tiny_dir, capsys, bad)
