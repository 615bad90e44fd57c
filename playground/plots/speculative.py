"""Draft acceptance: which draft tokens the target kept, how often, and how that compares with theory."""

from __future__ import annotations

import statistics
from collections import Counter

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from playground.plots.draft_cost import add_cost_panel, add_source_row, round_note, with_note
from playground.plots.style import BLUE, GREEN, GREY, ORANGE, PURPLE, SKY, VERMILLION, hover_escape, show_token
from playground.settings import AUTO, MEDUSA
from playground.speedup import speedup_text
from playground.trace import SpeculativeRound, Trace, expected_tokens

# What the target made of a draft token: (marker symbol, colour, legend name, hover note). A token after the
# round's first rejection was never tested: hollow, so it does not read as rejected.
VERDICT_STYLE = {
    True: ("square", GREEN, "accepted", "accepted"),
    False: ("square", VERMILLION, "rejected", "rejected: the target put its own token here"),
    None: ("square-open", GREY, "not checked", "not checked: the round ended at an earlier rejection"),
}
# Where prompt lookup found a round's draft (trace.LOOKUP_SOURCES), drawn in row 0 under the round.
LOOKUP_STYLE = {
    "prompt": ("circle", SKY, "found in your prompt"),
    "template": ("x", PURPLE, "found in the chat template"),
    "output": ("triangle-up", BLUE, "found in the text so far"),
}
OWN_OFFSET = 0.3  # the target's own token sits right of its round's column, off a rejected token it replaced
TOKEN_HOVER = "round %{x:.0f}, position %{y}<br>%{text}<extra></extra>"


def acceptance_figure(trace: Trace) -> go.Figure:
    """Four panels: tokens per round (green accepted, red rejected, hollow grey not checked, the target's own
    token an orange diamond, and for prompt lookup where each draft was found), acceptance per round and
    cumulative, a histogram of accepted lengths, and measured tokens per round against (1 - a^(g+1)) / (1 - a).
    A run that measured its pass cost has a fifth, c(k) with every round's tokens against it
    (`draft_cost.add_cost_panel`), and one whose rounds name their draft source a "drafted by" row in the first.

    Raises:
        ValueError: the trace is not from speculative decoding.
    """
    if not trace.speculative:
        raise ValueError("this trace has no draft rounds: run speculative decoding")
    rounds = trace.speculative.rounds
    costed = bool(trace.speculative.cost_curve)
    fig = acceptance_panels(costed)
    add_draft_tokens(fig, trace)
    add_acceptance_rates(fig, rounds)
    # Rounds that proposed nothing (prompt lookup found no match) say nothing about acceptance.
    accepted_counts = [r.accepted_count() for r in rounds if r.proposed]
    fig.add_histogram(x=accepted_counts, marker_color=BLUE, name="rounds", xbins=dict(size=1), row=2, col=1)
    add_tokens_per_round(fig, trace)
    # Rounds and counts are whole numbers: ticks on them only, about ten at most.
    rounds_axis = dict(title_text="round", range=[0.5, len(rounds) + 0.5], dtick=whole_step(len(rounds)))
    fig.update_xaxes(**rounds_axis, row=1, col=1)
    fig.update_yaxes(title_text="position", **position_ticks(trace), row=1, col=1)
    fig.update_xaxes(**rounds_axis, row=1, col=2)
    fig.update_yaxes(range=[0, 1.05], row=1, col=2)
    fig.update_xaxes(title_text="accepted draft tokens", dtick=1, row=2, col=1)
    most = max(Counter(accepted_counts).values(), default=1)
    fig.update_yaxes(title_text="rounds", dtick=whole_step(most), rangemode="tozero", row=2, col=1)
    fig.update_xaxes(title_text="estimated α (Σ min(p, q))", range=[0, 1], row=2, col=2)
    fig.update_yaxes(title_text="tokens", row=2, col=2)
    if costed:  # sources have their legend entries in the first panel's "drafted by" row, when rounds name one
        add_cost_panel(fig, trace, row=3, col=1, in_legend=not any(r.source for r in rounds))
    legend = dict(orientation="h", y=-0.08 if costed else -0.12)
    fig.update_layout(title=acceptance_title(trace), height=900 if costed else 620, legend=legend)
    return fig


