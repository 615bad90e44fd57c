"""The presets' events, called directly: choosing one sets its controls and shows its lesson; moving a control
it set says so and offers Reset; Reset puts them back; a name that is no preset hides the lesson."""

import gradio as gr

from playground.ui.controls import control_values
from playground.ui.preset_events import PRESET_FIELDS, apply_preset, lesson_state
from playground.ui.presets import presets

LESSONS = {preset.name: preset for preset in presets()}
GREEDY = "Greedy loops and repeats"
QUANTIZED = next(name for name, preset in LESSONS.items() if preset.precision)


def as_set(lessons, name):
    """The Precision control's value and the other controls' values once `apply_preset` has run."""
    _, _, precision, *values = apply_preset(lessons, name)
    return precision.get("value", "fp32"), values


def test_choosing_a_preset_sets_the_controls_it_names_and_shows_the_lesson():
    chosen = LESSONS[GREEDY]
    lesson, reset, precision, *values = apply_preset(LESSONS, GREEDY)
    wanted = control_values(chosen.settings, chosen.prompt)
    assert values == [wanted[field] for field in PRESET_FIELDS] and "prompt" in PRESET_FIELDS
    assert "model" not in PRESET_FIELDS and "mass_depth" not in PRESET_FIELDS  # nor a view tab's control
    assert lesson == gr.update(value=f"**{GREEDY}.** {chosen.lesson}", visible=True)
    assert reset == gr.update(visible=False) and precision == gr.update()  # this lesson leaves Precision alone
    assert apply_preset(LESSONS, QUANTIZED)[2] == gr.update(value=LESSONS[QUANTIZED].precision)


def test_moving_a_control_the_preset_set_says_which_and_shows_reset():
    precision, values = as_set(LESSONS, GREEDY)
    lesson, reset = lesson_state(LESSONS, GREEDY, precision, *values)
    assert lesson == gr.update(value=f"**{GREEDY}.** {LESSONS[GREEDY].lesson}") and reset == gr.update(visible=False)
    moved = list(values)
    moved[PRESET_FIELDS.index("repetition_penalty")] = 1.3
    moved[PRESET_FIELDS.index("prompt")] = "another prompt"
    lesson, reset = lesson_state(LESSONS, GREEDY, "fp32", *moved)  # this preset set no precision: not "moved"
    assert lesson["value"].startswith(f"**{GREEDY}.** {LESSONS[GREEDY].lesson}\n\n")
    assert "*Changed since you chose it: Prompt, Repetition penalty. Where the lesson quotes" in lesson["value"]
    assert reset == gr.update(visible=True)


def test_moving_the_precision_a_preset_set_names_it_first():
    precision, values = as_set(LESSONS, QUANTIZED)
    other = "fp32" if precision != "fp32" else "bf16"
    moved = list(values)
    moved[PRESET_FIELDS.index("max_new_tokens")] = 3.0
    lesson, reset = lesson_state(LESSONS, QUANTIZED, other, *moved)
    assert "Changed since you chose it: Precision, Max new tokens." in lesson["value"] and reset["visible"]


def test_reset_puts_back_every_control_the_preset_set():
    precision, values = as_set(LESSONS, GREEDY)
    moved = [*values[:-1], "moved"]
    assert lesson_state(LESSONS, GREEDY, precision, *moved)[1] == gr.update(visible=True)
    _, reset, _, *again = apply_preset(LESSONS, GREEDY)  # what the Reset button runs
    assert again == values and reset == gr.update(visible=False)
    assert lesson_state(LESSONS, GREEDY, precision, *again)[1] == gr.update(visible=False)


def test_a_name_that_is_no_preset_hides_the_lesson_and_changes_no_control():
    for name in (None, "", "No such preset"):
        lesson, reset, precision, *values = apply_preset(LESSONS, name)
        assert lesson == reset == gr.update(visible=False) and precision == gr.update()
        assert values == [gr.update()] * len(PRESET_FIELDS)
        assert lesson_state(LESSONS, name, "fp32", *values) == (gr.update(), gr.update())
