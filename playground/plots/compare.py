"""The Compare tab's figures: how far configuration B's next-token distribution is from run A's at every step, and
A's and B's candidates side by side at one step."""

from __future__ import annotations

import math
from typing import Any

import plotly.graph_objects as go

from playground.plots.style import BLUE, GREY, ORANGE, VERMILLION, hover_escape, placeholder, show_token, stage_setting
from playground.trace import Comparison, PairedCandidate, StepDivergence

RULES_OUT = "B rules out tokens A could take"


def why_infinite(step: StepDivergence, b_settings: dict[str, Any]) -> str:
    """Why KL(A || B) is infinite at `step`, naming B's stage as the page's control does and the token A likes
    best of those it removed: "top-k 50 removed ' the'". A comparison made before that was recorded gets
    `RULES_OUT`.

    Args:
        b_settings: B's settings as a dict (A's with the comparison's `b_changes`), for the stage's value.
    """
    if step.removed_by is None:
        return RULES_OUT
    if step.removed_by == "raw":
        return f"B's model gives {step.removed_text!r} probability 0"
    return f"{stage_setting(step.removed_by, b_settings)} removed {step.removed_text!r}"


def divergence_figure(comparison: Comparison, a_texts: list[str], b_settings: dict[str, Any]) -> go.Figure:
    """Per step of A's path: Jensen-Shannon divergence and KL(A || B) (infinite ones drawn at the top, with
    the stage of B's that removed a token A could take, and the share of A's probability B rules out), B's
    probability of A's token, and where B's own text first differs from A's.

    Args:
        a_texts: the text of each of A's tokens, for the hover labels.
        b_settings: B's settings as a dict, naming the stage's value in the hover (`why_infinite`).
    """
    steps = comparison.steps
    top = _divergence_top(steps)
    fig = go.Figure()
    _add_divergences(fig, steps, a_texts)
    _add_infinite_kl(fig, steps, top, a_texts, b_settings)
    _add_prob_b(fig, steps, a_texts)
    if comparison.first_difference < len(steps):
        fig.add_vline(
            x=comparison.first_difference + 1,
            line=dict(color=VERMILLION, dash="dash"),
            annotation_text=f"B's own text differs from step {comparison.first_difference + 1}",
        )
    fig.update_layout(
        title=_divergence_title(steps),
        xaxis=dict(title="step of A's text"),
        yaxis=dict(title="divergence (nats)", range=[0, top * 1.08]),
        yaxis2=dict(title="B's probability of A's token", overlaying="y", side="right", range=[0, 1.05]),
        legend=dict(orientation="h", y=-0.25),
        margin=dict(t=60, b=100),
    )
    return fig


def _divergence_top(steps: list[StepDivergence]) -> float:
    """The height infinite KLs are drawn at: above every finite KL and JS (and at least 0.05 nats)."""
    finite = [s.kl for s in steps if math.isfinite(s.kl)]
    return max([*finite, max((s.js for s in steps), default=0.0), 0.05]) * 1.15


def _add_divergences(fig: go.Figure, steps: list[StepDivergence], a_texts: list[str]) -> None:
    """The JS and KL(A || B) lines; an infinite KL is a gap in its line (`_add_infinite_kl` marks it)."""
    x = [s.index + 1 for s in steps]
    for name, short, values, line in (
        ("Jensen-Shannon", "JS", [s.js for s in steps], dict(color=BLUE)),
        ("KL(A || B)", "KL", [s.kl if math.isfinite(s.kl) else None for s in steps], dict(color=ORANGE, dash="dot")),
    ):
        fig.add_scatter(
            x=x,
            y=values,
            customdata=a_texts,
            mode="lines+markers",
            name=f"{name} (nats)",
            line=line,
            hovertemplate=f"step %{{x}}: %{{customdata}}<br>{short} = %{{y:.4f}} nats<extra></extra>",
        )


