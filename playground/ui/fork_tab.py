"""The "Where does the answer fork?" tab: its layout (the analysis' knobs, the outcome rule and the rule in force in
words, Run and Stop, a status line, o_t over the run as stacked bands, one position's branches) and its events,
and the /fork endpoint.

Run analyses the shown run with its own model, precision and settings, streaming its progress; Stop keeps what was
computed. The figure is drawn in the browser with plotly.js (gr.Plot cannot send a click back): a click on a
position opens its step in Token distributions, as a click on the entropy map does, and lists its branches here.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Iterator
from typing import Any, NamedTuple

import gradio as gr

from playground.fork.outcome import RULES
from playground.fork.request import ForkRequest
from playground.fork.result import ForkAnalysis
from playground.plots.forks import fork_figure
from playground.trace import Trace
from playground.ui.event_options import INSTANT, MODEL_QUEUE, PRIVATE
from playground.ui.explain import explain
from playground.ui.fork_view import PICK, analysis_line, branches_html, position_of, progress_line, rule_line
from playground.ui.forks import FIELDS, LABELS
from playground.ui.run_views import clickable_plot_js

TAB_ID = "fork"
LABEL = "Where does the answer fork?"
WAITING = "Press Run the forking analysis: it samples continuations at the shown run's positions."
# A click on a bar or a change point sends its position's step (0-based, customdata) as a select event's index.
FORK_JS = clickable_plot_js(
    ".fork-plot", "      trigger('select', {index: Number(point.customdata[0]), value: point.x, selected: true});"
)
INFO = {
    "samples": "N continuations per branch",
    "alternatives": "Top tokens sampled besides the run's own",
    "stride": "1: every position",
    "max_positions": "Positions analysed at most",
    "max_new_tokens": "Tokens per continuation",
    "threshold": "TV distance that marks a change point",
}


class ForkParts(NamedTuple):
    """The tab's components, by name."""

    knobs: dict[str, Any]  # one control per ForkRequest field (`forks.FIELDS`)
    rule_line: Any  # the outcome rule in force, in words
    button: Any  # Run the forking analysis
    stop: Any
    status: Any  # progress while it runs; then the analysis' line (and whether it was stopped)
    plot: Any  # o_t as stacked bands (Plotly JSON, drawn by FORK_JS)
    branches: Any  # the clicked position's branches and samples
    analysis: Any  # (run_id, ForkAnalysis) shown (State)


def fork_tab() -> ForkParts:
    """Lays out the tab (inside its gr.Tab) and returns its parts."""
    gr.Markdown(explain("fork"))
    defaults = {field.name: field.default for field in dataclasses.fields(ForkRequest)}
    knobs: dict[str, Any] = {}
    with gr.Row(equal_height=True):
        for name in FIELDS[:6]:
            knobs[name] = gr.Number(defaults[name], label=LABELS[name], info=INFO[name], elem_id=f"fork-{name}")
    with gr.Row(equal_height=True):
        knobs["rule"] = gr.Dropdown(list(RULES), value=defaults["rule"], label=LABELS["rule"], scale=1,
                                    elem_id="fork-rule")  # fmt: skip
        knobs["pattern"] = gr.Textbox(defaults["pattern"], label=LABELS["pattern"], scale=2, elem_id="fork-pattern",
                                      placeholder="the marker (Answer:) or a regular expression")  # fmt: skip
    line = gr.Markdown(rule_line("auto", "", ""), elem_id="fork-rule-line")
    with gr.Row():
        button = gr.Button("Run the forking analysis", variant="primary", scale=3, elem_id="fork-run")
        stop = gr.Button("Stop", variant="stop", scale=1, elem_id="fork-stop")
    status = gr.Markdown(WAITING, elem_id="fork-status")
    plot = gr.HTML(
        fork_figure(None, []).to_json(), html_template='<div class="fork-plot"></div>', js_on_load=FORK_JS,
        label="The outcome's distribution o_t at each position", show_label=True, container=True, elem_id="fork-plot",
    )  # fmt: skip
    branches = gr.HTML(branches_html(None, None), elem_id="fork-branches")
    return ForkParts(knobs, line, button, stop, status, plot, branches, gr.State(None, time_to_live=7200))


