"""When a run stops: end-of-sequence tokens, stop strings (on text), max_new_tokens and max_time."""

from __future__ import annotations

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
    """A run's time budget, started at creation."""

    def __init__(self, seconds: float) -> None:
        self.start = time.perf_counter()
        self.seconds = seconds

    def passed(self) -> bool:
        """True once the budget is spent."""
        return time.perf_counter() - self.start >= self.seconds
