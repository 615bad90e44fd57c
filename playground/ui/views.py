"""What the view tabs show for a finished run: the figures of `playground.plots`, or why there is none."""

from __future__ import annotations

from typing import Any, NamedTuple

import gradio as gr

from playground.characters import candidate_text, pending_before
from playground.plots import acceptance_figure, beam_tree_figure, overview_figure, stage_figure, temperature_figure
from playground.plots.draft_tree import depth_figure, draft_tree_figure
from playground.plots.entropy_map import entropy_map_figure
from playground.plots.samples import continuations_figure, diversity_figure, samples_tree_figure
from playground.plots.style import placeholder, preview, show_token, stage_label
from playground.settings import AUTO, MEDUSA
from playground.trace import Candidate, ModelInfo, Trace
from playground.ui.tokens import others


def model_line(info: ModelInfo, load_s: float) -> str:
    """The page's model line: which model, at what precision, where, how big, how long it took to load."""
    return (
        f"**Model** `{info.id}` · {info.precision} · {info.device} · {info.memory_mb:.0f} MB · loaded in {load_s:.1f} s"
    )


def shown_model(trace: Trace | None) -> Any:
    """The model line for the run shown (unchanged when there is none)."""
    return gr.update() if trace is None else model_line(trace.model, trace.timing.load_s)


def step_view(trace: Trace | None, step: Any) -> tuple[Any, Any, Any]:
    """The stage-by-stage figure of one step (1-based, as the slider shows it), the tokens one could take there
    instead, and the step's candidates at several temperatures."""
    if trace is None or not trace.steps:
        empty = placeholder("Generate some text to see how each token was chosen.")
        return empty, take_choices(None, 0), empty
    index = min(max(int(step or 1), 1), len(trace.steps)) - 1
    return stage_figure(trace, index), take_choices(trace, index), temperature_figure(trace, index)


def take_choices(trace: Trace | None, index: int) -> Any:
    """The "Take instead" dropdown for 0-based step `index`: every recorded candidate but the one taken, most
    likely first (those a filter removed too: forcing one is an experiment worth making)."""
    if trace is None or not trace.steps:
        return gr.Dropdown(choices=[], value=None, interactive=False)
    pending = pending_before(trace.steps[:index])
    choices = [(_take_label(c, pending), c.id) for c in others(trace.steps[index])]
    return gr.Dropdown(choices=choices, value=choices[0][1] if choices else None, interactive=bool(choices))


def _take_label(candidate: Candidate, pending: bytes) -> str:
    removed = f", removed by {stage_label(candidate.removed_by)}" if candidate.removed_by else ""
    return f"{show_token(candidate_text(candidate, pending))}  (p = {candidate.probs.get('final', 0.0):.3f}{removed})"


class Views(NamedTuple):
    """What the view tabs show for a run, by name; the page wires each to the component of the same name."""

    step: Any  # the Step slider's update
    step_plot: Any  # that step's candidates at every stage
    take: Any  # the tokens one could take at that step instead (the "Take instead" dropdown)
    temperature_plot: Any  # that step's candidates at several temperatures
    overview_plot: Any  # every step's chosen probability and entropy
    beam_plot: Any  # the beam tree
    beam_all: Any  # whether it draws every pruned candidate (off for each new run)
    accept_plot: Any  # draft acceptance
    draft_round: Any  # the Round slider of a Medusa run's draft trees
    tree_plot: Any  # that round's draft tree
    depth_plot: Any  # acceptance by depth, tokens per pass against the tree's size
    reads: Any  # what the model reads: the prompt after the chat template, system prompt included
    entropy_map: Any  # every step's entropy against its varentropy, as Plotly JSON (the tab draws it)


def model_reads(trace: Trace | None) -> str:
    """The prompt as the model read it in the shown run (the chat template and its default system prompt
    included), empty before any run."""
    return "" if trace is None else trace.prompt.rendered


