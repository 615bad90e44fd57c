"""What each draft round cost and whether it paid: the pass-cost curve c(k) beside the tokens each round emitted,
which source drafted it (the automatic draft's cascade), and a line per round saying so for the hovers of the
Draft acceptance views.

A round feeds the target k tokens (the text's last token and k - 1 draft tokens, or a tree's k nodes) in one pass
that costs c(k) one-token steps, so it pays when it emits more than c(k) tokens: c(k) is both the cost curve and
the break-even line.
"""

from __future__ import annotations

import math
from collections import defaultdict

import plotly.graph_objects as go

from playground.plots.style import BLACK, BLUE, GREY, INDIGO, TEAL, WINE
from playground.trace import SpeculativeRound, Trace
from playground.words import counted

# Each draft source (trace.DRAFT_SOURCES): (marker symbol, colour, legend name, who drafted, in a round's note).
SOURCE_STYLE = {
    "prompt-lookup": ("triangle-right", TEAL, "drafted by prompt lookup", "prompt lookup"),
    "suffix": ("star", WINE, "drafted from the suffix index of the model's answers", "the suffix index"),
    "medusa": ("hexagon", INDIGO, "drafted by the Medusa heads", "the Medusa heads"),
    "none": ("circle-open", BLACK, "a plain step: no draft worth its cost", "no draft"),
}
UNNAMED_STYLE = ("circle", BLUE, "a round", "")  # rounds of a run with one fixed draft (no source)


def fed_tokens(r: SpeculativeRound) -> int:
    """The tokens round `r` fed the target in its one pass: the text's last token and its draft tokens (for a
    tree, its nodes, the root included)."""
    return r.num_draft_tokens + 1


def round_note(r: SpeculativeRound) -> str:
    """What drafted round `r` and what its pass cost, for a hover: "the suffix index drafted 3 tokens: pass cost
    1.16 steps, expected 1.9 tokens"; "" for a round that records neither (a run from before the cost curve)."""
    if r.source is None and r.cost is None:
        return ""
    if r.source == "none":
        note = "a plain step, no draft worth its cost"
    elif r.source is None:
        note = counted(r.num_draft_tokens, "draft token")
    else:
        note = f"{SOURCE_STYLE[r.source][3]} drafted {counted(r.num_draft_tokens, 'token')}"
    figures = [] if r.cost is None else [f"pass cost {r.cost:.2f} steps"]
    if r.source != "none":
        figures.append(f"expected {r.expected_tokens:.1f} tokens")
    return f"{note}: {', '.join(figures)}"


def with_note(hover: str, r: SpeculativeRound) -> str:
    """`hover` with round `r`'s note on a line of its own, when it has one."""
    note = round_note(r)
    return f"{hover}<br>{note}" if note else hover


def round_cost(trace: Trace, r: SpeculativeRound) -> float | None:
    """What round `r`'s pass cost in one-token steps: its own record, else the run's curve at the tokens it fed
    (None beyond the curve, or without one)."""
    curve = trace.speculative.cost_curve or []
    if r.cost is not None:
        return r.cost
    k = fed_tokens(r)
    return curve[k - 1] if k <= len(curve) else None


def add_cost_curve(fig: go.Figure, curve: list[float], row: int, col: int) -> None:
    """c(k) over k: what a pass over k tokens costs, which is also how many tokens a round that feeds k must emit
    to be as fast as plain steps."""
    fig.add_scatter(
        x=list(range(1, len(curve) + 1)),
        y=curve,
        mode="lines+markers",
        line=dict(color=GREY, shape="hv", dash="dash"),  # a step at each k: c is only defined at whole k
        marker=dict(color=GREY, size=5),
        name="c(k): a pass over k tokens, in one-token steps; a round must emit more to pay",
        hovertemplate="a pass over %{x} tokens costs %{y:.2f} one-token steps<extra></extra>",
        row=row,
        col=col,
    )


