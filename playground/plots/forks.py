"""The forking analysis drawn over a run: at each analysed position t, the outcome distribution o_t as stacked bands
(one colour per outcome, "(none)" grey), x labelled by the token at t; the change points (total-variation distance
from the previous analysed position above the threshold) marked above their bars with that distance.

Every bar and marker carries its position's index as customdata, so the page's script can send a click back.
"""

from __future__ import annotations

import plotly.graph_objects as go

from playground.fork.outcome import NONE_LABEL
from playground.fork.result import ForkAnalysis
from playground.palette import BLACK, BLUE, CORAL, GREEN, GREY, INDIGO, ORANGE, PURPLE, SKY, TEAL, VERMILLION, WINE
from playground.plots.style import hover_escape, placeholder, show_token

# Outcomes take these in the analysis' order (by total mass), so the most common keep their colours between runs.
OUTCOME_COLOURS = (BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY, TEAL, INDIGO, WINE, CORAL)
MARK_Y = 1.06  # where the change points' markers sit, above the bars (which reach 1)


def outcome_colours(outcomes: list[str]) -> dict[str, str]:
    """One colour per outcome label, in order; "(none)" grey; beyond the palette the colours repeat."""
    named = [label for label in outcomes if label != NONE_LABEL]
    colours = {label: OUTCOME_COLOURS[i % len(OUTCOME_COLOURS)] for i, label in enumerate(named)}
    return {**colours, NONE_LABEL: GREY}


def position_label(index: int, texts: list[str]) -> str:
    """The x label of the position at step `index` (0-based): its 1-based step and the run's token there."""
    token = show_token(texts[index]) if 0 <= index < len(texts) else "?"
    return f"{index + 1} {token}"


def fork_figure(analysis: ForkAnalysis | None, texts: list[str]) -> go.Figure:
    """o_t over the run's analysed positions as stacked bars, change points marked (`texts`: the run's token texts,
    by step), or why there is nothing to draw."""
    if analysis is None:
        return placeholder("Press Run the forking analysis to see where this run's answer forks.")
    if not analysis.positions:
        return placeholder("It ended before any position was analysed: there is nothing to draw.")
    indexes = [position.index for position in analysis.positions]
    labels = [position_label(index, texts) for index in indexes]
    colours = outcome_colours(analysis.outcomes)
    figure = go.Figure()
    for outcome in analysis.outcomes:
        shares = [position.o.get(outcome, 0.0) for position in analysis.positions]
        figure.add_bar(
            x=indexes, y=shares, name=preview_label(outcome), marker_color=colours[outcome],
            customdata=[[index] for index in indexes], textposition="none",
            hovertemplate=f"{hover_escape(preview_label(outcome))}: %{{y:.2f}}<extra></extra>",
        )  # fmt: skip
    _mark_change_points(figure, analysis)
    figure.update_layout(
        barmode="stack", bargap=0.1, height=420, margin=dict(l=50, r=20, t=30, b=90), hovermode="x unified",
        legend=dict(title="Outcome", orientation="h", y=-0.35), template="plotly_white",
    )  # fmt: skip
    figure.update_xaxes(
        tickmode="array", tickvals=indexes, ticktext=[hover_escape(label) for label in labels], tickangle=-45
    )
    figure.update_yaxes(range=[0, MARK_Y + 0.08], title="o_t: share of outcomes", tickvals=[0, 0.25, 0.5, 0.75, 1])
    return figure


def preview_label(outcome: str, size: int = 24) -> str:
    """An outcome label as a legend shows it: newlines visible, cut at `size` characters."""
    shown = show_token(outcome) if outcome != NONE_LABEL else outcome
    return shown if len(shown) <= size else shown[: size - 1] + "…"


def _mark_change_points(figure: go.Figure, analysis: ForkAnalysis) -> None:
    """A dashed line through each change point's bar and a marker above it, labelled with its TV distance."""
    points = [position for position in analysis.positions if position.index in analysis.change_points]
    if not points:
        return
    for position in points:
        figure.add_vline(x=position.index, line=dict(color=BLACK, dash="dash", width=1))
    figure.add_scatter(
        x=[p.index for p in points], y=[MARK_Y] * len(points), mode="markers+text", name="change point",
        marker=dict(symbol="triangle-down", size=12, color=BLACK), text=[f"TV {p.tv:.2f}" for p in points],
        textposition="middle right", customdata=[[p.index] for p in points],
        hovertemplate="change point: %{text}<extra></extra>",
    )  # fmt: skip
