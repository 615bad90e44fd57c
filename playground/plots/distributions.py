"""Token distributions: one step's candidates through every stage of the pipeline, and an overview of all steps."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from playground.characters import candidate_text, pending_before
from playground.plots.context_marks import earlier, repeated_ngram, token_texts
from playground.plots.penalty_marks import mark_penalties
from playground.plots.stage_notes import Series, note_lines, note_series
from playground.plots.style import (
    BLUE,
    GREY,
    ORANGE,
    STAGE_COLOURS,
    STAGE_LABELS,
    VERMILLION,
    hover_escape,
    preview,
    show_token,
    spaced_hex,
    stage_label,
)
from playground.stages import FILTERS
from playground.trace import Trace
from playground.words import counted, ordinal


def _stages_of(trace: Trace, step) -> list[str]:
    """The stages step `step` of `trace` recorded, in the order the run applied them."""
    present = set(step.candidates[0].probs) if step.candidates else {"raw", "final"}
    # "final" repeats the last stage's numbers; show it only when no stage ran (it is then the raw softmax).
    names = [s for s in trace.stage_order() if s in present and s != "final"]
    return names if len(names) > 1 else [*names, "final"]


LABEL = 14  # characters of a candidate's token in its axis label
# Top-p's running total: a dark grey line of hollow points, a colour no stage's bars have (every palette colour is
# some stage's; it was temperature's amber), between raw's light grey and min-p's black.
CUMULATIVE = "#4D4D4D"


# Above the plot area, in pixels: the title (and the penalty note as its subtitle) stands on a band that holds
# the "chosen" label, its arrow's length plus the text, so the label is never drawn over either line. The legend
# stands right of the plot area, clear of both axis titles.
CHOSEN_RISE = 20  # the "chosen" arrow's length: its text is centred this far above the plot area
CHOSEN_BAND = 36  # CHOSEN_RISE plus half a line of text and a gap
TITLE_LINE = 28  # the title's line (17 px text)
NOTE_LINE = 20  # the subtitle's line
# The page writes the view's name (Gradio's block label, 29 px tall, 6 px from the top) over the figure's top-left
# corner, where the title begins: the title starts below it, 10 px clear. The figure grows by that and by each note
# line, so that the bars keep the height they have in a step with nothing to say.
BLOCK_LABEL = 24
HEIGHT = 450  # Gradio's own height for a plot


def stage_figure(trace: Trace, index: int) -> go.Figure:
    """Step `index`'s top candidates, one bar group per stage, removed tokens cut and labelled by their stage.

    Args:
        trace: any run's trace with steps.
        index: the step (0-based); raises IndexError when out of range.
    """
    step = trace.steps[index]
    cands = step.candidates
    # Cut long tokens (a newline and thirty spaces): the rank keeps every label distinct. A candidate that is
    # part of a character reads as what it would add to the text (the character it completes, or its bytes).
    pending = pending_before(trace.steps[:index])
    # The chosen token keeps its own rank: a sampled one from far down the list fills the last place.
    ranks = [step.chosen.rank if c.id == step.chosen.id and step.chosen.rank else i + 1 for i, c in enumerate(cands)]
    labels = [
        f"{r}. {preview(show_token(candidate_text(c, pending)), LABEL)}" for r, c in zip(ranks, cands, strict=True)
    ]
    fig = go.Figure()
    for stage in _stages_of(trace, step):
        probs = [c.probs.get(stage, 0.0) for c in cands]
        fig.add_bar(
            name=STAGE_LABELS[stage],
            x=labels,
            y=probs,
            marker_color=STAGE_COLOURS[stage],
            hovertemplate="%{x}<br>" + STAGE_LABELS[stage] + ": %{y:.4f}<extra></extra>",
        )
    _cut_marks(fig, trace, index, labels)
    penalized = _penalty_marks(fig, trace, index, labels)
    said = mark_penalties(fig, trace, index, labels, beside=bool(penalized))
    chosen = next((label for label, c in zip(labels, cands, strict=True) if c.id == step.chosen.id), None)
    if chosen is not None:
        fig.add_annotation(
            x=chosen, y=1.0, yref="paper", text="chosen", showarrow=True, ax=0, ay=-CHOSEN_RISE, arrowcolor=BLUE,
            font=dict(color=BLUE), yanchor="middle",
        )  # fmt: skip
    if cands and "top_p" in cands[0].probs:
        _cumulative(fig, trace, step, labels)
    lines = [*said, *note_lines(trace, index)]
    if penalized:
        lines.insert(0, f"{counted(penalized, 'candidate')} already in the context (marked ⟲): the repetition "
                        "penalty moved each one's p as labelled; hover for where it appeared")  # fmt: skip
    note = "<br>".join(hover_escape(line) for line in lines) or None
    # Plotly stands the title's first line on `band` and draws the subtitle below it, into the band.
    band = CHOSEN_BAND + NOTE_LINE * len(lines)
    fig.update_layout(
        title=dict(
            text=_title(trace, index, pending), subtitle=dict(text=note), yref="paper", y=1, yanchor="bottom",
            pad=dict(b=band),
        ),
        barmode="group",
        yaxis=dict(title="probability", range=[0, 1.05]),
        xaxis=dict(title="candidates, ranked by the model before penalties and filters", tickangle=-45,
                   automargin=True),
        legend=dict(orientation="v", x=1.02, xanchor="left", y=1, yanchor="top"),
        margin=dict(t=BLOCK_LABEL + band + TITLE_LINE + 8, b=120),
        height=HEIGHT + BLOCK_LABEL + NOTE_LINE * len(lines),
    )  # fmt: skip
    return fig


def _cut_marks(fig: go.Figure, trace: Trace, index: int, labels: list[str]) -> None:
    """Marks every candidate of step `index` that a stage removed with the stage's control ("✂ Top-k"), or, for
    the n-gram ban, with the n-gram it would repeat."""
    ngram = int(trace.settings.get("no_repeat_ngram_size") or 0)
    texts = token_texts(trace) if ngram else {}
    for label, c in zip(labels, trace.steps[index].candidates, strict=True):
        if not c.removed_by:
            continue
        text, why = f"✂ {stage_label(c.removed_by)}", None
        repeat = repeated_ngram(trace, index, c.id, ngram) if c.removed_by == "no_repeat_ngram" else None
        if repeat is not None:
            spelled = "".join(texts.get(i, "…") for i in repeat.token_ids)
            text = f"✂ repeats {show_token(spelled)!r}"
            where = "in the prompt" if repeat.first_step is None else f"ending at step {repeat.first_step}"
            why = f"{show_token(c.text)!r} would repeat the {ngram}-gram {spelled!r}, seen before {where}"
        fig.add_annotation(
            x=label,
            y=0,
            text=hover_escape(text),
            hovertext=hover_escape(why) if why else None,
            showarrow=False,
            yshift=10,
            xshift=-6,  # left of the group's centre: a penalty mark may stand at the right (both read)
            textangle=-90,
            font=dict(color=VERMILLION, size=10),
            # On white: a filter that removes the likeliest tokens (XTC) writes over its group's tallest, darkest bars.
            bgcolor="rgba(255, 255, 255, 0.85)",
            borderpad=1,
            yanchor="bottom",
        )


def _cumulative(fig: go.Figure, trace: Trace, step, labels: list[str]) -> None:
    """Top-p's running total over the candidates (from the distribution it filtered) and its cut-off line."""
    top_p = trace.settings.get("top_p", 1.0)
    before = _stage_before(trace, step, "top_p")
    cumulative, total = [], 0.0
    for c in step.candidates:
        total += c.probs[before]
        cumulative.append(total)
    fig.add_scatter(
        name=f"cumulative ({STAGE_LABELS[before]})",
        x=labels,
        y=cumulative,
        mode="lines+markers",
        line=dict(color=CUMULATIVE, dash="dot", width=1.5),
        marker=dict(color=CUMULATIVE, symbol="circle-open", size=7),
        yaxis="y",
    )
    fig.add_hline(y=top_p, line=dict(color=GREY, dash="dash"), annotation_text=f"{stage_label('top_p')} = {top_p:g}")


