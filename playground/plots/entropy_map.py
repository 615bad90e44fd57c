"""The entropy map: every step of a run placed by its entropy (how uncertain the model was) against its
varentropy (how unevenly that uncertainty is spread: the variance of the surprisal -log p over the distribution),
over the four regions entropix names.

The regions, their names and thresholds are entropix's own (github.com/xjdr-alt/entropix, commit 0a7f7bb,
`entropix/sampler.py`: `SamplerConfig` and the LELV / HELV / LEHV / HEHV cases of `sample`), in nats as its
`dslider.ent_varent` computes them:
- low entropy, low varentropy (H < 0.3, V < 1.2): "flowing with unspoken intent", the token is taken;
- high entropy, low varentropy (H > 2.5, V < 1.2): "treading carefully, asking clarifying questions";
- low entropy, high varentropy (H < 2.5, V > 2.5): "exploring forks in the path";
- high entropy, high varentropy (H > 1.2, V > 2.5): "resampling in the mist".
The conditions overlap and leave gaps; entropix takes the first that holds in that order (its argmax over the
four flags), so here HEHV is what LEHV leaves (H >= 2.5), and a step in no region is drawn as "between regions"
(entropix's argmax then falls to its first case and takes the token as drawn). entropix measures its model's raw
logits; a step here records the distribution its token was drawn from, the same at temperature 1 with no filter.
"""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go

from playground.palette import BLUE, GREEN, GREY, ORANGE, VERMILLION
from playground.plots.style import hover_escape, placeholder, show_token
from playground.trace import Trace

LOW_ENTROPY = 0.3  # entropix low_naked_entropy_threshold
MEDIUM_ENTROPY = 1.2  # entropix medium_naked_entropy_threshold
HIGH_ENTROPY = 2.5  # entropix high_naked_entropy_threshold
LOW_VARENTROPY = 1.2  # entropix low_naked_varentropy_threshold
HIGH_VARENTROPY = 2.5  # entropix high_naked_varentropy_threshold
NOT_RECORDED = (
    "This run's trace does not record varentropy (it was made before steps recorded it): generate it again to "
    "see its entropy map."
)


@dataclass(frozen=True)
class Region:
    """One of entropix's cases: its short name, what it suggests, and where it is drawn."""

    key: str  # LELV | HELV | LEHV | HEHV | between
    name: str
    suggests: str
    colour: str
    box: tuple[float, float, float, float] | None  # x0, x1, y0, y1 (None: the axis' end); None for "between"


REGIONS = (
    Region("LELV", "low entropy, low varentropy", "confident: flowing with unspoken intent, take the token",
           GREEN, (0.0, LOW_ENTROPY, 0.0, LOW_VARENTROPY)),
    Region("HELV", "high entropy, low varentropy", "uncertain alike everywhere: tread carefully, ask a clarifying "
           "question", ORANGE, (HIGH_ENTROPY, None, 0.0, LOW_VARENTROPY)),
    Region("LEHV", "low entropy, high varentropy", "a few strong options: exploring forks in the path",
           BLUE, (0.0, HIGH_ENTROPY, HIGH_VARENTROPY, None)),
    Region("HEHV", "high entropy, high varentropy", "lost: resampling in the mist", VERMILLION,
           (HIGH_ENTROPY, None, HIGH_VARENTROPY, None)),
)  # fmt: skip
BETWEEN = Region("between", "between regions", "no case holds: entropix takes the token as drawn", GREY, None)


def region(entropy: float, varentropy: float) -> Region:
    """entropix's case for a step (nats, nats squared): the first of LELV, HELV, LEHV, HEHV whose condition
    holds, as its `sample` takes the argmax of the four flags; `BETWEEN` when none does."""
    flags = (
        entropy < LOW_ENTROPY and varentropy < LOW_VARENTROPY,
        entropy > HIGH_ENTROPY and varentropy < LOW_VARENTROPY,
        entropy < HIGH_ENTROPY and varentropy > HIGH_VARENTROPY,
        entropy > MEDIUM_ENTROPY and varentropy > HIGH_VARENTROPY,
    )
    return next((r for r, flag in zip(REGIONS, flags, strict=True) if flag), BETWEEN)


def mapped_steps(trace: Trace) -> list[tuple[int, float, float]]:
    """(0-based step, entropy, varentropy) of every step that records its varentropy."""
    return [(s.index, s.entropy, s.varentropy) for s in trace.steps if s.varentropy is not None]


def entropy_map_figure(trace: Trace | None) -> go.Figure:
    """The run's steps as points of entropy (x) against varentropy (y) over entropix's regions, one colour per
    region, a point's hover naming its step and token; each point's customdata is its 0-based step, which a click
    sends back."""
    if trace is None or not trace.steps:
        return placeholder("Generate a run to see where each of its steps falls.")
    points = mapped_steps(trace)
    if not points:
        return placeholder(NOT_RECORDED)
    right = max(4.0, max(h for _, h, _ in points) * 1.1)
    top = max(4.0, max(v for _, _, v in points) * 1.1)
    fig = go.Figure()
    for shown in REGIONS:
        _shade(fig, shown, right, top)
    for shown in (*REGIONS, BETWEEN):
        mine = [p for p in points if region(p[1], p[2]) is shown]
        fig.add_trace(_points(trace, shown, mine))
    fig.update_layout(
        height=520,
        margin=dict(l=60, r=20, t=60, b=50),
        xaxis=dict(title="entropy (nats)", range=[0, right], zeroline=False),
        yaxis=dict(title="varentropy (nats²)", range=[0, top], zeroline=False),
        showlegend=True,  # every region named with its count, the empty ones too
        legend=dict(orientation="h", y=1.02, yanchor="bottom", title_text="steps by region:"),
        clickmode="event",
        hovermode="closest",
    )
    return fig


def _shade(fig: go.Figure, shown: Region, right: float, top: float) -> None:
    """A region's box, lightly filled, with its name and what it suggests written inside."""
    x0, x1, y0, y1 = shown.box
    x1, y1 = right if x1 is None else x1, top if y1 is None else y1
    fig.add_shape(type="rect", x0=x0, x1=x1, y0=y0, y1=y1, fillcolor=shown.colour, opacity=0.12, line_width=0,
                  layer="below")  # fmt: skip
    label = f"<b>{shown.key}</b>: {shown.name}<br>{shown.suggests}"
    fig.add_annotation(x=x0, y=y1, xshift=4, yshift=-4, text=label, showarrow=False, xanchor="left", yanchor="top",
                       align="left",
                       font=dict(size=11, color=shown.colour), bgcolor="rgba(255,255,255,0.7)")  # fmt: skip


def _points(trace: Trace, shown: Region, points: list[tuple[int, float, float]]) -> go.Scatter:
    """One region's steps as markers (an empty trace still names the region in the legend)."""
    hover = [
        f"Step {i + 1}: {hover_escape(show_token(trace.steps[i].chosen.text))}<br>entropy {h:.3f} nats · "
        f"varentropy {v:.3f}<br>{shown.key}: {shown.suggests}"
        for i, h, v in points
    ]
    return go.Scatter(
        x=[h for _, h, _ in points],
        y=[v for _, _, v in points],
        mode="markers",
        name=f"{shown.key} ({len(points)})" if shown is not BETWEEN else f"between ({len(points)})",
        marker=dict(color=shown.colour, size=10, line=dict(color="white", width=1)),
        customdata=[[i] for i, _, _ in points],
        hovertext=hover,
        hoverinfo="text",
    )
