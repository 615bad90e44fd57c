"""Small helpers several test modules share."""

from __future__ import annotations

from playground.engine import generate
from playground.engine.speculative import load_draft
from playground.models import LoadedModel
from playground.settings import Settings
from playground.trace import Candidate, Trace


def run(target: LoadedModel, prompt: str, settings: Settings) -> Trace:
    """A run as the page and the CLI start it: the caller loads the draft the settings name, then the engine
    runs (the engine loads no model itself)."""
    return generate(target, prompt, settings, draft=load_draft(settings, target))


def byte_candidate(token_id: int, raw: bytes, p: float = 0.5) -> Candidate:
    """A candidate whose token is the bytes `raw`, with probability `p` at every stage; its bytes are recorded
    (as hex) when its own text is not whole characters, as the engine records them."""
    text = raw.decode("utf-8", errors="replace")
    return Candidate(token_id, text, 0.0, {"raw": p, "final": p}, None, raw.hex() if "\ufffd" in text else None)
