"""/lens called directly: from settings or from a trace, the engine's lens of the step, and the errors it names."""

import json

import gradio as gr
import pytest

from playground.engine.logit_lens import lens_step
from playground.trace import Trace


def test_lens_from_settings_then_from_the_returned_trace(runs):
    trace = Trace.from_json(runs.api.run_json({"prompt": "the cat", "chat": False, "max_new_tokens": 4}))
    from_settings = json.loads(runs.api.lens_json({"prompt": "the cat", "chat": False, "max_new_tokens": 4}))
    expected = lens_step(runs.gate.default, trace, 1).to_dict()
    assert from_settings == {"output": trace.output.text, **expected}
    from_trace = json.loads(runs.api.lens_json(json.dumps({"trace": trace.to_dict(), "step": 3})))
    assert from_trace == {"output": trace.output.text, **lens_step(runs.gate.default, trace, 3).to_dict()}
    assert from_trace["first_top1_layer"] in (None, *range(1, from_trace["num_layers"] + 1))


def test_lens_names_what_is_wrong(runs):
    trace = json.loads(runs.api.run_json({"prompt": "the cat", "chat": False, "max_new_tokens": 2}))
    with pytest.raises(gr.Error, match="from 1 to 2, got 5"):
        runs.api.lens_json({"trace": trace, "step": 5})
    with pytest.raises(gr.Error, match=r"give only .step., not .*prompt"):
        runs.api.lens_json({"trace": trace, "prompt": "x"})
    with pytest.raises(gr.Error, match="is not a trace"):
        runs.api.lens_json({"trace": {"schema": "nope"}})
    with pytest.raises(gr.Error, match="not served here"):
        runs.api.lens_json({"trace": {**trace, "model": {**trace["model"], "id": "gpt2"}}})
