"""Constrained beam search on the bundled SmolLM2-135M-Instruct: the forced words appear, in fluent text."""

import pytest

from playground.engine import generate
from playground.engine.constraints import build_constraints, satisfied
from playground.settings import Settings

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("prompt", "force_words", "force_one_of", "num_beams", "num_return_sequences"),
    [
        ("Write a sentence about the weather.", ("umbrella",), (("red", "blue", "green"),), 4, 2),
        ("Tell me about your day.", ("coffee", "library"), (), 4, 1),
        ("Describe a cat.", (), (("orange", "black"),), 3, 3),
        ("Give me a tip for learning to cook.", ("garlic",), (), 5, 2),
    ],
)
def test_forced_words_appear_in_every_returned_sequence(
    bundled_fp32, prompt, force_words, force_one_of, num_beams, num_return_sequences
):
    settings = Settings(
        strategy="constrained",
        force_words=force_words,
        force_one_of=force_one_of,
        num_beams=num_beams,
        num_return_sequences=num_return_sequences,
        max_new_tokens=40,
    )
    trace = generate(bundled_fp32, prompt, settings)
    constraints = build_constraints(bundled_fp32.tokenizer, force_words, force_one_of)
    assert len(trace.beams.sequences) == num_return_sequences
    for seq in trace.beams.sequences:
        assert seq.satisfies_constraints
        assert all(satisfied(c, seq.token_ids) for c in constraints)
        text = seq.text.lower()
        assert all(word in text for word in force_words)
        assert all(any(option in text for option in group) for group in force_one_of)


def test_plain_beam_search_would_not_have_said_it(bundled_fp32):
    """The constraint changes the output: the same prompt without it does not mention the word."""
    prompt = "Write a sentence about the weather."
    plain = generate(bundled_fp32, prompt, Settings(strategy="beam", num_beams=4, max_new_tokens=40))
    forced = generate(
        bundled_fp32,
        prompt,
        Settings(strategy="constrained", force_words=("umbrella",), num_beams=4, max_new_tokens=40),
    )
    assert "umbrella" not in plain.output.text.lower() and "umbrella" in forced.output.text.lower()
