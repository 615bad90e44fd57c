"""The page's controls: their values to Settings and back, the old /generate spelling, labels in errors."""

import re

import gradio as gr
import pytest

from playground.ui.controls import (
    CONTROLS,
    control_label,
    control_values,
    make_settings,
    split_phrases,
    split_sets,
    split_stops,
)
from playground.ui.presets import presets
from tests.ui.conftest import VALUES


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
    assert control_label("force_words") == "Forced words" and control_label("chat") == "Chat template"
    assert control_label("num_beams") == "Number of beams"
    assert control_label("temperature") is None and control_label("top_k") is None  # "Top-k" says top_k
    assert control_label("prompt") is None and control_label(None) is None


def test_text_inputs_are_split_into_phrases_sets_and_stop_strings():
    assert split_phrases("umbrella, rainy day\n\n old boot ") == ("umbrella", "rainy day", "old boot")
    assert split_sets("red | blue|green\n\nyes|no") == (("red", "blue", "green"), ("yes", "no"))
    assert split_sets("red || blue") == (("red", "", "blue"),)
    assert split_stops("\\n\\n\n the end\n\n") == ("\n\n", " the end")
    constrained = {"strategy": "constrained", "force_words": "umbrella", "force_one_of": "red | blue"}
    settings = make_settings({**VALUES, **constrained})
    assert settings.force_words == ("umbrella",) and settings.force_one_of == (("red", "blue"),)


@pytest.mark.parametrize("preset", presets(), ids=lambda p: p.name)
def test_every_preset_sets_the_controls_to_exactly_its_settings(preset):
    values = control_values(preset.settings, preset.prompt)
    assert set(values) == set(CONTROLS) - {"model", "precision"}
    assert make_settings(values) == preset.settings
    assert len(preset.lesson.split(". ")) >= 2, "a preset says what to look at"


@pytest.mark.parametrize("preset", [p for p in presets() if p.settings.strategy == "speculative"], ids=lambda p: p.name)
def test_speculative_lessons_point_to_the_speed_measured_here_and_promise_none(preset):
    """Whether a draft pays off depends on the machine: a lesson may only send a person to the measurement."""
    assert preset.settings.measure_speedup and "measured here" in preset.lesson
    hedges = ("depends", "only where", "whether", "measured here", "below 1x", "can beat")
    for sentence in re.split(r"(?<=\.) ", preset.lesson):
        if re.search(r"faster|speed|pays off", sentence):
            assert any(hedge in sentence for hedge in hedges), f"a promise of speed: {sentence!r}"


def test_another_allowlisted_model_can_be_the_draft_but_never_a_path(runs):
    other = {"strategy": "speculative", "draft_model": "org/small", "draft_precision": "nf4"}
    settings = make_settings({**VALUES, **other})
    assert (settings.draft_model, settings.draft_precision) == ("org/small", "nf4")
    assert control_values(settings, "hi")["draft_model"] == "org/small"
    assert make_settings(control_values(settings, "hi")) == settings
    assert make_settings({**VALUES, "strategy": "speculative", "draft_model": ""}).draft_model is None
    with pytest.raises(gr.Error, match="model '/etc' is not served here"):
        list(runs.page.generate({**VALUES, "strategy": "speculative", "draft_model": "/etc"}))


def test_the_old_generate_names_and_draft_values_still_work():
    old = {name: value for name, value in VALUES.items() if name not in ("chat", "draft_model", "draft_precision")}
    old |= dict(prompt_format="raw", strategy="constrained", forced_words="dog", one_of="red | blue", stop_strings="x")
    settings = make_settings(old)
    assert settings.chat is False and settings.force_words == ("dog",) and settings.force_one_of == (("red", "blue"),)
    assert settings.stop == ("x",)
    assert make_settings({**old, "draft": "fp32"}).draft_precision == "fp32"
    assert make_settings({**old, "draft": "fp32"}).draft_model is None
    via_model = make_settings({**old, "draft": "model:org/small"})
    assert (via_model.draft_model, via_model.draft_precision) == ("org/small", "bf16")
