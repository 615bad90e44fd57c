"""Top-nσ's step note in words (`engine/samplers/top_n_sigma.py` says what the note holds): how many tokens it
kept and where it cut, in the logits it received."""

from __future__ import annotations

from typing import Any

from playground.plots.style import stage_label
from playground.trace import Trace
from playground.words import counted


def top_n_sigma_sentence(note: dict[str, Any], trace: Trace, index: int) -> str:
    """The step view's line for top-nσ at step `index`: "top-nσ kept 7 tokens: logit ≥ 16.09 (top 18.40 − 1σ,
    σ = 2.31)", saying which stage's logits those are when an earlier stage changed them."""
    n = float(trace.settings.get("top_n_sigma") or 0.0)
    cut = f"logit ≥ {note['cutoff']:.2f} (top {note['top']:.2f} − {n:g}σ, σ = {note['sigma']:.2f})"
    before = _stage_before(trace, index)
    scale = "" if before is None else f", logits after {stage_label(before)}"
    return f"top-nσ kept {counted(note['kept'], 'token')}: {cut}{scale}"


def _stage_before(trace: Trace, index: int) -> str | None:
    """The stage whose logits top-nσ received at step `index`; None when it received the model's own."""
    step = trace.steps[index]
    names = [name for name in trace.stage_order() if step.candidates and name in step.candidates[0].probs]
    if "top_n_sigma" not in names[1:]:  # nothing recorded for it: say nothing of the scale
        return None
    before = names[names.index("top_n_sigma") - 1]
    return None if before == "raw" else before
