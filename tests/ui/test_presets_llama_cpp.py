"""The "llama.cpp order" preset and the order's way in through the page and /run: the preset's chain is llama.cpp's
for the stages we have, its claim holds on the bundled model, and /run takes the order as a list or a string."""

import json

import gradio as gr
import pytest

from playground.engine import generate
from playground.knobs import BY_NAME, DEFAULT_ORDER
from playground.stages import BY_NAME as STAGES
from playground.ui.controls import control_values, make_control, make_settings
from playground.ui.presets import LLAMA_CPP_CHAIN, presets

PRESET = next(p for p in presets() if p.name == "llama.cpp order: temperature last")


def test_the_preset_sets_llama_cpps_chain_for_the_stages_we_have():
    order = PRESET.settings.sampler_order
    # Temperature last of the samplers llama.cpp chains; mirostat, which it runs instead of them, after it (ours runs
    # last), so that turning it on under this order is not refused.
    assert order == tuple(n for n in LLAMA_CPP_CHAIN if n in STAGES) and order[-2:] == ("temperature", "mirostat")
    assert {"repetition_penalty", "top_k", "typical_p", "top_p", "min_p"} <= set(order)
    shown = control_values(PRESET.settings, PRESET.prompt)["sampler_order"]
    assert shown == ";".join(order) and make_settings({"sampler_order": shown}).sampler_order == order


def test_the_page_control_is_a_text_box_showing_the_default_order():
    box = make_control(BY_NAME["sampler_order"], "", limits=None, models=[])
    assert isinstance(box, gr.Textbox) and box.placeholder == DEFAULT_ORDER
    assert DEFAULT_ORDER.startswith("repetition_penalty;") and make_settings({"sampler_order": ""}).sampler_order == ()


def kept(loaded, **changes) -> int:
    """Tokens left at the first step of the preset's run with `changes`."""
    settings = PRESET.settings.replace(max_new_tokens=1, **changes)
    return generate(loaded, PRESET.prompt, settings).steps[0].kept


def test_the_lessons_claim_filters_before_temperature_keep_the_same_tokens_at_any_temperature(bundled_fp32):
    llama = kept(bundled_fp32)
    assert llama == kept(bundled_fp32, temperature=0.5) == kept(bundled_fp32, temperature=1.0)
    assert kept(bundled_fp32, sampler_order=()) > llama  # transformers' order: min-p sees T 1.5's flatter tail


def test_run_takes_the_order_as_a_list_or_a_string_and_names_a_bad_one(runs):
    payload = {"prompt": "the cat", "chat": False, "max_new_tokens": 1, "strategy": "sample", "top_p": 0.9}
    for order in (["top_p", "top_k"], "top_p;top_k"):
        trace = json.loads(runs.api.run_json({**payload, "sampler_order": order}))
        assert list(trace["steps"][0]["candidates"][0]["probs"]) == ["raw", "top_p", "top_k", "final"]
    with pytest.raises(gr.Error, match="sampler_order: 'nucleus' is not a stage; the stages are "):
        runs.api.run_json({**payload, "sampler_order": "nucleus;top_k"})
    with pytest.raises(gr.Error, match="sampler_order must list each stage once, got 'top_k'"):
        runs.api.run_json({**payload, "sampler_order": ["top_k", "top_p", "top_k"]})
