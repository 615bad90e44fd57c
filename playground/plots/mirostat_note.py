"""Mirostat's step note in words, for the step view: the mu its cut used, what it kept, how surprising the chosen
token was and where that moved mu ("mirostat 2: mu 7.31 bits, kept 12 tokens; '␣the' surprised 3.20 bits before the
cut, mu → 7.49").

The surprise is measured on the distribution mirostat received, before its own cut (`engine/samplers/mirostat.py`
says why), while the step's title gives the chosen token's probability after it: the sentence says "before the cut"
so that the two numbers do not seem to disagree."""

from __future__ import annotations

from typing import Any

from playground.plots.style import show_token
from playground.trace import Trace
from playground.words import counted


def mirostat_sentence(note: dict[str, Any], trace: Trace, index: int) -> str:
    """One line for step `index` from its mirostat note (`engine/samplers/mirostat.MirostatLogitsWarper.notes`)."""
    cut = f"kept {counted(note['kept'], 'token')}"
    if "k" in note:  # mirostat 1: the cut is a top-k from the fitted Zipf exponent
        s = "unknown" if note["s"] is None else f"{note['s']:.2f}"
        cut = f"Zipf s {s} gives k = {note['k']}, {cut}"
    token = f"'{show_token(trace.steps[index].chosen.text)}'"
    if note["surprise"] is None:
        took = f"{token} had probability 0 before mirostat (an earlier stage removed it), so mu stays"
    else:
        took = f"{token} surprised {note['surprise']:.2f} bits before the cut, mu →"
    version = trace.settings.get("mirostat", "")
    return f"mirostat {version}: mu {note['mu']:.2f} bits, {cut}; {took} {note['mu_after']:.2f}"
