"""The entropy map, a panel of Token distributions under the overview: every step of the shown run by entropy and
varentropy over entropix's regions, drawn in the browser with plotly.js (gr.Plot cannot send a click back) so that
a click on a point opens its step in the same tab, as a click on a token of the Output does, and scrolls up to it.

It sits there rather than in a tab of its own because, like the overview, it is a view of every step that leads to
one step, whose figures are at the top of that tab, and a click stays in the tab it opens. It is one of the shown
run's views (`views.Views.entropy_map`), drawn from the trace for every run shown.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from playground.ui.explain import explain
from playground.ui.run_views import clickable_plot_js

# A click on a point sends its step (0-based, the point's customdata) as a select event's index, and brings the
# step's figure at the top of the tab into view.
MAP_JS = clickable_plot_js(
    ".entropy-map",
    """      trigger('select', {index: Number(point.customdata[0]), value: point.hovertext, selected: true});
      const step = document.querySelector('#step-plot');
      if (step) step.scrollIntoView({behavior: 'smooth', block: 'start'});""",
)


def entropy_panel() -> Any:
    """Lays out the panel and returns the map's component, whose value is the figure as JSON."""
    gr.Markdown(explain("entropy_map"))
    return gr.HTML(
        "",
        html_template='<div class="entropy-map"></div>',
        js_on_load=MAP_JS,
        label="Entropy against varentropy, one point per step",
        show_label=True,
        container=True,
        elem_id="entropy-map",
    )
