"""Draft acceptance: which draft tokens the target kept, how often, and how that compares with theory."""

from __future__ import annotations

import statistics
from collections import Counter

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from playground.plots.style import BLUE, GREEN, GREY, ORANGE, VERMILLION, show_token
from playground.speedup import speedup_text
from playground.trace import Trace, expected_tokens


def acceptance_figure(trace: Trace) -> go.Figure:
    """Four panels: tokens per round (green accepted, red rejected), acceptance per round and cumulative,
    a histogram of accepted lengths, and measured tokens per round against (1 - a^(g+1)) / (1 - a).

    Raises:
        ValueError: the trace is not from speculative decoding.
    """
    if not trace.speculative:
        raise ValueError("this trace has no draft rounds: run speculative decoding")
    rounds = trace.speculative.rounds
    fig = make_subplots(
        rows=2,
        cols=2,
        vertical_spacing=0.16,
        horizontal_spacing=0.1,
        subplot_titles=(
            "draft tokens per round",
            "acceptance rate",
            "accepted per round",
            "tokens per round: measured and expected",
        ),
    )
    for accepted, colour, name in ((True, GREEN, "accepted"), (False, VERMILLION, "rejected")):
        xs, ys, hover = [], [], []
        for r_index, r in enumerate(rounds):
            for j, t in enumerate(r.proposed):
                if t.accepted == accepted:
                    xs.append(r_index + 1)
                    ys.append(j + 1)
                    hover.append(f"{show_token(t.text)}<br>p = {t.p:.3f}, q = {t.q:.3f}")
        fig.add_scatter(
            x=xs,
            y=ys,
            mode="markers",
            marker=dict(symbol="square", size=12, color=colour),
            name=name,
            text=hover,
            hovertemplate="round %{x}, position %{y}<br>%{text}<extra></extra>",
            row=1,
            col=1,
        )
    rates, cumulative, proposed_sum, accepted_sum = [], [], 0, 0
    for r in rounds:
        n, a = len(r.proposed), sum(t.accepted for t in r.proposed)
        proposed_sum, accepted_sum = proposed_sum + n, accepted_sum + a
        rates.append(a / n if n else None)
        cumulative.append(accepted_sum / proposed_sum if proposed_sum else None)
    x = list(range(1, len(rounds) + 1))
    fig.add_scatter(x=x, y=rates, mode="markers", marker=dict(color=BLUE), name="per round", row=1, col=2)
    fig.add_scatter(x=x, y=cumulative, mode="lines", line=dict(color=ORANGE), name="cumulative", row=1, col=2)
    # Rounds that proposed nothing (prompt lookup found no match) say nothing about acceptance.
    accepted_counts = [sum(t.accepted for t in r.proposed) for r in rounds if r.proposed]
    fig.add_histogram(x=accepted_counts, marker_color=BLUE, name="rounds", xbins=dict(size=1), row=2, col=1)
    # The curve is a linear draft's; a Medusa tree's expectation is in its own view (`draft_tree.depth_figure`).
    linear = trace.speculative.draft.source != "medusa"
    gammas = sorted({r.num_draft_tokens for r in rounds if r.num_draft_tokens}) if linear else []
    alphas = [i / 50 for i in range(50)]
    for gamma, dash in zip(gammas[-2:], ("dash", "dot"), strict=False):  # they part only at high α
        fig.add_scatter(
            x=alphas,
            y=[expected_tokens(a, gamma) for a in alphas],
            mode="lines",
            line=dict(color=GREY, dash=dash),
            name=f"expected, γ = {gamma}",
            row=2,
            col=2,
        )
    fig.add_scatter(
        x=[r.alpha for r in rounds],
        y=[r.tokens for r in rounds],
        mode="markers",
        marker=dict(color=GREEN, size=8, opacity=0.7),
        name="measured",
        row=2,
        col=2,
    )
    spec = trace.speculative
    # Rounds and counts are whole numbers: ticks on them only, about ten at most.
    rounds_axis = dict(title_text="round", range=[0.5, len(rounds) + 0.5], dtick=whole_step(len(rounds)))
    fig.update_xaxes(**rounds_axis, row=1, col=1)
    fig.update_yaxes(title_text="position", dtick=1, row=1, col=1)
    fig.update_xaxes(**rounds_axis, row=1, col=2)
    fig.update_yaxes(range=[0, 1.05], row=1, col=2)
    fig.update_xaxes(title_text="accepted draft tokens", dtick=1, row=2, col=1)
    most = max(Counter(accepted_counts).values(), default=1)
    fig.update_yaxes(title_text="rounds", dtick=whole_step(most), rangemode="tozero", row=2, col=1)
    fig.update_xaxes(title_text="estimated α (Σ min(p, q))", range=[0, 1], row=2, col=2)
    fig.update_yaxes(title_text="tokens", row=2, col=2)
    title = (
        f"{spec.acceptance_rate:.0%} of draft tokens accepted · {spec.tokens_per_round:.2f} tokens "
        f"per target pass · {spec.target_calls} target, {spec.draft_calls} draft passes"
    )
    if spec.speedup:
        rate = trace.timing.new_tokens / trace.timing.decode_s if trace.timing.decode_s > 0 else 0.0
        rates = f"{rate:.1f} vs {spec.plain_tokens_per_s:.1f} tokens/s"
        if spec.speedup_pairs:  # the speculative timings' median rate, as the plain one is
            rate = statistics.median(pair.speculative_tokens_per_s for pair in spec.speedup_pairs)
            rates = f"median rates {rate:.1f} vs {spec.plain_tokens_per_s:.1f} tokens/s"
        title += f"<br>measured speed-up over plain decoding: {speedup_text(spec)} ({rates})"
    fig.update_layout(
        title=title,
        height=620,
        legend=dict(orientation="h", y=-0.12),
    )
    return fig


def whole_step(largest: int) -> int:
    """A tick step for an axis of whole numbers up to `largest`: 1, 2, 5, 10, 20, ... giving at most ten ticks."""
    step = 1
    while largest / step > 10:
        step *= 2.5 if str(step).startswith("2") else 2
    return int(step)
