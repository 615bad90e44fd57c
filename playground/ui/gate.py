"""Which models and drafts a request may name, and loading them: the host's allowlist, the precisions, and the
default model loaded at start. The engine loads nothing; every run's model and draft come through here."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from playground.engine import stream
from playground.engine.speculative import load_draft
from playground.models import LoadedModel, ModelLoadError, load_model
from playground.models.allowlist import check_allowed
from playground.settings import FREE_DRAFTS, PRECISIONS, Settings


class Gate:
    """The models a request may name (the host's allowlist) at the known precisions, loaded once and shared."""

    def __init__(self, models: list[str], precision: str, default: LoadedModel) -> None:
        self.models = models  # the host's allowlist, the embedded default first
        self.precision = precision  # the served precision, the page's default
        self.default = default  # loaded at start, so the first run does not wait for a load

    def check(self, model: Any, precision: Any) -> None:
        """Raises ModelLoadError unless the host allows `model` and `precision` is known."""
        check_allowed(model, self.models)
        if precision not in PRECISIONS:
            raise ModelLoadError(f"precision {str(precision)[:40]!r} is unknown; choose one of {', '.join(PRECISIONS)}")

    def check_draft(self, draft: Any) -> None:
        """A draft model is a model too: the allowlist's, never a path. Prompt lookup, Medusa heads and None
        pass."""
        if draft not in (None, *FREE_DRAFTS):
            check_allowed(draft, self.models)

    def served(self, model: Any, precision: Any) -> bool:
        """`model` at `precision` is the default, loaded at start (a run of it loads nothing)."""
        return (model, precision) == (self.default.info.id, self.default.info.precision)

    def load(self, model: Any, precision: Any) -> LoadedModel:
        """The allowed model at the asked precision, loaded once and shared; ModelLoadError names the problem."""
        self.check(model, precision)
        if self.served(model, precision):
            return self.default
        return load_model(model, precision)

    def draft(self, settings: Settings, target: LoadedModel) -> Any:
        """The draft `settings` asks for beside `target` (None where the run needs none); the caller has
        checked it with `check_draft`."""
        return load_draft(settings, target)

    def stream(
        self, model: Any, precision: Any, prompt: Any, settings: Settings, cancel: threading.Event | None = None
    ) -> Iterator[Any]:
        """The engine's stream over the allowed model and, for speculative decoding, its draft, both loaded here
        (the engine loads nothing)."""
        target = self.load(model, precision)
        return stream(target, prompt, settings, cancel=cancel, draft=self.draft(settings, target))
