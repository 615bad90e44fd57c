"""What the page and /compress accept, checked on the server: the ratio's range, the prompt's length, and which
part of the prompt to compress (a choice, or the part a person marked between [[ and ]])."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from playground.compress.compressor import default_span
from playground.settings import Limits, SettingsError

if TYPE_CHECKING:
    from playground.models import LoadedModel

MIN_RATIO, MAX_RATIO = 0.05, 1.0  # the keep ratios a request may ask for
OPEN, CLOSE = "[[", "]]"  # the marks around the part to compress
ALL_BUT_LAST = "All but the last sentence"
WHOLE = "The whole prompt"
MARKED = "The part between [[ and ]]"
PARTS = (ALL_BUT_LAST, WHOLE, MARKED)
API_PARTS = {"all_but_last": ALL_BUT_LAST, "whole": WHOLE, "marked": MARKED}  # /compress's "part" values


def checked_ratio(ratio: Any) -> float:
    """`ratio` as a float within [MIN_RATIO, MAX_RATIO]; a SettingsError naming the ratio otherwise."""
    if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not MIN_RATIO <= ratio <= MAX_RATIO:
        raise SettingsError("ratio", f"the ratio must be a number from {MIN_RATIO} to {MAX_RATIO}, not {ratio!r}")
    return float(ratio)


def checked_budget(budget: Any) -> int:
    """`budget` (tokens to keep) as a whole number of at least 1; a SettingsError naming the budget otherwise."""
    if isinstance(budget, bool) or not isinstance(budget, int | float) or budget != int(budget) or budget < 1:
        raise SettingsError("budget", f"the budget must be a whole number of tokens, at least 1, not {budget!r}")
    return int(budget)


def check_length(loaded: LoadedModel, prompt: str, limits: Limits) -> None:
    """A SettingsError naming the prompt when it is empty or has more tokens than the server compresses."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise SettingsError("prompt", "the prompt is empty: there is nothing to compress")
    count = len(loaded.tokenizer.encode(prompt, add_special_tokens=False))
    if count > limits.max_prompt_tokens:
        raise SettingsError(
            "prompt", f"the prompt has {count} tokens; this server compresses at most {limits.max_prompt_tokens}"
        )


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
