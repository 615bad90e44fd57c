"""What the "Compress the prompt" panel shows: the prompt token by token, coloured by its loss (the Output's
bands, read as the probability exp(-loss) the model gave the token) with the dropped ones struck through; one
line of counts; then both prompts' answers side by side, the KL per step of the original's answer under the
compressed prompt (Compare's figure), and the prefill saved.

Pure functions of a `Compression` and a `SideBySide`: nothing here runs the model.
"""

from __future__ import annotations

import html
import math
from typing import Any

from playground.compress import Compression, PromptToken
from playground.compress.side_by_side import SideBySide
from playground.plots import divergence_figure
from playground.plots.style import placeholder
from playground.trace import Comparison, Trace
from playground.ui.tokens import BAND_LABELS, band

# The legend under the tokens: the Output's bands, then what a strike and an outline mean.
LEGEND = (
    '<div class="legend">Chance the model gave each prompt token, after the kept tokens before it: '
    + "".join(f'<span class="tok {name}">{html.escape(label)}</span>' for name, label in BAND_LABELS.items())
    + ' · <span class="tok dropped">dropped</span> · <span class="tok forced">forced</span>'
    + ' · <span class="tok outside">not compressed</span> · hover a token for its loss</div>'
)


def token_tip(token: PromptToken) -> str:
    """A token's hover text: its loss and chance, and why it stays or goes."""
    if not token.compressible:
        return "outside the part compressed: kept"
    fate = "kept (forced)" if token.forced else "kept" if token.kept else "dropped"
    if token.loss is None:
        return f"{fate} · not scored (nothing before it to predict it)"
    return f"{fate} · loss {token.loss:.2f} nats · p = {math.exp(-token.loss):.3f}"


def token_class(token: PromptToken) -> str:
    """The span's classes: the band of exp(-loss) (none where unscored), then dropped, forced, outside."""
    classes = ["tok"]
    if token.loss is not None:
        classes.append(band(math.exp(-token.loss)))
    if not token.kept:
        classes.append("dropped")
    if token.forced:
        classes.append("forced")
    if not token.compressible:
        classes.append("outside")
    return " ".join(classes)


def compression_html(compression: Compression | None) -> str:
    """Every prompt token as a span (`token_class`, `token_tip`), in order, then the legend."""
    if compression is None:
        return ""
    spans = "".join(
        f'<span class="{token_class(t)}" title="{html.escape(token_tip(t), quote=True)}">{html.escape(t.text)}</span>'
        for t in compression.tokens
    )
    return f'<div class="tokens">{spans}</div>{LEGEND}'


def compression_line(compression: Compression) -> str:
    """One line: kept and dropped tokens of the part compressed, the achieved ratio against the asked one, the
    whole prompt before and after, and how long the compression took."""
    part = [t for t in compression.tokens if t.compressible]
    kept = sum(t.kept for t in part)
    return (
        f"Kept {kept} of the {len(part)} tokens compressed, dropped {len(part) - kept}: ratio {compression.ratio:.2f} "
        f"(asked {compression.target:.2f}) · the prompt: {len(compression.tokens)} → {compression.kept} tokens · "
        f"compressed in {compression.seconds:.1f} s"
    )


def answers_html(original: Trace | None, compressed: Trace | None) -> str:
    """Both answers side by side, each token of the compressed prompt's answer marked from where it first differs
    from the original's; a side not run yet says so."""
    cut = _first_difference(original, compressed)
    columns = [("The original prompt", original, None), ("The compressed prompt", compressed, cut)]
    return '<div class="answers">' + "".join(_answer_column(*column) for column in columns) + "</div>"


def _answer_column(title: str, trace: Trace | None, cut: int | None) -> str:
    if trace is None:
        body = '<span class="waiting">not run yet</span>'
    else:
        marks = [" differs" if cut is not None and i >= cut else "" for i in range(len(trace.steps))]
        body = "".join(
            f'<span class="tok{mark}">{html.escape(step.chosen.text)}</span>'
            for mark, step in zip(marks, trace.steps, strict=True)
        )
    return f'<div class="answer"><div class="side">{title}</div><div class="text">{body}</div></div>'


def _first_difference(original: Trace | None, compressed: Trace | None) -> int | None:
    if original is None or compressed is None:
        return None
    a, b = original.output.token_ids, compressed.output.token_ids
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


def prefill_line(original: Trace, compressed: Trace) -> str:
    """Both prompts' prefill, as the engine measured it in these runs, and what the compression saved."""
    n_a, n_b = len(original.prompt.token_ids), len(compressed.prompt.token_ids)
    s_a, s_b = original.timing.prefill_s, compressed.timing.prefill_s
    saved = f"{1 - s_b / s_a:.0%} of the time" if s_a > 0 else "no measurable time"
    return (
        f"Prefill (measured in these runs): the original {n_a} tokens in {s_a:.3f} s, the compressed {n_b} tokens in "
        f"{s_b:.3f} s · saved {n_a - n_b} tokens and {s_a - s_b:.3f} s ({saved})"
    )


def as_comparison(result: SideBySide) -> Comparison:
    """The side-by-side as Compare's record: A the original prompt's run, B the compressed prompt's."""
    compressed = result.compressed
    return Comparison(
        a_run=result.original.run_id,
        b_model=compressed.model.id,
        b_precision=compressed.model.precision,
        b_changes={},
        steps=result.steps,
        b_token_ids=list(compressed.output.token_ids),
        b_texts=[step.chosen.text for step in compressed.steps],
        first_difference=result.first_difference,
    )


def kl_figure(result: SideBySide | None) -> Any:
    """Compare's divergence figure along the original's answer (A: the original prompt, B: the compressed one),
    or why there is none."""
    if result is None or not result.steps:
        return placeholder("Press Compress and run both to see KL(original ‖ compressed) along the original's answer.")
    texts = [step.chosen.text for step in result.original.steps]
    return divergence_figure(as_comparison(result), texts, result.original.settings)
