"""The Sample many views, drawn from a many-sample trace: the samples' prefix tree, their distinct
continuations by count beside the model's probability of each, and how much they differ at each position."""

from __future__ import annotations

import math
from collections import Counter

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from playground.plots.mass import BRANCH_COLOURS, sunburst
from playground.plots.style import BLUE, GREY, ORANGE, hover_escape, placeholder, preview, show_token
from playground.trace import Sample, Trace
from playground.words import counted

TREE_DEPTH = 8  # tokens of the prefix tree: deeper rings are too thin to read
TOP_CONTINUATIONS = 20


def path_probability(sample: Sample, length: int, start: int = 0) -> float:
    """The model's probability of the sample's `length` tokens from `start` under the run's settings: the product
    of each token's probability after the ones before it (exact: the distributions the samples were drawn from)."""
    return math.prod(sample.probs[start : start + length])


def forced_count(trace: Trace) -> int:
    """How many tokens every sample starts with because the run continued a prefix (its forced tokens): the
    tree and the per-position view begin after them, where the samples were drawn."""
    return len(trace.settings.get("prefix_ids") or ())


def samples_tree_figure(trace: Trace, depth: int = TREE_DEPTH) -> go.Figure:
    """The samples' first `depth` tokens as a sunburst: ring k = the k-th token, each arc as wide as the share
    of samples whose text starts with that path; the hover adds the model's probability of the path, so the
    empirical share and the exact probability can be set side by side."""
    samples = trace.samples.samples
    texts = trace.samples.texts
    total = len(samples)
    start = forced_count(trace)
    counts: Counter[tuple[int, ...]] = Counter()
    probability: dict[tuple[int, ...], float] = {}
    for sample in samples:
        for length in range(1, min(depth, len(sample.token_ids) - start) + 1):
            path = tuple(sample.token_ids[start : start + length])
            counts[path] += 1
            probability.setdefault(path, path_probability(sample, length, start))
    root = "prompt + forced tokens" if start else "prompt"
    ids, labels, parents, values, colours, hover = ["root"], [root], [""], [total], ["white"], [""]
    on_arcs = [root]
    hover[0] = f"{total} samples"
    firsts = [path for path, _ in counts.most_common() if len(path) == 1]
    shade = {path: BRANCH_COLOURS[rank % len(BRANCH_COLOURS)] for rank, path in enumerate(firsts)}
    for path, count in sorted(counts.items(), key=lambda item: (len(item[0]), -item[1])):
        ids.append("/".join(map(str, path)))
        labels.append(show_token(texts[str(path[-1])]))
        parents.append("/".join(map(str, path[:-1])) or "root")
        values.append(count)
        colours.append(shade[path[:1]])
        # On the arc: the token, the share of samples that took the path, the model's probability of it.
        on_arcs.append(f"{labels[-1]}<br>{count / total:.0%} · p {probability[path]:.0%}")
        words = hover_escape("".join(texts[str(t)] for t in path))
        hover.append(
            f"{words}<br>{count} of {total} samples ({count / total:.1%})<br>"
            f"the model's probability of this path: {probability[path]:.2%}"
        )
    # Counts are whole numbers, so a path's children never outnumber it: "total" sizes hold exactly.
    fig = sunburst(ids, labels, parents, values, colours, hover, "total", on_arcs)
    fig.update_layout(
        title=f"{total} samples, their first {counted(depth, 'token')}: arc width = share of samples (on the arc, "
        "with the model's probability of the path)",
        height=620,
        margin=dict(l=10, r=10, t=60, b=10),
    )
    return fig


def continuations_figure(trace: Trace, top: int = TOP_CONTINUATIONS) -> go.Figure:
    """The distinct continuations, most frequent first: the share of samples that wrote each, beside the
    model's probability of writing exactly it (the product of its tokens' probabilities)."""
    samples = trace.samples.samples
    total = len(samples)
    groups: dict[tuple[int, ...], list[Sample]] = {}
    for sample in samples:
        groups.setdefault(tuple(sample.token_ids), []).append(sample)
    ranked = sorted(groups.values(), key=lambda group: -len(group))[:top]
    if not ranked:
        return placeholder("No samples to rank.")
    labels = [f"{rank}. {preview(group[0].text, 40)}" for rank, group in enumerate(ranked, start=1)]
    shares = [len(group) / total for group in ranked]
    exact = [path_probability(group[0], len(group[0].token_ids)) for group in ranked]
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.02, column_widths=[0.6, 0.4])
    fig.add_bar(
        x=shares,
        y=labels,
        orientation="h",
        marker_color=BLUE,
        name="share of samples",
        customdata=[[len(group), hover_escape(group[0].text)] for group in ranked],
        hovertemplate="%{customdata[1]}<br>%{customdata[0]} samples (%{x:.1%})<extra></extra>",
        row=1,
        col=1,
    )
    fig.add_scatter(
        x=exact,
        y=labels,
        mode="markers",
        marker=dict(color=ORANGE, size=9, symbol="diamond"),
        name="the model's probability of exactly this text",
        hovertemplate="p = %{x:.3g}<extra></extra>",
        row=1,
        col=2,
    )
    distinct = len(groups)
    fig.update_layout(
        title=f"{distinct} distinct continuations among {total} samples (the {len(ranked)} most frequent)",
        height=max(300, 120 + 26 * len(ranked)),
        yaxis=dict(autorange="reversed"),
        xaxis=dict(title="share of samples", tickformat=".0%"),
        xaxis2=dict(title="probability of the whole text (log)", type="log"),
        legend=dict(orientation="h", y=-0.15),
        margin=dict(l=10, r=10, t=60, b=10),
    )
    return fig


def diversity_figure(trace: Trace) -> go.Figure:
    """Per position: how many samples reach it, how many different tokens they write there, and the entropy of
    those tokens across samples (0 when all agree)."""
    samples = trace.samples.samples
    longest = max((len(sample.token_ids) for sample in samples), default=0)
    reach, distinct, spread = [], [], []
    for position in range(forced_count(trace), longest):
        tokens = Counter(sample.token_ids[position] for sample in samples if len(sample.token_ids) > position)
        n = sum(tokens.values())
        reach.append(n)
        distinct.append(len(tokens))
        spread.append(-sum(c / n * math.log(c / n) for c in tokens.values()))
    x = list(range(forced_count(trace) + 1, longest + 1))
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_bar(x=x, y=distinct, name="different tokens", marker_color=BLUE, opacity=0.8)
    fig.add_scatter(x=x, y=reach, name="samples still going", mode="lines", line=dict(color=GREY, dash="dot"))
    fig.add_scatter(x=x, y=spread, name="entropy across samples (nats)", mode="lines+markers",
                    line=dict(color=ORANGE), secondary_y=True)  # fmt: skip
    fig.update_layout(
        title="How much the samples differ at each position",
        height=320,
        xaxis=dict(title="position"),
        yaxis=dict(title="samples / tokens"),
        legend=dict(orientation="h", y=-0.3),
        margin=dict(l=10, r=10, t=50, b=10),
    )
    fig.update_yaxes(title_text="entropy (nats)", secondary_y=True)
    return fig