def _title(trace: Trace, index: int, pending: bytes) -> str:
    """The step's first title line: who chose which token, how likely, the entropy, and what the filters left."""
    step = trace.steps[index]
    # A branch's forced steps were not chosen by the model: say who chose them.
    who = {"forced": "you took", "inherited": "inherited"}.get(step.origin, "chose")
    raw = f"bytes {spaced_hex(step.chosen.bytes)} of a split character, " if step.chosen.bytes else ""
    token = show_token(candidate_text(step.chosen, pending))
    title = f"Step {index + 1}: {who} {token!r} ({raw}p = {step.chosen.prob:.3f}, entropy {step.entropy:.2f} nats"
    return f"{title}{_left(trace, step)})"


def _left(trace: Trace, step) -> str:
    """How many tokens the filters left (a recorded top 20 cannot show top-p keeping 60), and why more than k
    are left after top-k: transformers' TopKLogitsWarper keeps every token whose score ties the k-th."""
    stages = set(_stages_of(trace, step))
    if not step.kept or not FILTERS & stages:
        return ""
    left = f", {counted(step.kept, 'token')} left"
    k = int(trace.settings.get("top_k") or 0)
    if "top_k" in stages and step.kept > k > 0:  # the later filters only remove: a tie at the k-th kept more
        left += f": {stage_label('top_k')} {k} keeps a tie at the {ordinal(k)} score"
    return left


