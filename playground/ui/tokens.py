"""The Output text as HTML: one span per generated token, coloured as the "Colour by" control says
(`colour_by.py`), with its top alternatives in a hover card, and a step number a click sends back to the page.

Pure functions of trace Steps, so the same HTML is built while a run streams and from a loaded trace file.
The spans carry no wrapping element: while a run streams the value only grows at its end, which Gradio sends
as a short diff instead of the whole text again.
"""

from __future__ import annotations

import html
import json
from typing import Any

from playground.characters import Characters, candidate_text
from playground.plots.style import show_token, spaced_hex
from playground.trace import Candidate, Comparison, Step, Trace
from playground.ui.colour_by import LABELS, PROBABILITY_BANDS, band_of, colour_classes, figures_line, legends

# The probability bands' labels, least likely first (assets/style.css shades them from strong to none in one
# hue, so the order reads without telling colours apart).
BAND_LABELS = {name: LABELS[name] for _, name in PROBABILITY_BANDS}
ALTERNATIVES = 5  # candidates listed in a token's hover card
ORIGIN_TEXT = {"inherited": "from the run this one branched from", "forced": "chosen by you: the branch point"}

# The legends below the text, one per "Colour by" mode; static, so they live in the component's template.
LEGEND = legends()


def band(prob: float) -> str:
    """The CSS class of a probability's band."""
    return band_of(prob, PROBABILITY_BANDS)


def hover_card(step: Step, pending: bytes = b"") -> str:
    """The text of a token's hover card: the step, the chosen token's probability and the top alternatives
    (each as it would read after `pending`, the bytes of a character the text before the step left unfinished).

    Probabilities are the final distribution's, the one the token was drawn from.
    """
    lines = [f"step {step.index + 1} · p = {step.chosen.prob:.3f} · entropy {step.entropy:.2f} nats"]
    lines.append(figures_line(step.chosen.prob, step.chosen.rank, step.entropy, step.varentropy))
    if step.chosen.bytes is not None:
        lines.append(f"bytes {spaced_hex(step.chosen.bytes)}: part of a character split over tokens")
    if step.origin is not None:
        lines.append(ORIGIN_TEXT[step.origin])
    ranked = sorted(step.candidates, key=lambda c: c.probs.get("final", 0.0), reverse=True)
    for cand in ranked[:ALTERNATIVES]:
        mark = "▸" if cand.id == step.chosen.id else " "
        lines.append(f"{mark} {show_token(candidate_text(cand, pending)):<14} {cand.probs.get('final', 0.0):.3f}")
    return "\n".join(lines)


def others(step: Step) -> list[Candidate]:
    """The recorded candidates of `step` but the one taken, most likely first (by the final distribution)."""
    return sorted(
        (c for c in step.candidates if c.id != step.chosen.id), key=lambda c: c.probs.get("final", 0.0), reverse=True
    )


def alternatives(step: Step, pending: bytes = b"") -> list[list[Any]]:
    """The tokens one could take at `step` instead of the chosen one, most likely first, for the card a click
    pins (the page's script makes one button of each): [token id, shown text, final probability]. A token that
    is part of a character reads as what it would add after `pending` (`candidate_text`)."""
    return [
        [c.id, show_token(candidate_text(c, pending)), round(c.probs.get("final", 0.0), 4)]
        for c in others(step)[:ALTERNATIVES]
    ]


def token_span(step: Step, extra: str = "", shown: str | None = None, pending: bytes = b"") -> str:
    """One token as a span: `shown` (the token's text when None) escaped, band class (plus `extra` classes),
    0-based step index, hover card, and the alternatives a click offers to take instead (read after `pending`,
    the bytes of a character left unfinished before the step). A token that is part of a split character is
    marked "bytes" (and "part" when it shows nothing, so it keeps a width to hover)."""
    if step.origin is not None:
        extra += f" {step.origin}"
    text = step.chosen.text if shown is None else shown
    if step.chosen.bytes is not None:
        extra += " bytes" + ("" if text else " part")
    alts = json.dumps(alternatives(step, pending), ensure_ascii=False)
    return (
        f'<span class="tok {colour_classes(step.chosen.prob, step.chosen.rank, step.entropy)}{extra}" '
        f'data-step="{step.index}" '
        f'data-tip="{html.escape(hover_card(step, pending), quote=True)}" data-alts="{html.escape(alts, quote=True)}">'
        f"{html.escape(text)}</span>"
    )


def plain_text(text: str) -> str:
    """Text without per-token records (a beam search's running best, an empty output) as escaped HTML."""
    return f'<span class="plain">{html.escape(text)}</span>' if text else ""


def trace_html(trace: Trace | None) -> str:
    """The finished run's text, one span per generated token (for beam search: the returned best beam). The
    end-of-sequence token, when the run chose one, is marked as such rather than hidden: it was a choice too."""
    if trace is None:
        return ""
    if not trace.steps:
        return plain_text(trace.output.text)
    chars = Characters()
    spans = [next_span(chars, step) for step in trace.steps[:-1]]
    ended = " eos" if trace.output.stop_reason == "eos" else ""
    return "".join(spans) + next_span(chars, trace.steps[-1], ended, last=True)


def next_span(chars: Characters, step: Step, extra: str = "", last: bool = False) -> str:
    """The span of `step`, the next token of a text whose characters `chars` has joined so far (the same for a
    streaming run and a finished trace); `last` closes the text, showing bytes it left unfinished as "�"."""
    pending = chars.pending
    shown = chars.shown(step) + (chars.finish() if last else "")
    return token_span(step, extra, shown, pending)


def aligned_html(a: Trace, comparison: Comparison) -> str:
    """A's text and B's own text token by token, one row each; from the first token where they differ on, the
    tokens are marked, so the point where B would have gone another way stands out."""
    a_row = [(step.chosen.text, step.chosen.bytes) for step in a.steps]
    b_bytes = comparison.b_bytes if len(comparison.b_bytes) == len(comparison.b_texts) else None
    b_row = list(zip(comparison.b_texts, b_bytes or [None] * len(comparison.b_texts), strict=True))
    cut = comparison.first_difference

    def row(label: str, tokens: list[tuple[str, str | None]]) -> str:
        shown = Characters.joined(tokens)  # a character split over tokens reads whole, as in the Output
        spans = "".join(
            f'<span class="tok{" differs" if i >= cut else ""}">{html.escape(text)}</span>'
            for i, text in enumerate(shown)
        )
        return f'<div class="aligned-row"><span class="side">{label}</span><span class="text">{spans}</span></div>'

    return row("A", a_row) + row("B", b_row)
