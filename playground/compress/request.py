"""What the page and /compress accept beyond what the compressor checks itself (`compress.checks`): the ratio's
range on this server, and which part of the prompt to compress (a choice, or the part a person marked between [[
and ]])."""

from __future__ import annotations

from typing import Any

from playground.compress.compressor import default_span
from playground.settings import SettingsError

MIN_RATIO, MAX_RATIO = 0.05, 1.0  # the keep ratios a request may ask for
OPEN, CLOSE = "[[", "]]"  # the marks around the part to compress
ALL_BUT_LAST = "All but the last sentence"
WHOLE = "The whole prompt"
MARKED = "The part between [[ and ]]"
PARTS = (ALL_BUT_LAST, WHOLE, MARKED)


def checked_ratio(ratio: Any) -> float:
    """`ratio` as a float within [MIN_RATIO, MAX_RATIO]; a SettingsError naming the ratio otherwise."""
    if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not MIN_RATIO <= ratio <= MAX_RATIO:
        raise SettingsError("ratio", f"the ratio must be a number from {MIN_RATIO} to {MAX_RATIO}, not {ratio!r}")
    return float(ratio)


def marked_part(prompt: str, part: str) -> tuple[str, tuple[int, int]]:
    """The prompt to run (the marks removed) and the [start, end) characters of it to compress, for one of
    `PARTS`.

    Raises:
        SettingsError: an unknown part, or MARKED without exactly one [[ before one ]] around some text.
    """
    if part == ALL_BUT_LAST:
        return prompt, default_span(prompt)
    if part == WHOLE:
        return prompt, (0, len(prompt))
    if part != MARKED:
        raise SettingsError("part", f"the part to compress must be one of {', '.join(PARTS)}, not {part!r}")
    start, end = prompt.find(OPEN), prompt.find(CLOSE)
    if prompt.count(OPEN) != 1 or prompt.count(CLOSE) != 1 or end < start:
        raise SettingsError("part", f"mark the part to compress with one {OPEN} before it and one {CLOSE} after it")
    clean = prompt[:start] + prompt[start + len(OPEN) : end] + prompt[end + len(CLOSE) :]
    span = (start, end - len(OPEN))
    if span[0] == span[1]:
        raise SettingsError("part", f"the part between {OPEN} and {CLOSE} is empty")
    return clean, span
