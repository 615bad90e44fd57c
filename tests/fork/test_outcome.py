"""Outcome rules on hand-built texts: numbers however written, words, markers, regular expressions (the first
group is taken when there is one), the whole text, unicode and empty texts, and bad rules refused by name."""

import pytest

from playground.fork.outcome import OutcomeRule, auto_choice, resolve_rule
from playground.settings import SettingsError

LAST_NUMBER = OutcomeRule("last_number")


@pytest.mark.parametrize(
    ("text", "outcome"),
    [
        ("It costs 1,234 dollars.", "1234"),
        ("First 3, then 4.50 and finally 12.", "12"),
        ("The total is 3.50", "3.5"),
        ("2.0 apples", "2"),
        ("It fell to -7 degrees", "-7"),
        ("It fell to \u22127 degrees", "-7"),  # a Unicode minus
        ("5-3 = 2, or 5-3", "3"),  # a subtraction's minus is not a sign
        ("1,2,3", "3"),  # commas between single digits are a list, not thousands
        ("12,3456", "3456"),
        ("\u0664\u0662 is the answer", "42"),  # Arabic-Indic digits
        ("-0.0", "0"),
        ("no numbers here", None),
        ("", None),
    ],
)
def test_the_last_number_reads_commas_decimals_and_signs(text, outcome):
    assert LAST_NUMBER.apply(text) == outcome


@pytest.mark.parametrize(
    ("text", "outcome"),
    [
        ("  Yes, because it is.", "yes"),
        ("Don't know", "don't"),
        ("\u00c9t\u00e9 est chaud", "\u00e9t\u00e9"),
        ("... 42 apples", "42"),
        ("?!", None),
        ("", None),
    ],
)
def test_the_first_word_is_lowercased_and_may_be_unicode(text, outcome):
    assert OutcomeRule("first_word").apply(text) == outcome


@pytest.mark.parametrize(
    ("text", "outcome"),
    [
        ("Let me think. Answer: Paris.\nMore text", "paris"),
        ("answer:   NEW   York!", "new york"),  # case-insensitive marker, spaces collapsed
        ("Answer: 4. Answer: 5.", "4. answer: 5"),  # the first marker, to the end of its line
        ("No marker at all", None),
        ("Answer:   \nParis", None),  # nothing on the marker's line
        ("", None),
    ],
)
def test_the_marker_rule_takes_the_rest_of_the_markers_line(text, outcome):
    assert OutcomeRule("marker", "Answer:").apply(text) == outcome


@pytest.mark.parametrize(
    ("pattern", "text", "outcome"),
    [
        (r"\d+", "x 12 y 34", "12"),  # no group: the whole first match
        (r"is (\w+) or (\w+)", "it is Red or blue", "red"),  # groups: the first one
        (r"(maybe )?yes", "yes!", None),  # the first group took no part in the match
        (r"\d+", "none", None),
        (r"caf\u00e9 (\w+)", "le caf\u00e9 cr\u00e8me", "cr\u00e8me"),
    ],
)
def test_the_regex_rule_takes_its_first_group_or_the_whole_match(pattern, text, outcome):
    assert OutcomeRule("regex", pattern).apply(text) == outcome


@pytest.mark.parametrize(
    ("text", "outcome"), [("  The Answer\n is   FOUR. ", "the answer is four"), ("...", None), ("", None)]
)
def test_the_text_rule_normalises_the_whole_text(text, outcome):
    assert OutcomeRule("text").apply(text) == outcome


@pytest.mark.parametrize(
    ("prompt", "kind"),
    [
        ("What is 17 + 25?", "last_number"),
        ("How many legs do 3 spiders have", "last_number"),
        ("Is the sky blue?", "first_word"),  # a question, no number
        ("I have 3 cats.", "first_word"),  # a number, no question
        ("Answer yes or no: is 51 divisible by 3?", "first_word"),  # a yes-or-no question with numbers
        ("Is 7 a prime number?", "first_word"),  # a closed question opens with an auxiliary verb
        ("True or false: 2 + 2 = 5?", "first_word"),
        ("What is 3 times 4? Is it even?", "last_number"),  # opens with another question: its number counts
    ],
)
def test_auto_picks_the_last_number_for_a_question_with_a_number(prompt, kind):
    rule = resolve_rule("auto", "", prompt)
    assert rule.kind == kind and rule.describe()
    assert auto_choice(prompt)[0] == kind and auto_choice(prompt)[1].startswith("the prompt asks")


@pytest.mark.parametrize(
    ("kind", "pattern", "field", "message"),
    [
        ("median", "", "outcome_rule", "must be one of auto, last_number"),
        ("regex", "(unclosed", "outcome_pattern", "not a valid regular expression"),
        ("regex", "  ", "outcome_pattern", "needs a pattern"),
        ("marker", "", "outcome_pattern", "needs a pattern"),
        ("marker", "x" * 201, "outcome_pattern", "at most 200 characters"),
    ],
)
def test_bad_rules_are_refused_by_name(kind, pattern, field, message):
    with pytest.raises(SettingsError, match=message) as refused:
        resolve_rule(kind, pattern, "What is 2 + 2?")
    assert refused.value.field == field


def test_each_rule_describes_itself():
    described = {kind: resolve_rule(kind, "A:", "").describe() for kind in ("last_number", "first_word", "marker",
                                                                             "regex", "text")}  # fmt: skip
    assert described["last_number"] == "the last number in the text"
    assert "'A:'" in described["marker"] and "/A:/" in described["regex"]
    assert len(set(described.values())) == 5
