"""The Runs tab: the session's runs as a tree (Plotly, drawn in the browser by the tab's script so that a click
on a node can come back), and showing a run picked there or loaded from a file."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import gradio as gr
import plotly

from playground.plots.run_tree import run_tree_figure
from playground.run_tree import RunTree
from playground.summary import summary
from playground.trace import Trace
from playground.ui.controls import CONTROLS, run_controls
from playground.ui.files import export_runs, export_trace, read_upload
from playground.ui.status import status_line
from playground.ui.tokens import trace_html
from playground.ui.views import all_views

# Plotly's own bundle, served by the app (`gr.set_static_paths`): gr.Plot cannot send clicks back, so the tree
# is a gr.HTML drawn with plotly.js here.
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
# `load()` in a gr.HTML's script: plotly.js, fetched from the app once per page.
PLOTLY_LOADER = (
    """
const PLOTLY = """
    + json.dumps(str(PLOTLY_JS))
    + """;
const load = () => window.Plotly ? Promise.resolve() : (window.playgroundPlotly ||= new Promise((resolve, reject) => {
  const script = document.createElement('script');
  const root = ((window.gradio_config && window.gradio_config.root) || '').replace(/\\/$/, '');
  script.src = `${root}/gradio_api/file=${PLOTLY}`;
  script.onload = resolve;
  script.onerror = reject;
  document.head.append(script);
}));
"""
)


def clickable_plot_js(selector: str, on_click: str) -> str:
    """A gr.HTML's script that draws the Plotly figure in its value into the element `selector` names, again
    whenever the value changes, and runs `on_click` (JavaScript reading `point`, the clicked point) on a click."""
    return (
        (
            PLOTLY_LOADER
            + """const draw = async () => {
  const box = element.querySelector(SELECTOR);
  if (!box || !props.value) return;
  await load();
  const figure = JSON.parse(props.value);
  await window.Plotly.react(box, figure.data, figure.layout, {displayModeBar: false, responsive: true});
  if (box.dataset.wired) return;
  box.dataset.wired = '1';
  box.on('plotly_click', (event) => {
    const point = event.points && event.points[0];
    if (point && point.customdata) {
ON_CLICK
    }
  });
};
watch('value', draw);
draw();
"""
        )
        .replace("SELECTOR", json.dumps(selector))
        .replace("ON_CLICK", on_click)
    )


# A click on a node sends its run_id (the node trace's customdata) as a select event.
TREE_JS = clickable_plot_js(
    ".run-tree", "      trigger('select', {index: point.pointNumber, value: point.customdata[0], selected: true});"
)


def tree_value(tree: RunTree | None) -> str:
    """What the tree view's component holds: the figure as Plotly JSON."""
    return run_tree_figure(tree or RunTree()).to_json()


def remember(tree: RunTree, made: Trace | None, shown: Trace | None) -> tuple[RunTree, str, None]:
    """A finished run (or branch), `made`, joins the session's tree; the tree marks the run the page shows.
    Returns (tree, tree view, None: `made` is taken).

    `made` is the run's own hand-over, written by the run alone: the shown trace cannot stand in for it, as a
    file loaded or a node picked between the run's end and this step replaces the shown trace, and the run would
    be lost. A run that failed hands over nothing, and the shown trace stays as it was, already kept."""
    if made is not None:
        tree.add(made)
    if shown is not None and shown.run_id in tree.runs:
        tree.shown = shown.run_id
    return tree, tree_value(tree), None


def shown_run(tree: RunTree, run_id: str, status: str, models: list[str]) -> tuple[Any, ...]:
    """Everything the page shows for a kept run: (tree, trace, Output HTML, status line, *views, tree view,
    the trace's export, the tree's export, *the controls in `CONTROLS` order). The exports come in the same answer,
    so a download right after the click saves what the click shows; the controls take the run's settings
    (`run_controls`), so the next Generate or branch runs what is shown, and the status line says so."""
    trace = tree.runs[run_id]
    tree.shown = run_id
    exports = export_trace(trace), export_runs(tree)
    values, kept = run_controls(trace, models)
    status += " · the controls now hold its settings" + (f", except {'; '.join(kept)}" if kept else "")
    controls = [gr.update(value=values[name]) if name in values else gr.update() for name in CONTROLS]
    return tree, trace, trace_html(trace), status_line(status), *all_views(trace), tree_value(tree), *exports, *controls


def show_run(tree: RunTree, event: gr.SelectData, models: list[str]) -> tuple[Any, ...]:
    """A click on a node of the tree shows that run: its text, status line and views, and its settings in the
    controls (`models`: what the page serves)."""
    run_id = event.value
    if not isinstance(tree, RunTree) or not isinstance(run_id, str) or run_id not in tree.runs:
        raise gr.Error("That run is no longer kept in this tab.", print_exception=False)
    return shown_run(tree, run_id, f"Run #{tree.number(run_id)}: {summary(tree.runs[run_id])}", models)


def load_file(tree: RunTree, path: Any, models: list[str]) -> tuple[Any, ...]:
    """An uploaded trace or runs file joins the tree and its run is shown (`shown_run`: its settings go to the
    controls; `models`: what the page serves), drawn at once so that a file the views cannot draw is refused with
    a message and nothing on the page changes."""
    traces, shown = read_upload(path)
    trial = RunTree(max_runs=tree.max_runs, max_bytes=tree.max_bytes)
    try:
        trial.extend(traces, shown)
        for trace in traces:
            all_views(trace)
            trace_html(trace)
    except Exception as exc:  # a well-typed file can still hold values no view can use
        message = f"The file's data cannot be shown: {type(exc).__name__}: {str(exc)[:200]}"
        raise gr.Error(html.escape(message, quote=False), print_exception=False) from exc
    tree.extend(traces, shown)
    what = "Loaded trace" if len(traces) == 1 else f"Loaded {len(traces)} runs; showing"
    return shown_run(tree, tree.shown, f"{what}: {summary(tree.runs[tree.shown])}", models)
