"""The compression lesson: its long contexts are of the size the brief promises, end with their question, and
compress on the embedded model to the lesson's two ratios with the question kept whole."""

import pytest

from playground.compress import compress_prompt, default_span
from playground.ui.presets import COMPRESS_LESSON, CONTEXTS, long_context, presets

LESSON = next(p for p in presets() if p.name == COMPRESS_LESSON)


@pytest.mark.parametrize("name", sorted(path.stem for path in CONTEXTS.glob("*.txt")))
def test_each_context_is_300_to_600_tokens_and_ends_with_its_question(bundled_fp32, name):
    text = long_context(name)
    assert 300 <= len(bundled_fp32.tokenizer.encode(text)) <= 600
    _, end = default_span(text)
    assert text[end:].startswith("Question:") and text.endswith("?")  # the default part leaves the question out


def test_the_lesson_compresses_to_a_half_and_a_quarter_keeping_the_question(bundled_fp32):
    assert LESSON.prompt == long_context("lighthouse") and LESSON.settings.strategy == "greedy"
    question = LESSON.prompt[LESSON.prompt.rindex("Question:") :]
    for ratio in (0.5, 0.25):
        compression = compress_prompt(bundled_fp32, LESSON.prompt, ratio)
        assert abs(compression.ratio - ratio) < 0.05
        assert compression.text.endswith(question)
    assert "0.5" in LESSON.lesson and "0.25" in LESSON.lesson
