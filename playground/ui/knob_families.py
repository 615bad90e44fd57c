"""The side column's families of knobs (`playground.knobs.FAMILIES`), each an accordion: which knobs each holds, and
which closed ones open by themselves, so that a preset or a loaded run that sets an expert knob (the llama.cpp
order, DRY's base) shows it rather than hiding it in a closed family. `page.build_knobs` lays them out.
"""

from __future__ import annotations

import re
from typing import Any

import gradio as gr

from playground.knobs import FAMILIES, PAGE_KNOBS, Family, Knob
from playground.ui.controls import page_defaults
from playground.ui.event_options import INSTANT
from playground.ui.parts import Parts


def side_knobs() -> list[Knob]:
    """The knobs of the side column, in table order (the rest sit beside the prompt or in a view tab)."""
    return [knob for knob in PAGE_KNOBS if knob.widget.side and not knob.widget.tab]


def drawn_families() -> list[tuple[Family, list[Knob]]]:
    """The families the side column draws, top to bottom, each with its knobs in table order; a family no knob names
    yet is left out."""
    knobs = side_knobs()
    members = [(family, [knob for knob in knobs if knob.widget.family == family.name]) for family in FAMILIES]
    return [(family, knobs) for family, knobs in members if knobs]


def family_id(name: str) -> str:
    """The accordion's element id: "Temperature and shape" -> "family-temperature-and-shape"."""
    return "family-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def families_to_open(values: dict[str, Any]) -> list[str]:
    """The closed-by-default families holding a knob whose control value (`values`, by knob name) differs from the
    value the page opens with."""
    defaults = page_defaults()
    return [
        family.name
        for family, knobs in drawn_families()
        if not family.open and any(knob.name in values and values[knob.name] != defaults[knob.name] for knob in knobs)
    ]


def open_set_families(parts: Parts, events: list[Any]) -> None:
    """After each of `events` (which set controls: a preset, a loaded run), the families holding a knob it set away
    from the page's default open; the others stay as the person left them."""
    closed = [(family, knobs) for family, knobs in drawn_families() if not family.open]
    names = [knob.name for _, knobs in closed for knob in knobs]

    def open_families(*values: Any) -> dict[Any, Any]:
        # Only the families to open are named: the others keep what a person did with them.
        opened = families_to_open(dict(zip(names, values, strict=True)))
        return {parts.families[name]: gr.update(open=True) for name in opened}

    for event in events:
        event.then(
            open_families,
            inputs=[parts.controls[name] for name in names],
            outputs=[parts.families[family.name] for family, _ in closed],
            **INSTANT,
        )