def _penalty_marks(fig: go.Figure, trace: Trace, index: int, labels: list[str]) -> int:
    """Marks every candidate of step `index` that the repetition penalty touched, the tokens already in the
    context, with its probability before and after the penalty; returns how many it marked."""
    step = trace.steps[index]
    if not step.candidates or "repetition_penalty" not in step.candidates[0].probs:
        return 0
    seen = earlier(trace, index)
    marked = 0
    for label, c in zip(labels, step.candidates, strict=True):
        if c.id not in seen:
            continue
        before, after = c.probs[_stage_before(trace, step, "repetition_penalty")], c.probs["repetition_penalty"]
        tall = max(before, after) > 0.6  # the label would run off the top: write it down the bar instead
        fig.add_annotation(
            x=label,
            y=max(before, after),
            text=f"⟲ {before:.2f}→{after:.2f}",
            hovertext=hover_escape(
                f"{show_token(c.text)!r} is in the context {seen[c.id]}: the repetition penalty moved its p "
                f"from {before:.4f} to {after:.4f}"
            ),
            showarrow=False,
            yshift=-4 if tall else 4,
            xshift=6,
            textangle=-90,
            yanchor="top" if tall else "bottom",
            font=dict(color=STAGE_COLOURS["repetition_penalty"], size=10),
        )
        marked += 1
    return marked


def _stage_before(trace: Trace, step, stage: str) -> str:
    """The stage whose distribution `stage` processed at `step`, in the run's order ("raw" when it ran first)."""
    names = [s for s in trace.stage_order() if s in step.candidates[0].probs]
    return names[max(0, names.index(stage) - 1)]


# The overview's rows and the gaps between them, in pixels: each gap holds the title of the row below it, clear of
# the row above however many series rows a run adds (a fraction of the figure would shrink as rows are added).
OVERVIEW_ROW = 150  # the two rows every run has: the chosen token's probability, the entropy
SERIES_ROW = 110  # each stage note's row
ROW_GAP = 48  # a subplot title (16 px) with room above and below it
OVERVIEW_TOP, OVERVIEW_BOTTOM = 40, 60  # the first title above, the "step" axis title below


