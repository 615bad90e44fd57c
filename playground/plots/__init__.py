"""Figures drawn from a Trace: pure functions `Trace -> plotly Figure`, no model and no Gradio."""

from playground.plots.beam_tree import beam_tree_figure
from playground.plots.compare import candidates_figure, divergence_figure
from playground.plots.distributions import overview_figure, stage_figure
from playground.plots.speculative import acceptance_figure
from playground.plots.temperatures import temperature_figure

__all__ = [
    "acceptance_figure",
    "beam_tree_figure",
    "candidates_figure",
    "divergence_figure",
    "overview_figure",
    "stage_figure",
    "temperature_figure",
]
