"""When a run stops: end-of-sequence tokens, stop strings (on text), max_new_tokens, max_time and Stop."""

from __future__ import annotations

import threading
import time


def eos_token_ids(model, tokenizer) -> list[int]:
    """The token ids that end a sequence: the model's generation config first, as `generate` uses it."""
    eos = model.generation_config.eos_token_id
    if eos is None:
        eos = tokenizer.eos_token_id
    if eos is None:
        return []
    return [int(e) for e in eos] if isinstance(eos, (list, tuple)) else [int(eos)]


def find_stop(text: str, stops: tuple[str, ...], start: int = 0) -> int:
    """Index in `text` where the earliest stop string begins at or after `start`, or -1.

    Args:
        text: the generated text so far.
        stops: the stop strings.
        start: where new text may begin a match (earlier matches were already checked).
    """
    hits = [i for i in (text.find(s, start) for s in stops) if i >= 0]
    return min(hits) if hits else -1


class Deadline:
    """A run's time budget, started at creation, and its Stop button: either one ends the run at the next step,
    the tokens made so far kept as a finished trace."""

    def __init__(self, seconds: float, cancel: threading.Event | None = None) -> None:
        self.start = time.perf_counter()
        self.seconds = seconds
        self.cancel = cancel  # set from another thread (the page's Stop) to end the run

    def passed(self) -> bool:
        """True once the budget is spent or the run was cancelled."""
        return self.cancelled or time.perf_counter() - self.start >= self.seconds

    @property
    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

    @property
    def reason(self) -> str:
        """The trace's stop_reason when `passed()`: "cancelled" or "max_time"."""
        return "cancelled" if self.cancelled else "max_time"