def overview_rows(series: int) -> tuple[int, list[int], float]:
    """The overview's height in pixels, each row's height (pixels) and the gap between rows as make_subplots takes
    it (a fraction of the plot area), for a run with `series` stage-note rows under its two."""
    rows = [OVERVIEW_ROW, OVERVIEW_ROW, *[SERIES_ROW] * series]
    area = sum(rows) + ROW_GAP * (len(rows) - 1)
    return OVERVIEW_TOP + area + OVERVIEW_BOTTOM, rows, ROW_GAP / area


def overview_figure(trace: Trace) -> go.Figure:
    """Every step at a glance: the chosen token's probability, the distribution's entropy, and a line for each
    stage note worth following over the run (mirostat's mu, dynamic temperature's T, the steps where XTC excluded
    tokens), a line of numbers titled with its mean and crossed by its reference lines from the run's settings."""
    steps = trace.steps
    x = [s.index + 1 for s in steps]
    tokens = [show_token(s.chosen.text) for s in steps]
    series = note_series(trace)
    titles = ("probability of the chosen token", "entropy (nats)", *(_series_title(s) for s in series))
    height, rows, gap = overview_rows(len(series))
    fig = make_subplots(rows=len(titles), cols=1, shared_xaxes=True, vertical_spacing=gap, row_heights=rows,
                        subplot_titles=titles)  # fmt: skip
    fig.add_bar(
        x=x,
        y=[s.chosen.prob for s in steps],
        customdata=tokens,
        marker_color=BLUE,
        name="p(chosen)",
        hovertemplate="step %{x}: %{customdata}<br>p = %{y:.3f}<extra></extra>",
        row=1,
        col=1,
    )
    fig.add_scatter(
        x=x,
        y=[s.entropy for s in steps],
        customdata=tokens,
        mode="lines+markers",
        name="entropy",
        line=dict(color=ORANGE),
        hovertemplate="step %{x}: %{customdata}<br>%{y:.2f} nats<extra></extra>",
        row=2,
        col=1,
    )
    for row, line in enumerate(series, start=3):
        _series_row(fig, line, row, dict(zip(x, tokens, strict=True)))
    fig.update_yaxes(range=[0, 1.05], row=1, col=1)
    fig.update_xaxes(title_text="step", row=len(titles), col=1)
    fig.update_layout(showlegend=False, height=height, margin=dict(t=OVERVIEW_TOP, b=OVERVIEW_BOTTOM))
    return fig


def _series_title(series: Series) -> str:
    """A stage note's row title: the stage's control, what the note is, and a line of numbers' mean."""
    title = f"{stage_label(series.stage)}: {series.label}"
    return title if series.mean is None else f"{title} · mean {series.mean:.2f}"


def _series_row(fig: go.Figure, series: Series, row: int, tokens: dict[int, str]) -> None:
    """One stage note over the run in its own row: a line of its values, or marks at the steps where it is true."""
    colour = STAGE_COLOURS[series.stage]
    if series.marks:
        steps = [step for step, value in zip(series.steps, series.values, strict=True) if value]
        fig.add_scatter(
            x=steps,
            y=[1] * len(steps),
            customdata=[tokens.get(s, "") for s in steps],
            mode="markers",
            marker=dict(color=colour, size=10, symbol="diamond"),
            name=series.label,
            hovertemplate="step %{x}: %{customdata}<extra>" + series.label + "</extra>",
            row=row,
            col=1,
        )
        fig.update_yaxes(range=[0, 2], showticklabels=False, row=row, col=1)
        return
    fig.add_scatter(x=series.steps, y=series.values, customdata=[tokens.get(s, "") for s in series.steps],
                    mode="lines+markers", line=dict(color=colour), name=series.label,
                    hovertemplate="step %{x}: %{customdata}<br>%{y:.3f}<extra>" + series.label + "</extra>",
                    row=row, col=1)  # fmt: skip
    for value, what in series.lines:
        fig.add_hline(
            y=value,
            line=dict(color=GREY, dash="dash", width=1),
            annotation_text=f"{what} {value:g}",
            annotation_position="top left",
            annotation_font=dict(color=GREY, size=11),
            row=row,
            col=1,
        )