def acceptance_panels(costed: bool) -> go.Figure:
    """The view's empty panels: four in two rows, and with the run's cost curve (`costed`) a fifth below them,
    as wide as both, for the cost and what each round emitted (`draft_cost.add_cost_panel`)."""
    titles = (
        "draft tokens per round",
        "acceptance rate",
        "accepted per round",
        "tokens per round: measured and expected",
    )
    if not costed:
        return make_subplots(rows=2, cols=2, vertical_spacing=0.16, horizontal_spacing=0.1, subplot_titles=titles)
    return make_subplots(
        rows=3,
        cols=2,
        specs=[[{}, {}], [{}, {}], [{"colspan": 2}, None]],
        row_heights=[0.36, 0.36, 0.28],
        vertical_spacing=0.12,  # room for the middle row's axis titles above the cost panel's title
        horizontal_spacing=0.1,
        subplot_titles=(*titles, "what each pass cost, c(k), and what each round emitted: above the line, it paid"),
    )


def add_acceptance_rates(fig: go.Figure, rounds: list[SpeculativeRound]) -> None:
    """The second panel: each round's share of accepted draft tokens, and the running share over all rounds."""
    rates, cumulative, proposed_sum, accepted_sum = [], [], 0, 0
    for r in rounds:
        n, a = len(r.proposed), r.accepted_count()
        proposed_sum, accepted_sum = proposed_sum + n, accepted_sum + a
        rates.append(a / n if n else None)
        cumulative.append(accepted_sum / proposed_sum if proposed_sum else None)
    x = list(range(1, len(rounds) + 1))
    notes = [round_note(r) for r in rounds]
    # A run that names its rounds' sources or costs says them in each round's hover; an older run's stays as it was.
    hover = dict(text=notes, hovertemplate="round %{x}: %{y:.0%}<br>%{text}<extra></extra>") if any(notes) else {}
    fig.add_scatter(x=x, y=rates, mode="markers", marker=dict(color=BLUE), name="per round", **hover, row=1, col=2)
    fig.add_scatter(x=x, y=cumulative, mode="lines", line=dict(color=ORANGE), name="cumulative", row=1, col=2)


def add_tokens_per_round(fig: go.Figure, trace: Trace) -> None:
    """The fourth panel: each round's tokens against its estimated α, over the expected (1 - α^(γ+1)) / (1 - α)."""
    rounds = trace.speculative.rounds
    # The curve is a linear draft's; a Medusa tree's expectation is in its own view (`draft_tree.depth_figure`).
    linear = trace.speculative.draft.source not in (MEDUSA, AUTO)
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


def acceptance_title(trace: Trace) -> str:
    """The view's title: acceptance, tokens per target pass, the passes made, and the measured speed-up."""
    spec = trace.speculative
    # A token after a round's first rejection is never tested: how often the target agreed is counted on the
    # tokens it tested, beside the share of all drafted tokens that it kept.
    tested = [t.accepted for r in spec.rounds for t in r.proposed if t.accepted is not None]
    agreed = f" ({sum(tested) / len(tested):.0%} of those the target checked)" if tested else ""
    title = (
        f"{spec.acceptance_rate:.0%} of draft tokens accepted{agreed} · {spec.tokens_per_round:.2f} tokens "
        f"per target pass · {spec.target_calls} target, {spec.draft_calls} draft passes"
    )
    if spec.speedup:
        rate = trace.timing.new_tokens / trace.timing.decode_s if trace.timing.decode_s > 0 else 0.0
        rates = f"{rate:.1f} vs {spec.plain_tokens_per_s:.1f} tokens/s"
        if spec.speedup_pairs:  # the speculative timings' median rate, as the plain one is
            rate = statistics.median(pair.speculative_tokens_per_s for pair in spec.speedup_pairs)
            rates = f"median rates {rate:.1f} vs {spec.plain_tokens_per_s:.1f} tokens/s"
        title += f"<br>measured speed-up over plain decoding: {speedup_text(spec)} ({rates})"
    return title


