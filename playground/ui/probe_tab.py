"""The "Token probe" tab: a word or a token id probed at every step of the shown run (its layout and events),
and the /probe endpoint.

The probe reads the shown run by teacher forcing with the run's own model, precision and stages
(`engine.probe`); Generate never pays for it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import gradio as gr

from playground.plots.probe import probe_figure
from playground.plots.style import show_token
from playground.trace import Probe, Trace
from playground.ui.event_options import MODEL_QUEUE, PRIVATE
from playground.ui.explain import explain
from playground.ui.status import status_line


class ProbeParts(NamedTuple):
    """The tab's components, by name."""

    word: Any  # the word or token id typed
    space: Any  # probe " word", as inside a sentence
    button: Any
    line: Any  # what was probed: its tokens, and how the other form splits
    plot: Any


def probe_tab() -> ProbeParts:
    """Lays out the tab (inside its gr.Tab) and returns its parts."""
    gr.Markdown(explain("probe"))
    with gr.Row(equal_height=True):
        word = gr.Textbox(label="Word or token id", placeholder="Paris, or 12366", scale=3, elem_id="probe-word")
        space = gr.Checkbox(True, label="After a space", info='Probe " word", as inside a sentence', scale=1,
                            elem_id="probe-space")  # fmt: skip
        button = gr.Button("Probe", variant="primary", scale=1, elem_id="probe")
    line = gr.Markdown(elem_id="probe-line")
    plot = gr.Plot(probe_figure(None, None), label="The probed token at every step", elem_id="probe-plot")
    return ProbeParts(word, space, button, line, plot)


def probe_line(probe: Probe, trace: Trace) -> str:
    """What was probed, over which run, and where it came closest to being taken."""
    pieces = " | ".join(show_token(piece) for piece in probe.pieces)
    stages = list(probe.steps[0].probs)
    best = max(probe.steps, key=lambda row: row.probs[stages[-1]])
    return (
        f"{probe.note}: {pieces} (ids {', '.join(map(str, probe.token_ids))}), over the run's {len(trace.steps)} "
        f"steps. Most likely at step {best.index + 1}: p = {best.probs[stages[-1]]:.3g} as drawn, rank "
        f"{best.ranks[stages[-1]]}."
    )


def wire_probe(tab: ProbeParts, last_trace: Any, runs: Any) -> None:
    """Probe (the shown run, the typed word) and /probe."""

    def probe_shown(trace: Any, word: Any, space: Any) -> tuple[Any, Any]:
        probe = runs.probes.probe(trace, word, bool(space))
        return status_line(probe_line(probe, trace)), probe_figure(probe, trace)

    options = dict(**PRIVATE, **MODEL_QUEUE)
    for event in (tab.button.click, tab.word.submit):
        event(probe_shown, inputs=[last_trace, tab.word, tab.space], outputs=[tab.line, tab.plot], **options)

    def probe(payload: str) -> str:
        """Probes a word or token id along a run (see JsonApi.probe_json)."""
        return runs.api.probe_json(payload)

    gr.api(probe, api_name="probe", **MODEL_QUEUE)