def _add_infinite_kl(
    fig: go.Figure, steps: list[StepDivergence], top: float, a_texts: list[str], b_settings: dict[str, Any]
) -> None:
    """A marker at height `top` for each step whose KL is infinite, saying why (`why_infinite`); none if none is."""
    infinite = [s for s in steps if not math.isfinite(s.kl)]
    if not infinite:
        return
    fig.add_scatter(
        x=[s.index + 1 for s in infinite],
        y=[top] * len(infinite),
        customdata=[[a_texts[s.index], s.uncovered, hover_escape(why_infinite(s, b_settings))] for s in infinite],
        mode="markers",
        marker=dict(symbol="triangle-up", size=10, color=VERMILLION),
        name=f"KL infinite: {RULES_OUT}",
        hovertemplate="step %{x}: %{customdata[0]}<br>KL = ∞: %{customdata[2]}<br>%{customdata[1]:.3p} of A's "
        "probability is on tokens B rules out<extra></extra>",
    )


def _add_prob_b(fig: go.Figure, steps: list[StepDivergence], a_texts: list[str]) -> None:
    """B's probability of A's token at each step, on the right-hand axis."""
    fig.add_scatter(
        x=[s.index + 1 for s in steps],
        y=[s.prob_b for s in steps],
        customdata=[[t, s.rank_b, s.prob_a] for t, s in zip(a_texts, steps, strict=True)],
        mode="lines",
        name="B's probability of A's token",
        line=dict(color=GREY, width=1),
        yaxis="y2",
        hovertemplate="step %{x}: %{customdata[0]}<br>p under B = %{y:.3f} (rank %{customdata[1]}), "
        "under A %{customdata[2]:.3f}<extra></extra>",
    )


def _divergence_title(steps: list[StepDivergence]) -> str:
    """The figure's title: mean JS and how often A's and B's most likely tokens agree."""
    agree = sum(s.top1_agree for s in steps) / len(steps) if steps else 1.0
    mean_js = sum(s.js for s in steps) / len(steps) if steps else 0.0
    return f"A vs B along A's text: mean JS {mean_js:.4f} nats, most likely tokens agree at {agree:.0%} of steps"


def candidates_figure(comparison: Comparison, index: int, a_text: str) -> go.Figure:
    """Step `index`'s candidates under A and under B as paired bars, most likely under either at the top, the token
    A took marked.

    Args:
        comparison: a comparison whose steps record candidates (older ones give a placeholder).
        index: the step (0-based); raises IndexError when out of range.
        a_text: the text of the token A took there, for the title.
    """
    step = comparison.steps[index]
    if not step.candidates:
        return placeholder(f"No candidates were recorded at step {index + 1}: compare again to see them.")
    cands = step.candidates
    labels = [_label(rank, c, step.token_id) for rank, c in enumerate(cands, start=1)]
    hover = [_hover(c) for c in cands]
    fig = go.Figure()
    for name, colour, probs in (
        ("A", BLUE, [c.prob_a for c in cands]),
        ("B", ORANGE, [c.prob_b for c in cands]),
    ):
        fig.add_bar(
            name=name,
            x=probs,
            y=labels,
            orientation="h",
            marker_color=colour,
            customdata=hover,
            hovertemplate="%{y}<br>%{customdata}<extra>" + name + "</extra>",
        )
    fig.update_layout(
        title=f"Step {index + 1}: A took {show_token(a_text)!r} (p_A = {step.prob_a:.3f}, p_B = {step.prob_b:.3f}, "
        f"rank under B {step.rank_b})",
        barmode="group",
        xaxis=dict(title="probability", rangemode="tozero"),
        # Categories run bottom-up by default: reversed, the most likely candidate is the top row.
        yaxis=dict(autorange="reversed", type="category", title="ranked by the larger of p_A and p_B"),
        legend=dict(orientation="h", y=-0.15),
        height=160 + 26 * len(cands),
        margin=dict(t=60),
    )
    return fig


def _label(rank: int, candidate: PairedCandidate, taken: int) -> str:
    # The rank keeps labels apart when two ids decode to the same text (a category axis would merge them).
    label = f"{rank}. {show_token(candidate.text)}"
    return f"<b>{label} ◂ A took</b>" if candidate.id == taken else label


def _hover(candidate: PairedCandidate) -> str:
    a, b = candidate.prob_a, candidate.prob_b
    ratio = f"{b / a:.3g}×" if a > 0 else ("∞" if b > 0 else "-")
    return f"p_A = {a:.4f}, p_B = {b:.4f}, B / A = {ratio}"