def add_draft_tokens(fig: go.Figure, trace: Trace) -> None:
    """The first panel: each round's draft tokens at their positions, coloured by what the target made of them,
    the target's own token beside the column (at the position it took), and for prompt lookup, in row 0, where
    the round's draft was copied from."""
    rounds, first = trace.speculative.rounds, dict(row=1, col=1)
    for verdict, (symbol, colour, name, note) in VERDICT_STYLE.items():
        xs, ys, hover = [], [], []
        for r_index, r in enumerate(rounds):
            for j, t in enumerate(r.proposed):
                if t.accepted is verdict:
                    xs.append(r_index + 1)
                    ys.append(j + 1)
                    hover.append(f"{hover_escape(show_token(t.text))}<br>p = {t.p:.3f}, q = {t.q:.3f}<br>{note}")
        marker = dict(symbol=symbol, size=12, color=colour)
        fig.add_scatter(
            x=xs, y=ys, mode="markers", marker=marker, name=name, text=hover, hovertemplate=TOKEN_HOVER, **first
        )
    fig.add_scatter(
        x=[r_index + 1 + OWN_OFFSET for r_index in range(len(rounds))],
        y=[r.accepted_count() + 1 for r in rounds],
        mode="markers",
        marker=dict(symbol="diamond", size=12, color=ORANGE),
        name="the target's own token",
        text=[_own_hover(trace, r) for r in rounds],
        hovertemplate=TOKEN_HOVER,
        **first,
    )
    if any(r.source for r in rounds):
        add_source_row(fig, trace, y=-under_rows(rounds).index("drafted by"), **first)
    for source, (symbol, colour, name) in LOOKUP_STYLE.items():
        found = [r_index + 1 for r_index, r in enumerate(rounds) if r.lookup == source]
        if found:
            fig.add_scatter(
                x=found,
                y=[0] * len(found),
                mode="markers",
                marker=dict(symbol=symbol, size=9, color=colour),
                name=name,
                hovertemplate=f"round %{{x}}: the draft was {name}<extra></extra>",
                **first,
            )


def _own_hover(trace: Trace, r: SpeculativeRound) -> str:
    """The target's own token of round `r`: its text, why it was taken, and its p (from the step that emitted it
    in a trace written before rounds recorded it)."""
    kept = r.accepted_count()
    p = r.emitted.p
    if p is None and r.tokens > kept:
        p = trace.steps[r.start + kept].chosen.prob
    line = f"{hover_escape(show_token(r.emitted.text))}<br>the target's own token ({r.emitted.kind})"
    line += "" if p is None else f": p = {p:.3f}"
    line = with_note(line, r)
    return line if r.tokens > kept else line + "<br>not emitted: the run ended before it"


def under_rows(rounds: list[SpeculativeRound]) -> list[str]:
    """The first panel's rows under the draft tokens, from y = 0 down: "found in" where prompt lookup says where it
    copied from, "drafted by" where rounds name the source that drafted them."""
    rows = ["found in"] if any(r.lookup for r in rounds) else []
    return [*rows, "drafted by"] if any(r.source for r in rounds) else rows


def position_ticks(trace: Trace) -> dict:
    """The first panel's y axis: positions 1, 2, ... and under them `under_rows`' rows, labelled."""
    rounds = trace.speculative.rounds
    top = max((len(r.proposed) + 1 for r in rounds), default=1)
    step = whole_step(top)
    ticks = list(range(step if step > 1 else 1, top + 1, step))
    below = under_rows(rounds)
    if below:
        depths = list(range(1 - len(below), 1))  # the lowest row first: -1, 0 for two rows
        labels = below[::-1] + [str(t) for t in ticks]
        return dict(tickvals=depths + ticks, ticktext=labels, range=[depths[0] - 0.6, top + 0.6])
    return dict(tickvals=ticks, range=[0.4, top + 0.6])


def whole_step(largest: int) -> int:
    """A tick step for an axis of whole numbers up to `largest`: 1, 2, 5, 10, 20, ... giving at most ten ticks."""
    step = 1
    while largest / step > 10:
        step *= 2.5 if str(step).startswith("2") else 2
    return int(step)
