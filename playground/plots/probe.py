"""The token probe over a run's steps: the probed token's probability after each stage (log scale: a token the
sampler never shows can sit at 1e-12), the run's own token's probability beside it, a word's chain-rule
probability, and the probed token's rank among the whole vocabulary."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from playground.palette import BLACK, VERMILLION
from playground.plots.style import STAGE_COLOURS, STAGE_LABELS, hover_escape, placeholder, show_token
from playground.trace import Probe, Trace

FLOOR = 1e-30  # a probability of 0 (a stage removed the token) is drawn here, at the bottom of the log axis


def probe_figure(probe: Probe | None, trace: Trace | None) -> go.Figure:
    """Top: per step, the probed token's probability after each stage, the run's token's (final), and for a word
    of several tokens the whole word's chain-rule probability (final); bottom: the probed token's rank (raw and
    final). Steps count from 1, as the Output and the Step slider do."""
    if probe is None or trace is None or not probe.steps:
        return placeholder("Type a word or a token id and press Probe.")
    steps = [row.index + 1 for row in probe.steps]
    chosen = [hover_escape(show_token(trace.steps[row.index].chosen.text)) for row in probe.steps]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.68, 0.32], vertical_spacing=0.06)
    stages = list(probe.steps[0].probs)
    name = hover_escape(show_token(probe.form))
    for stage in stages:
        values = [max(row.probs[stage], FLOOR) for row in probe.steps]
        fig.add_trace(_line(steps, values, f"{name} {_stage(stage, stages)}", _colour(stage, stages), chosen,
                            dash="dot" if stage == "raw" and len(stages) > 1 else None), row=1, col=1)  # fmt: skip
    if probe.steps[0].word_probs is not None:
        whole = [max(row.word_probs[stages[-1]], FLOOR) for row in probe.steps]
        fig.add_trace(_line(steps, whole, f"the whole word {name} (chain rule)", VERMILLION, chosen), row=1, col=1)
    taken = [row.chosen_prob for row in probe.steps]
    fig.add_trace(_line(steps, taken, "the run's own token", BLACK, chosen, dash="dash"), row=1, col=1)
    for stage in dict.fromkeys(["raw", stages[-1]]):
        ranks = [row.ranks[stage] for row in probe.steps]
        fig.add_trace(_line(steps, ranks, f"rank {_stage(stage, stages)}", _colour(stage, stages), chosen,
                            legend=False), row=2, col=1)  # fmt: skip
    fig.update_yaxes(type="log", title="probability", exponentformat="power", row=1, col=1)
    fig.update_yaxes(type="log", title="rank", autorange="reversed", dtick=1, row=2, col=1)
    fig.update_xaxes(title="step", row=2, col=1)
    fig.update_layout(height=600, margin=dict(l=70, r=20, t=90, b=50), hovermode="x unified",
                      legend=dict(orientation="h", y=1.03, yanchor="bottom"))  # fmt: skip
    return fig


def _stage(stage: str, stages: list[str]) -> str:
    """How a stage is named in the legend: the last one is what the run drew from."""
    return "as drawn (final)" if stage == stages[-1] and len(stages) > 1 else STAGE_LABELS.get(stage, stage)


def _colour(stage: str, stages: list[str]) -> str:
    return STAGE_COLOURS["final"] if stage == stages[-1] else STAGE_COLOURS.get(stage, STAGE_COLOURS["raw"])


def _line(steps: list[int], values: list[float], name: str, colour: str, chosen: list[str], dash: str | None = None,
          legend: bool = True) -> go.Scatter:  # fmt: skip
    return go.Scatter(
        x=steps,
        y=values,
        name=name,
        mode="lines+markers",
        line=dict(color=colour, dash=dash),
        marker=dict(size=5),
        customdata=chosen,
        hovertemplate="%{y:.3g} (step %{x}, the run took %{customdata})",
        showlegend=legend,
    )
