"""The outcome of a continuation: a rule that turns a finished text into an answer label (the last number, the
first word, the text after a marker, what a regular expression matches, or the whole text normalised), so
texts that say the same answer in different words count as one outcome.

`apply` returns None when the text has no outcome under the rule; the views show it as "(none)".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from playground.settings import SettingsError

RULES = ("auto", "last_number", "first_word", "marker", "regex", "text")
NONE_LABEL = "(none)"
MAX_PATTERN = 200  # characters of a marker or a regular expression

# A number: digits with optional thousands commas ("1,234") and decimals ("3.5"). A minus sign counts only where
# it cannot be a subtraction ("5-3" ends in 3, not -3): after no word character or closing bracket.
NUMBER = re.compile(r"(?:(?<![\w)\]])[-\u2212])?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?")
WORD = re.compile(r"\w+(?:['\u2019]\w+)*")
# Prompts that ask for a number: a digit and a question, or a request to work something out.
ASKS = re.compile(r"\?|\b(how many|how much|calculate|compute|solve|what is|sum|total)\b", re.IGNORECASE)
# Prompts answered with a yes or a no, whatever numbers they hold ("Is 51 divisible by 3?"): they name the two
# answers, or open with an auxiliary verb as a closed question does.
YES_NO = re.compile(
    r"\b(yes or no|no or yes|true or false)\b|^\W*(is|are|am|was|were|do|does|did|can|could|will|would|should|has"
    r"|have|had|may|might|must)\b",
    re.IGNORECASE,
)
END_PUNCTUATION = ".,;:!?\"'\u2019\u201d)]} "


@dataclass(frozen=True)
class OutcomeRule:
    """How a finished text becomes an outcome label: `kind` is one of RULES but "auto" (`resolve_rule` decides
    that one), `pattern` the marker or the regular expression (empty for the others)."""

    kind: str
    pattern: str = ""

    def describe(self) -> str:
        """A sentence naming the rule in force, for the page and the CLI."""
        if self.kind == "last_number":
            return "the last number in the text"
        if self.kind == "first_word":
            return "the first word of the text, lowercased"
        if self.kind == "marker":
            return f"the text after {self.pattern!r} (its first occurrence, to the end of that line), normalised"
        if self.kind == "regex":
            return f"what /{self.pattern}/ first matches (its first group when it has groups), normalised"
        return "the whole text, lowercased, spaces collapsed and end punctuation trimmed"

    def apply(self, text: str) -> str | None:
        """The outcome of `text` under this rule, or None when it has none (no number, no word, no marker, no
        match, nothing left after normalising)."""
        if self.kind == "last_number":
            numbers = NUMBER.findall(text)
            return normalise_number(numbers[-1]) if numbers else None
        if self.kind == "first_word":
            word = WORD.search(text)
            return word.group(0).lower() if word else None
        if self.kind == "marker":
            at = text.lower().find(self.pattern.lower())
            return None if at < 0 else normalise_text(text[at + len(self.pattern) :].split("\n", 1)[0])
        if self.kind == "regex":
            found = re.search(self.pattern, text)
            if found is None:
                return None
            return normalise_text(found.group(1) if found.re.groups else found.group(0))
        return normalise_text(text)


def normalise_number(number: str) -> str:
    """A number as one label however it is written: thousands commas dropped, any digits read as ASCII ones,
    a Unicode minus as "-", trailing decimal zeros dropped ("3.50" -> "3.5", "2.0" -> "2", "-0" -> "0")."""
    plain = "".join(str(unicodedata.digit(c)) if c.isdigit() else c for c in number.replace(",", ""))
    plain = plain.replace("\u2212", "-")
    if "." in plain:
        plain = plain.rstrip("0").rstrip(".")
    return "0" if plain in ("-0", "") else plain


def normalise_text(text: str | None) -> str | None:
    """`text` lowercased, runs of white space made one space, ends trimmed of spaces and punctuation; None when
    nothing is left (or for None: a regex group that took no part in the match)."""
    if text is None:
        return None
    label = " ".join(text.lower().split()).strip(END_PUNCTUATION)
    return label or None


def resolve_rule(kind: str, pattern: str, prompt: str) -> OutcomeRule:
    """The rule to apply for the request's `kind` and `pattern`: "auto" becomes what `auto_choice` makes of `prompt`:
    first_word for a yes-or-no question, last_number for another question with a number in it (a digit, and a
    "?" or "how many", "calculate", ...), else first_word.

    Raises:
        SettingsError: "outcome_rule" for an unknown kind; "outcome_pattern" for a marker or regex rule without a
            pattern, a pattern over MAX_PATTERN characters, or a regular expression that does not compile.
    """
    if kind not in RULES:
        raise SettingsError("outcome_rule", f"outcome_rule must be one of {', '.join(RULES)}, got {kind!r:.40}")
    if kind == "auto":
        return OutcomeRule(auto_choice(prompt)[0])
    if kind not in ("marker", "regex"):
        return OutcomeRule(kind)
    if not isinstance(pattern, str) or not pattern.strip():
        raise SettingsError("outcome_pattern", f"the {kind} rule needs a pattern (outcome_pattern is empty)")
    if len(pattern) > MAX_PATTERN:
        raise SettingsError("outcome_pattern", f"outcome_pattern may hold at most {MAX_PATTERN} characters")
    if kind == "regex":
        try:
            re.compile(pattern)
        except re.error as exc:
            raise SettingsError("outcome_pattern", f"outcome_pattern is not a valid regular expression: {exc}") from exc
    return OutcomeRule(kind, pattern)


def auto_choice(prompt: str) -> tuple[str, str]:
    """What "auto" makes of `prompt`: (the rule's kind, why, as a phrase the page shows). A yes-or-no question
    is answered by its first word; else a question with a number in it by its last number; else the first word."""
    if YES_NO.search(prompt.strip()):
        return "first_word", "the prompt asks a yes-or-no question"
    if any(c.isdigit() for c in prompt) and ASKS.search(prompt) is not None:
        return "last_number", "the prompt asks a question with a number"
    return "first_word", "the prompt asks no question with a number"


def label(outcome: str | None) -> str:
    """The outcome as the label the distributions count: "(none)" for a text without one."""
    return NONE_LABEL if outcome is None else outcome
