"""The "Entropy map" tab: every step of the shown run by entropy and varentropy over entropix's regions, drawn in
the browser with plotly.js (gr.Plot cannot send a click back) so that a click on a point opens its step in Token
distributions, as a click on a token of the Output does.

The map is one of the shown run's views (`views.Views.entropy_map`): it is drawn for every run shown, from the
trace alone.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from playground.ui.explain import explain
from playground.ui.run_views import PLOTLY_LOADER

# A click on a point sends its step (0-based, the point's customdata) as a select event's index.
MAP_JS = (
    PLOTLY_LOADER
    + """const draw = async () => {
  const box = element.querySelector('.entropy-map');
  if (!box || !props.value) return;
  await load();
  const figure = JSON.parse(props.value);
  await window.Plotly.react(box, figure.data, figure.layout, {displayModeBar: false, responsive: true});
  if (box.dataset.wired) return;
  box.dataset.wired = '1';
  box.on('plotly_click', (event) => {
    const point = event.points && event.points[0];
    if (point && point.customdata) {
      trigger('select', {index: Number(point.customdata[0]), value: point.hovertext, selected: true});
    }
  });
};
watch('value', draw);
draw();
"""
)


def entropy_tab() -> Any:
    """Lays out the tab (inside its gr.Tab) and returns the map's component, whose value is the figure as JSON."""
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