def shown_rule(trace: Any, kind: Any, pattern: Any) -> str:
    """The rule line for the shown run's prompt (the auto rule reads it)."""
    return rule_line(kind, pattern, trace.prompt.text if isinstance(trace, Trace) else "")


def analysed(trace: Trace, analysis: ForkAnalysis) -> tuple[str, str, str, tuple[str, ForkAnalysis]]:
    """What the tab shows of a finished (or stopped) analysis of `trace`: status line, figure, branches, state."""
    texts = [step.chosen.text for step in trace.steps]
    shown = (trace.run_id, analysis)
    return analysis_line(analysis), fork_figure(analysis, texts).to_json(), branches_html(analysis, None), shown


def opened(kept: Any, trace: Any, event: gr.SelectData) -> tuple[Any, str]:
    """A click on a position: its step in the Token distributions' Step (when the analysed run is still the one
    shown), and its branches here."""
    run_id, analysis = kept if isinstance(kept, tuple) else (None, None)
    index = event.index if isinstance(event.index, int) and not isinstance(event.index, bool) else None
    position = position_of(analysis, index)
    if position is None:
        return gr.update(), branches_html(analysis, None)
    same = isinstance(trace, Trace) and trace.run_id == run_id and position.index < len(trace.steps)
    note = "open in Token distributions" if same else "not shown: another run is shown now"
    before = "".join(step.chosen.text for step in trace.steps[: position.index]) if same else ""
    html = branches_html(analysis, position.index, before).replace("</b>", f"</b> ({note})", 1)
    return (gr.update(value=position.index + 1) if same else gr.update()), html


def wire_fork(tab: ForkParts, trace: Any, step: Any, runs: Any) -> None:
    """Run (streamed) and Stop, the rule line following the rule, pattern and shown run, a click on the figure
    (`step`: the Token distributions' Step), and /fork."""
    knobs = [tab.knobs[name] for name in FIELDS]

    def run_fork(shown: Any, *args: Any) -> Iterator[tuple[Any, Any, Any, Any]]:
        *values, request = args  # one value per knob, then the request Gradio hands the last parameter
        for item in runs.forks.analyse(shown, dict(zip(FIELDS, values, strict=True)), request.session_hash):
            if isinstance(item, ForkAnalysis):
                yield analysed(shown, item)
            else:
                yield progress_line(item.done, item.total, item.index), gr.update(), gr.update(), gr.update()

    # Named parameters, so that Gradio hands the request to the last one.
    plain = inspect.Parameter.POSITIONAL_OR_KEYWORD
    names = [inspect.Parameter(name, plain) for name in ("shown", *FIELDS)]
    run_fork.__signature__ = inspect.Signature([*names, inspect.Parameter("request", plain, annotation=gr.Request)])
    run_fork.__annotations__ = {"request": gr.Request}
    drawn = [tab.status, tab.plot, tab.branches, tab.analysis]
    tab.button.click(lambda: ("Starting…", PICK), outputs=[tab.status, tab.branches], **INSTANT).then(
        run_fork, inputs=[trace, *knobs], outputs=drawn, **PRIVATE, **MODEL_QUEUE, show_progress="minimal"
    )

    def stop(request: gr.Request) -> None:
        runs.switches.stop(request.session_hash)

    tab.stop.click(stop, **INSTANT)
    rule_inputs = [trace, tab.knobs["rule"], tab.knobs["pattern"]]
    for trigger in (tab.knobs["rule"].change, tab.knobs["pattern"].change, trace.change):
        trigger(shown_rule, inputs=rule_inputs, outputs=[tab.rule_line], **INSTANT)
    tab.plot.select(opened, inputs=[tab.analysis, trace], outputs=[step, tab.branches], **PRIVATE)

    def fork(payload: str) -> str:
        """The forking analysis of a given trace or of a run made from settings (see JsonApi.fork_json)."""
        return runs.api.fork_json(payload)

    gr.api(fork, api_name="fork", **MODEL_QUEUE)