def all_views(trace: Trace | None) -> Views:
    """Every view of a finished run (or what each says when there is nothing to show)."""
    if trace is None or not trace.steps:
        empty = placeholder("Generate some text to see how each token was chosen.")
        return Views(
            gr.Slider(minimum=1, maximum=2, value=1),
            empty,
            take_choices(None, 0),
            empty,
            empty,
            _beam(trace),
            gr.Checkbox(value=False),
            _accept(trace),
            *_trees(trace),
            model_reads(trace),
            entropy_map_figure(trace).to_json(),
        )
    steps = len(trace.steps)
    first = trace.branch.at - 1 if trace.branch is not None else 0  # a branch opens at its branch point
    return Views(
        step=gr.Slider(minimum=1, maximum=max(steps, 2), value=first + 1, step=1, interactive=steps > 1),
        step_plot=stage_figure(trace, first),
        take=take_choices(trace, first),
        temperature_plot=temperature_figure(trace, first),
        overview_plot=overview_figure(trace),
        beam_plot=_beam(trace),
        beam_all=gr.Checkbox(value=False),
        accept_plot=_accept(trace),
        **dict(zip(("draft_round", "tree_plot", "depth_plot"), _trees(trace), strict=True)),
        reads=model_reads(trace),
        entropy_map=entropy_map_figure(trace).to_json(),
    )


def _beam(trace: Trace | None, show_all: bool = False) -> Any:
    if trace is None or trace.beams is None:
        return placeholder("Run beam search or constrained beam search to see the beam tree.")
    return beam_tree_figure(trace, show_all=show_all)


def beam_view(trace: Trace | None, show_all: Any) -> Any:
    """The beam tree with every pruned candidate drawn, or only those ranked near the top of their step."""
    return _beam(trace, bool(show_all))


def _accept(trace: Trace | None) -> Any:
    if trace is None or not trace.speculative:
        return placeholder("Run speculative decoding to see which draft tokens were accepted.")
    return acceptance_figure(trace)


def _medusa(trace: Trace | None) -> bool:
    """The run verified trees (Medusa heads, or the automatic draft, whose chains are trees of single children)."""
    return bool(trace is not None and trace.speculative and trace.speculative.draft.source in (MEDUSA, AUTO))


def _trees(trace: Trace | None) -> tuple[Any, Any, Any]:
    """The Round slider, the draft tree of the round where the most was accepted, and the depth view."""
    if not _medusa(trace):
        none = placeholder("Run speculative decoding with Medusa heads to see each round's draft tree.")
        return gr.Slider(minimum=1, maximum=2, value=1, interactive=False), none, none
    rounds = trace.speculative.rounds
    best = max(range(len(rounds)), key=lambda i: (rounds[i].tokens, -i))
    slider = gr.Slider(minimum=1, maximum=max(len(rounds), 2), value=best + 1, interactive=len(rounds) > 1)
    return slider, draft_tree_figure(trace, best), depth_figure(trace)


def tree_view(trace: Trace | None, round_number: Any) -> Any:
    """The draft tree of one round (1-based, as the slider shows it)."""
    if not _medusa(trace):
        return placeholder("Run speculative decoding with Medusa heads to see each round's draft tree.")
    return draft_tree_figure(trace, int(round_number or 1) - 1)


class SampleViews(NamedTuple):
    """What the Sample many tab shows, by name."""

    samples_plot: Any  # the samples' prefix tree
    continuations_plot: Any  # the distinct continuations by count, beside their probability
    diversity_plot: Any  # how much the samples differ at each position
    sample_pick: Any  # the samples one can open as a run of its own
    many_trace: Any  # the many-sample run these views show (a State)


def sample_views(trace: Trace | None) -> SampleViews:
    """The Sample many tab for the shown run: its figures when it is a many-sample run, what to do to get one
    when nothing has run yet, and, after any other run, what the tab already shows (a sample opened from it,
    or another run, leaves the samples in view)."""
    if trace is None:
        empty = placeholder('Press "Sample many" to draw many continuations at once.')
        return SampleViews(empty, empty, empty, gr.Dropdown(choices=[], value=None, interactive=False), None)
    if trace.samples is None:
        return SampleViews(*(gr.update() for _ in SampleViews._fields))
    picks = [(f"#{rank} (seed {sample.seed}): {preview(sample.text, 60, ' ⏎ ')}", sample.seed)
             for rank, sample in enumerate(trace.samples.samples, start=1)]  # fmt: skip
    return SampleViews(
        samples_tree_figure(trace),
        continuations_figure(trace),
        diversity_figure(trace),
        gr.Dropdown(choices=picks, value=picks[0][1], interactive=True),
        trace,
    )