def add_round_marks(fig: go.Figure, trace: Trace, row: int, col: int, in_legend: bool) -> None:
    """Each round at (tokens it fed, tokens it emitted), one colour and symbol per draft source; rounds at the
    same point share one mark, larger the more there are.

    Args:
        in_legend: give each source a legend entry (False where `add_source_row` has given them); rounds of no
            source always have one.
    """
    points: dict[str | None, dict[tuple[int, int], list[int]]] = defaultdict(lambda: defaultdict(list))
    for number, r in enumerate(trace.speculative.rounds, start=1):
        points[r.source][fed_tokens(r), r.tokens].append(number)
    for source, at in points.items():
        symbol, colour, name, _ = SOURCE_STYLE.get(source, UNNAMED_STYLE)
        fig.add_scatter(
            x=[k for k, _ in at],
            y=[tokens for _, tokens in at],
            mode="markers",
            marker=dict(symbol=symbol, color=colour, size=[7 + 3 * math.sqrt(len(n)) for n in at.values()]),
            name=name,
            legendgroup=f"source-{source}",
            showlegend=in_legend or source is None,
            text=[_point_hover(trace, numbers) for numbers in at.values()],
            hovertemplate="%{text}<extra></extra>",
            row=row,
            col=col,
        )


def _point_hover(trace: Trace, numbers: list[int]) -> str:
    """The rounds at one point of the cost panel: how many, which, and whether they paid."""
    r = trace.speculative.rounds[numbers[0] - 1]
    shown = ", ".join(map(str, numbers[:8])) + (", …" if len(numbers) > 8 else "")
    line = f"{counted(len(numbers), 'round')} ({shown}): fed {fed_tokens(r)}, emitted {counted(r.tokens, 'token')}"
    cost = round_cost(trace, r)
    if cost is not None:
        line += f"<br>the pass cost {cost:.2f} one-token steps: {paid(r.tokens, cost)}"
    return with_note(line, r)


def paid(tokens: int, cost: float) -> str:
    """Whether a round that emitted `tokens` for a pass costing `cost` one-token steps beat plain steps."""
    if math.isclose(tokens, cost):
        return "as fast as plain steps"
    return "paid" if tokens > cost else "did not pay"


def add_source_row(fig: go.Figure, trace: Trace, y: float, row: int, col: int) -> None:
    """Under the rounds of the first acceptance panel, at height `y`: which source drafted each round, one
    colour and symbol per source (the legend entries the cost panel's marks share)."""
    rounds = trace.speculative.rounds
    for source, (symbol, colour, name, _) in SOURCE_STYLE.items():
        numbers = [number for number, r in enumerate(rounds, start=1) if r.source == source]
        if numbers:
            fig.add_scatter(
                x=numbers,
                y=[y] * len(numbers),
                mode="markers",
                marker=dict(symbol=symbol, size=10, color=colour),
                name=name,
                legendgroup=f"source-{source}",
                text=[f"round {n}: {round_note(rounds[n - 1])}" for n in numbers],
                hovertemplate="%{text}<extra></extra>",
                row=row,
                col=col,
            )


def add_cost_panel(fig: go.Figure, trace: Trace, row: int, col: int, in_legend: bool) -> None:
    """The cost panel: c(k), and every round at (tokens fed, tokens emitted), with its axes.

    Raises:
        ValueError: the trace has no cost curve.
    """
    curve = trace.speculative.cost_curve
    if not curve:
        raise ValueError("this run measured no pass cost: the automatic draft records it")
    add_cost_curve(fig, curve, row, col)
    add_round_marks(fig, trace, row, col, in_legend)
    widest = max([len(curve), *(fed_tokens(r) for r in trace.speculative.rounds)])
    fig.update_xaxes(title_text="tokens fed to the pass (k)", dtick=max(1, math.ceil(widest / 16)), row=row, col=col)
    top = max([*curve, *(r.tokens for r in trace.speculative.rounds)])
    fig.update_yaxes(title_text="tokens, or steps (c)", range=[0, top + 0.6], row=row, col=col)
