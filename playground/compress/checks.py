"""Checks on compress_prompt's knobs: a bad value raises SettingsError naming the knob, before the model is used."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from playground.engine.context import check_prompt
from playground.settings import MAX_PHRASE_CHARS, Limits, SettingsError, check_text

MAX_FORCE_TOKENS = 64  # words never dropped, per request


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_knobs(
    prompt: Any,
    ratio: Any,
    budget: Any,
    span: Any,
    force_tokens: Any,
    segment_size: Any,
    limits: Limits,
) -> None:
    """Raises SettingsError naming the first bad knob: an empty prompt, ratio outside (0, 1], budget < 1, a span
    out of range or empty, a forced word that is empty or too long, segment_size < 2."""
    check_prompt(prompt, limits)
    if not _is_number(ratio) or not 0.0 < ratio <= 1.0:
        raise SettingsError("ratio", f"ratio must be in (0, 1], got {ratio!r}")
    if budget is not None and (not isinstance(budget, int) or isinstance(budget, bool) or budget < 1):
        raise SettingsError("budget", f"budget must be a whole number of tokens >= 1, got {budget!r}")
    if not isinstance(segment_size, int) or isinstance(segment_size, bool) or segment_size < 2:
        raise SettingsError("segment_size", f"segment_size must be a whole number >= 2, got {segment_size!r}")
    if span is not None:
        check_span(span, len(prompt))
    check_force_tokens(force_tokens)


def check_span(span: Any, length: int) -> None:
    """Raises SettingsError("span") unless `span` is [start, end) with 0 <= start < end <= length."""
    if not isinstance(span, Sequence) or len(span) != 2 or not all(isinstance(edge, int) for edge in span):
        raise SettingsError("span", f"span must be two whole numbers [start, end), got {span!r}")
    start, end = span
    if not 0 <= start < end <= length:
        raise SettingsError(
            "span", f"span must satisfy 0 <= start < end <= {length} (the prompt's characters), got {list(span)}"
        )


def check_force_tokens(words: Any) -> None:
    """Raises SettingsError("force_tokens") unless `words` is a list of at most MAX_FORCE_TOKENS non-empty texts."""
    if isinstance(words, str) or not isinstance(words, Sequence):
        raise SettingsError("force_tokens", f"force_tokens must be a list of words, got {words!r:.80}")
    if len(words) > MAX_FORCE_TOKENS:
        raise SettingsError("force_tokens", f"force_tokens holds {len(words)} words, at most {MAX_FORCE_TOKENS}")
    for word in words:
        if not isinstance(word, str) or not word:
            raise SettingsError("force_tokens", f"force_tokens must hold non-empty words, got {word!r:.80}")
        check_text("force_tokens", word, MAX_PHRASE_CHARS)
