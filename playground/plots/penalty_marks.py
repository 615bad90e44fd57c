"""What DRY and the presence/frequency penalties did to a step's candidates, on their bars and in words.

DRY's step note (`engine/samplers/dry.py`) names each penalized token with L, where the earlier span it would
repeat starts in the context and the penalty; the presence/frequency penalty needs no note: each candidate's count
in the window comes from the trace's tokens and the run's knobs, as the processor counted it. Pure functions of a
trace and a step; `stage_figure` draws the marks, `stage_notes.SENTENCES` says DRY's line.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from playground.plots.context_marks import context_ids, token_texts
from playground.plots.style import STAGE_COLOURS, hover_escape, show_token
from playground.trace import Trace
from playground.words import counted

SPAN = 6  # tokens of a repeated span spelled out; a longer one reads "…" and its last SPAN tokens


def stage_before(trace: Trace, index: int, stage: str) -> str:
    """The stage whose distribution `stage` processed at step `index`, in the run's order ("raw" when first)."""
    names = [s for s in trace.stage_order() if s in trace.steps[index].candidates[0].probs]
    return names[max(0, names.index(stage) - 1)]


def where_from(trace: Trace, position: int) -> str:
    """A context position in words: "the prompt", or the 1-based step that chose that token."""
    prompt = len(trace.prompt.token_ids)
    return "the prompt" if position < prompt else f"step {position - prompt + 1}"


def spelled_span(trace: Trace, index: int, start: int, length: int) -> str:
    """The `length` tokens of step `index`'s context from `start`, as text (its last SPAN tokens, "…" before a cut
    and for a token the trace holds no text of: the prompt's own tokens are stored as ids only)."""
    texts = token_texts(trace)
    ids = context_ids(trace, index)[start : start + length]
    cut = "…" if len(ids) > SPAN else ""
    return cut + "".join(texts.get(i, "…") for i in ids[-SPAN:])


def dry_reason(trace: Trace, index: int, entry: dict[str, Any]) -> str:
    """One penalized token's reason: "' is' would repeat '…the city is' from step 12, L = 4"."""
    span = spelled_span(trace, index, entry["start"], entry["L"])
    token = token_texts(trace).get(entry["id"], "…")
    where = where_from(trace, entry["start"])
    return f"{show_token(token)!r} would repeat {show_token(span + token)!r} from {where}, L = {entry['L']}"


def dry_sentence(note: dict[str, Any], trace: Trace, index: int) -> str:
    """DRY's line in the step view: the top penalized token's reason, and how many more it pushed down."""
    first, count = note["penalized"][0], note["count"]
    more = f"; {counted(count - 1, 'more token')} pushed down (marked on their bars)" if count > 1 else ""
    return f"DRY: {dry_reason(trace, index, first)}{more}"


def dry_marks(fig: go.Figure, trace: Trace, index: int, labels: list[str], xshift: int = 6) -> int:
    """Marks every candidate of step `index` that DRY's note names with L and its p before → after the penalty,
    the hover giving the span it would repeat; returns how many it marked."""
    step = trace.steps[index]
    note = (step.notes or {}).get("dry")
    if not note or not step.candidates or "dry" not in step.candidates[0].probs:
        return 0
    named = {entry["id"]: entry for entry in note["penalized"]}
    before_stage = stage_before(trace, index, "dry")
    marked = 0
    for label, c in zip(labels, step.candidates, strict=True):
        if c.id not in named:
            continue
        entry, before, after = named[c.id], c.probs[before_stage], c.probs["dry"]
        cost = f"DRY took {entry['penalty']:.3g} off its logit, p {before:.4f} → {after:.4f}"
        why = f"{dry_reason(trace, index, entry)}: {cost}"
        _bar_mark(fig, label, max(before, after), f"DRY L{entry['L']} {before:.2f}→{after:.2f}", why, "dry", xshift)
        marked += 1
    return marked


def window_counts(trace: Trace, index: int) -> dict[int, int]:
    """How often each token occurs in the presence/frequency penalty's window at step `index`: the last
    penalty_last_n tokens of the context (all of them at -1), prompt included."""
    context = context_ids(trace, index)
    last_n = int(trace.settings.get("penalty_last_n", 64))
    window = context if last_n < 0 else context[max(len(context) - last_n, 0) :]
    counts: dict[int, int] = {}
    for token in window:
        counts[token] = counts.get(token, 0) + 1
    return counts


def count_marks(fig: go.Figure, trace: Trace, index: int, labels: list[str]) -> str | None:
    """Marks every candidate of step `index` the presence/frequency penalty touched with its count in the window
    ("×3"), its hover giving the arithmetic; returns the step view's line about them, or None."""
    step = trace.steps[index]
    if not step.candidates or "presence_frequency" not in step.candidates[0].probs:
        return None
    counts, settings = window_counts(trace, index), trace.settings
    presence, frequency = float(settings.get("presence_penalty", 0.0)), float(settings.get("frequency_penalty", 0.0))
    before_stage = stage_before(trace, index, "presence_frequency")
    marked = 0
    for label, c in zip(labels, step.candidates, strict=True):
        n = counts.get(c.id, 0)
        if not n:
            continue
        before, after = c.probs[before_stage], c.probs["presence_frequency"]
        why = (f"{show_token(c.text)!r} occurs {n}× in the window: {presence:g} + {n} × {frequency:g} = "
               f"{presence + n * frequency:g} off its logit, p {before:.4f} → {after:.4f}")  # fmt: skip
        _bar_mark(fig, label, max(before, after), f"×{n}", why, "presence_frequency", 0, upright=True)
        marked += 1
    if not marked:
        return None
    last_n = int(settings.get("penalty_last_n", 64))
    window = "the whole context" if last_n < 0 else f"the last {last_n} tokens"
    return (f"presence/frequency: {counted(marked, 'candidate')} in {window} (marked ×count), each logit "
            f"{presence:g} + count × {frequency:g} lower")  # fmt: skip


def mark_penalties(fig: go.Figure, trace: Trace, index: int, labels: list[str], beside: bool) -> list[str]:
    """DRY's and the presence/frequency penalty's marks on step `index`'s candidates (DRY's stand further right when
    `beside` a repetition penalty's ⟲ marks); returns the lines the step view says beyond the stages' notes."""
    dry_marks(fig, trace, index, labels, xshift=14 if beside else 6)
    line = count_marks(fig, trace, index, labels)
    return [line] if line else []


def _bar_mark(fig: go.Figure, label: str, top: float, text: str, why: str, stage: str, xshift: int, upright=False):
    """A mark on a candidate's bar group in `stage`'s colour: down the bar (or above it, `upright`), hover `why`."""
    tall = top > 0.6 and not upright  # a long label would run off the top: write it down the bar instead
    fig.add_annotation(
        x=label, y=top, text=hover_escape(text), hovertext=hover_escape(why), showarrow=False,
        yshift=-4 if tall else 4, xshift=xshift, textangle=0 if upright else -90, yanchor="top" if tall else "bottom",
        font=dict(color=STAGE_COLOURS[stage], size=10),
    )  # fmt: skip
