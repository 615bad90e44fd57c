"""XTC's step note in words (`engine/samplers/xtc.py` says what the note holds): whether its coin fired, what it
excluded and which top choice it kept, with the tokens as the step view shows them."""

from __future__ import annotations

from typing import Any

from playground.plots.style import show_token
from playground.trace import Trace


def xtc_sentence(note: dict[str, Any], trace: Trace, index: int) -> str:
    """The step view's line for XTC at step `index`: "XTC fired: excluded ' the', ' a'; kept ' an'", "XTC's coin
    did not fire (q = 0.5)", or, where nothing was drawn (a branch's forced step), what the step mixes."""
    texts = {c.id: c.text for c in trace.steps[index].candidates}
    name = lambda token: repr(show_token(texts[token])) if token in texts else f"token {token}"  # noqa: E731
    excluded = ", ".join(name(token) for token in note["excluded"])
    more = note["above"] - 1 - len(note["excluded"])  # past the ids a note lists
    if more > 0:
        excluded += f" and {more} more"
    if note.get("mixed"):
        return _mixed(note, excluded, name(note["kept"]) if note["above"] >= 2 else "")
    if not note["fired"]:
        return f"XTC's coin did not fire (q = {note['q']:g})"
    if note["above"] < 2:
        some = "only one token was" if note["above"] == 1 else "no token was"
        return f"XTC fired, but {some} above {note['threshold']:g}: nothing excluded"
    return f"XTC fired: excluded {excluded}; kept {name(note['kept'])}"


def _mixed(note: dict[str, Any], excluded: str, kept: str) -> str:
    """Where no coin was drawn (a branch's forced step) the step's distribution mixes both outcomes."""
    if not kept:
        return f"XTC (q = {note['q']:g}) would exclude nothing here: fewer than two tokens reach {note['threshold']:g}"
    return (f"XTC's coin is not drawn at a forced step: it mixes {1 - note['q']:g} of the chain as it is with "
            f"{note['q']:g} of it excluding {excluded} (keeping {kept})")  # fmt: skip
