"""One step's candidates at several temperatures side by side, exact, from the one forward pass the run made.

Dividing the logits by T > 0 keeps their order, so the most likely token stays the most likely at every T; what
moves is how far ahead it is, and how much is left to the rest of the vocabulary. A step records, for each T of
`TABLE_TEMPERATURES`, the log of the softmax's normaliser over the whole vocabulary (`Step.log_z`), so each
probability here is exp(logit / T - log_z[T]) over all tokens, not renormalised over the few recorded.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from playground.characters import candidate_text, pending_before
from playground.plots.style import BLUE, GREY, VERMILLION, placeholder, preview, show_token
from playground.trace import Trace

SHOWN = 10  # candidates per column: the top of the ranking, which every temperature keeps in the same order
LABEL = 14  # characters of a candidate's token in its axis label


def temperature_table(logits: list[float], log_z: dict[str, float]) -> dict[float, list[float]]:
    """Each token's probability at every temperature `log_z` has, over the whole vocabulary.

    Args:
        logits: raw logits of some tokens (any subset of the vocabulary).
        log_z: temperature as text ("0.3") -> ln sum_v exp(logit_v / T) over every token v of the vocabulary.

    Returns:
        T -> [exp(logit / T - log_z[T]) for each logit], temperatures in increasing order.
    """
    temperatures = sorted(log_z, key=float)
    return {float(t): [math.exp(logit / float(t) - log_z[t]) for logit in logits] for t in temperatures}


def temperature_colour(temperature: float) -> str:
    """Blue below 1 (sharper), grey at 1 (the model's own distribution), vermillion above (flatter)."""
    return BLUE if temperature < 1 else GREY if temperature == 1 else VERMILLION


def temperature_figure(trace: Trace, index: int) -> go.Figure:
    """Step `index`'s top candidates at each recorded temperature, one column per T, the same tokens in the same
    rows, and the mass left to every other token of the vocabulary at the bottom.

    Args:
        trace: any run's trace with steps.
        index: the step (0-based); raises IndexError when out of range.
    """
    step = trace.steps[index]
    if not step.log_z:
        return placeholder(
            "This trace was recorded before steps kept their normalisers: the temperatures cannot be shown "
            "exactly. Run it again to see them."
        )
    pending = pending_before(trace.steps[:index])
    cands = step.candidates[:SHOWN]
    table = temperature_table([c.logit for c in cands], step.log_z)
    tokens = [show_token(candidate_text(c, pending)) for c in cands]
    labels = [f"{i + 1}. {preview(token, LABEL)}" for i, token in enumerate(tokens)]
    others = trace.model.vocab_size - len(cands)
    rest = f"the other {others:,} token" + ("" if others == 1 else "s")
    fig = make_subplots(
        rows=1, cols=len(table), shared_yaxes=True, horizontal_spacing=0.02,
        subplot_titles=[_column_title(t, probs, labels) for t, probs in table.items()],
    )  # fmt: skip
    for col, (t, probs) in enumerate(table.items(), start=1):
        shown = [*probs, max(0.0, 1.0 - sum(probs))]
        fig.add_bar(
            x=shown,
            y=[*labels, rest],
            orientation="h",
            marker_color=[temperature_colour(t)] * len(probs) + [GREY],
            text=[f"{p:.3f}" for p in shown],
            textposition="outside",
            cliponaxis=False,
            name=f"T = {t:g}",
            hovertemplate="%{y}<br>T = " + f"{t:g}" + ": p = %{x:.4f}<extra></extra>",
            showlegend=False,
            row=1,
            col=col,
        )
        fig.update_xaxes(range=[0, 1.3], showticklabels=False, row=1, col=col)
    top = {tokens[max(range(len(probs)), key=probs.__getitem__)] for probs in table.values()}
    same = f"{top.pop()!r} is the most likely token at every T" if len(top) == 1 else "the order changes"
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(
        title=(
            f"Step {index + 1} at {len(table)} temperatures: dividing the logits by T keeps their order, so {same}"
            "<br><sup>p = exp(logit / T) / its sum over the whole vocabulary, exact, from the run's one forward "
            "pass (the raw logits: penalties and filters left out)</sup>"
        ),
        height=145 + 28 * (len(labels) + 1),
        margin=dict(t=135, l=10, r=10),
    )
    return fig


def _column_title(temperature: float, probs: list[float], labels: list[str]) -> str:
    best = max(range(len(probs)), key=probs.__getitem__)
    return f"T = {temperature:g}<br>{labels[best]}: {probs[best]:.2f}"
