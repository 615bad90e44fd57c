"""The Order family's own parts: the chain as the next run will apply it, read from the controls, and a picker whose
selection order is the sampler order, kept in step with the Sampler order box (the spelling /run and the command
line take, and what /generate reads).

The line and the picker's sync are pure functions of the controls' values (tested without a page); `build_order`
lays the parts out inside the Order accordion and `wire_order` connects them.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from playground import stages
from playground.plots.style import stage_label
from playground.settings import SettingsError
from playground.ui.controls import CONTROLS, make_settings, split_order
from playground.ui.event_options import INSTANT
from playground.ui.parts import Parts

FAMILY = "Order"  # the side column's family (playground.knobs.FAMILIES) these parts sit in
# The controls the chain depends on: whether the run samples, the order, and every stage's own knobs.
CHAIN_CONTROLS = tuple(
    name
    for name in CONTROLS
    if name in ("strategy", "do_sample", "sampler_order", "temperature_last")
    or any(name in spec.fields for spec in stages.CHAIN)
)
# Where the line builds the chain: no prompt and no end-of-sequence token, which only min_new_tokens reads (a knob
# of the command line and the API, never on the page, so its stage never shows here).
PAGE_WHERE = stages.Where(prompt_len=0, eos_ids=[], device=None)
# What follows the chain, by strategy (a sampling run's is the draw, whatever its strategy).
AFTER = {
    "greedy": "the most likely token is taken",
    "beam": "beam search keeps the best beams",
    "constrained": "beam search keeps the best beams that can still meet the constraints",
    "speculative": "the target checks the draft's tokens",
}
PICKER_CHOICES = [(stage_label(spec.name), spec.name) for spec in stages.CHAIN]


def chain_line(values: dict[str, Any]) -> str:
    """The chain as a run with the controls' `values` (named as in CONTROLS; those left out keep their defaults)
    will apply it, in its order, as Markdown; a value Settings refuses gives its message instead."""
    try:
        settings = make_settings(values)
        chain = stages.run_chain(settings, PAGE_WHERE)
    except SettingsError as exc:
        return f"**The chain cannot run:** {exc}"
    after = "a token is drawn" if settings.samples else AFTER[settings.strategy]
    names = " → ".join(stage_label(spec.name) for spec in chain)
    line = f"**As it runs:** {names}, then {after}." if chain else f"**As it runs:** no stage is on: {after}."
    # Stages whose knobs are set but that this strategy skips: a greedy run's Top-k 50 does nothing.
    idle = [spec for spec in stages.CHAIN if spec.sampling_only and not settings.samples]
    idle = [stage_label(spec.name) for spec in idle if spec.active(settings, PAGE_WHERE)]
    if idle:
        line += f" Set but used only when sampling: {', '.join(idle)}."
    return line


def picked_order(picked: Any) -> str:
    """The Sampler order box's text for the picker's selection (stage names in the order they were picked)."""
    return ";".join(picked or ())


def order_picks(text: Any) -> list[str]:
    """The picker's selection for the Sampler order box's `text`: its stages in order, each once, written as names
    or as the page labels them (`controls.split_order`); a word that is no stage is left to the box (the chain line
    names it)."""
    names = split_order(text or ())
    return list(dict.fromkeys(name for name in names if name in stages.BY_NAME))


def follow_box(text: Any, picked: Any) -> Any:
    """The picker's update when the box changed: its new selection, or none when it already shows it (the box had
    just been set from the picker itself, while a second pick may be on its way)."""
    picks = order_picks(text)
    return gr.update() if picks == list(picked or ()) else gr.update(value=picks)


def default_order() -> tuple[str, bool]:
    """Reset: the Sampler order box empty (the registry's order) and Temperature last off."""
    return "", False


def build_order(parts: Parts) -> None:
    """The chain line, then the picker and its Reset under it; the Order family's knobs follow (`page.knob_family`)."""
    parts.chain_line = gr.Markdown(chain_line({}), elem_id="chain-line")
    parts.order_picker = gr.Dropdown(
        PICKER_CHOICES, value=[], multiselect=True, label="Pick the order",
        info="Stages first to last, in the order you pick them; empty = the default order", elem_id="order-picker",
    )  # fmt: skip
    with gr.Row():  # the button at its own width, not stretched across the column
        parts.order_reset = gr.Button("Default order", size="sm", scale=0, min_width=140, elem_id="order-reset")


def wire_order(parts: Parts) -> list[Any]:
    """The chain line and the picker follow every control the chain reads (the picker only the Sampler order box);
    the picker writes the box; Reset empties it. Returns the events by which a person sets the order through these
    parts (the picker, Reset), which the preset's lesson must also follow."""
    controls = parts.controls
    box, last = controls["sampler_order"], controls["temperature_last"]

    def follow(*values: Any) -> tuple[str, Any]:
        *values, picked = values
        named = dict(zip(CHAIN_CONTROLS, values, strict=True))
        return chain_line(named), follow_box(named["sampler_order"], picked)

    # One event for both: Gradio sends a closed family's box a change again when another event answers into that
    # family, and two events answering each other's changes would never stop.
    gr.on(
        [controls[name].change for name in CHAIN_CONTROLS],
        follow,
        inputs=[*(controls[name] for name in CHAIN_CONTROLS), parts.order_picker],
        outputs=[parts.chain_line, parts.order_picker],
        preprocess=False,  # raw values, as a run reads them: Settings names a bad one
        trigger_mode="always_last",  # a preset changes many controls at once: one line for all of them
        **INSTANT,
    )
    picked = parts.order_picker.input(picked_order, inputs=[parts.order_picker], outputs=[box], **INSTANT)
    reset = parts.order_reset.click(default_order, outputs=[box, last], **INSTANT)
    return [picked, reset]
