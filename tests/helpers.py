"""Small helpers several test modules share."""

from __future__ import annotations

from playground.engine import generate
from playground.models import LoadedModel, load_draft
from playground.settings import Settings
from playground.trace import Trace


def run(target: LoadedModel, prompt: str, settings: Settings) -> Trace:
    """A run as the page and the CLI start it: the caller loads the draft the settings name, then the engine
    runs (the engine loads no model itself)."""
    return generate(target, prompt, settings, draft=load_draft(settings, target))
