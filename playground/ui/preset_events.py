"""What choosing a preset does to the page: it sets the controls it names and shows its lesson; once a person
moves one of those controls the lesson says which moved, and "Reset to the preset" puts them back.

The events' work is pure functions of the presets and the controls' values (tested without a page); `wire_presets`
connects them to the page.
"""

from __future__ import annotations

import functools
from typing import Any

import gradio as gr

from playground.knobs import BY_NAME
from playground.ui.controls import CONTROLS, control_values
from playground.ui.event_options import INSTANT
from playground.ui.parts import Parts
from playground.ui.presets import Preset

# A preset sets every control but the model (and the precision, where it says) and those of the view tabs.
PRESET_FIELDS = [name for name in CONTROLS[2:] if name == "prompt" or not BY_NAME[name].widget.tab]


def apply_preset(lessons: dict[str, Preset], name: str | None) -> tuple[Any, ...]:
    """Choosing preset `name` (or pressing Reset): (the lesson, the Reset button, the Precision control, one
    value per `PRESET_FIELDS`). The lesson shows and Reset hides; a name that is no preset hides both and
    changes no control."""
    if name not in lessons:
        return (
            gr.update(visible=False),
            gr.update(visible=False),
            gr.update(),
            *(gr.update() for _ in PRESET_FIELDS),
        )
    chosen = lessons[name]
    values = control_values(chosen.settings, chosen.prompt)
    precision = gr.update(value=chosen.precision) if chosen.precision else gr.update()
    lesson = gr.update(value=lesson_text(name, chosen), visible=True)
    return (lesson, gr.update(visible=False), precision, *(values[f] for f in PRESET_FIELDS))


def lesson_state(lessons: dict[str, Preset], name: str | None, precision: Any, *values: Any) -> tuple[Any, Any]:
    """The lesson's text and the Reset button after a person moved a control (`precision`, then one value per
    `PRESET_FIELDS`): marked as no longer describing the page once a control the preset set has moved."""
    if name not in lessons:
        return gr.update(), gr.update()
    chosen = lessons[name]
    moved = moved_controls(chosen, precision, values)
    if not moved:
        return gr.update(value=lesson_text(name, chosen)), gr.update(visible=False)
    # The lesson stays readable: many ask the reader to move a control, and following one is no mistake.
    note = (f"{lesson_text(name, chosen)}\n\n*Changed since you chose it: {', '.join(moved)}. Where the "
            "lesson quotes what the preset gives, that is with its own settings.*")  # fmt: skip
    return gr.update(value=note), gr.update(visible=True)


def moved_controls(chosen: Preset, precision: Any, values: tuple[Any, ...]) -> list[str]:
    """The labels of the controls that no longer hold what `chosen` set (`values`: one per `PRESET_FIELDS`),
    Precision first where the preset set it."""
    wanted = control_values(chosen.settings, chosen.prompt)
    moved = [
        BY_NAME[field].label if field in BY_NAME else field.capitalize()
        for field, value in zip(PRESET_FIELDS, values, strict=True)
        if value != wanted[field]
    ]
    if chosen.precision and precision != chosen.precision:
        moved.insert(0, "Precision")
    return moved


def lesson_text(name: str, chosen: Preset) -> str:
    """The lesson as the page shows it: the preset's name in bold, then what to look at."""
    return f"**{name}.** {chosen.lesson}"


def wire_presets(parts: Parts, lessons: dict[str, Preset], setters: list[Any]) -> list[Any]:
    """The Preset dropdown and Reset set the controls (`apply_preset`); a person's change of one of them, or
    `setters` (events by which a person sets controls through other parts, such as the order picker), update the
    lesson (`lesson_state`). Returns the two events that set the controls."""
    controls = parts.controls
    outputs = [parts.lesson, parts.reset_preset, controls["precision"], *(controls[n] for n in PRESET_FIELDS)]
    applied = [
        trigger(functools.partial(apply_preset, lessons), inputs=[parts.preset], outputs=outputs, **INSTANT)
        for trigger in (parts.preset.change, parts.reset_preset.click)
    ]
    watched = [controls["precision"], *(controls[n] for n in PRESET_FIELDS)]
    # `input`: a person's change only, not the preset's own setting of the controls.
    for trigger in (*(control.input for control in watched), *(setter.then for setter in setters)):
        trigger(
            functools.partial(lesson_state, lessons),
            inputs=[parts.preset, *watched],
            outputs=[parts.lesson, parts.reset_preset],
            **INSTANT,
        )
    return applied
