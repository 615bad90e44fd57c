"""What the view tabs show for a finished run: the figures of `playground.plots`, or why there is none."""

from __future__ import annotations

from typing import Any, NamedTuple

import gradio as gr

from playground.plots import acceptance_figure, beam_tree_figure, overview_figure, stage_figure
from playground.plots.style import placeholder
from playground.trace import Trace


def step_view(trace: Trace | None, step: Any) -> Any:
    """The stage-by-stage figure of one step (1-based, as the slider shows it)."""
    if trace is None or not trace.steps:
        return placeholder("Generate some text to see how each token was chosen.")
    index = min(max(int(step or 1), 1), len(trace.steps)) - 1
    return stage_figure(trace, index)


class Views(NamedTuple):
    """What the view tabs show for a run, by name; the page wires each to the component of the same name."""

    step: Any  # the Step slider's update
    step_plot: Any  # that step's candidates at every stage
    overview_plot: Any  # every step's chosen probability and entropy
    beam_plot: Any  # the beam tree
    accept_plot: Any  # draft acceptance


def all_views(trace: Trace | None) -> Views:
    """Every view of a finished run (or what each says when there is nothing to show)."""
    if trace is None or not trace.steps:
        empty = placeholder("Generate some text to see how each token was chosen.")
        return Views(gr.Slider(minimum=1, maximum=2, value=1), empty, empty, _beam(trace), _accept(trace))
    steps = len(trace.steps)
    return Views(
        step=gr.Slider(minimum=1, maximum=max(steps, 2), value=1, step=1, interactive=steps > 1),
        step_plot=stage_figure(trace, 0),
        overview_plot=overview_figure(trace),
        beam_plot=_beam(trace),
        accept_plot=_accept(trace),
    )


def _beam(trace: Trace | None) -> Any:
    if trace is None or trace.beams is None:
        return placeholder("Run beam search or constrained beam search to see the beam tree.")
    return beam_tree_figure(trace)


def _accept(trace: Trace | None) -> Any:
    if trace is None or not trace.speculative:
        return placeholder("Run speculative decoding to see which draft tokens were accepted.")
    return acceptance_figure(trace)
