"""The lesson "DRY stops a loop that the repetition penalty only slows" says what its runs do on the embedded model at
fp32: with no penalty the text loops early, at repetition penalty 1.1 it loops later, and with DRY no token extends a
repeat much beyond the allowed length; every number the lesson quotes is measured here on the engine."""

import dataclasses

import pytest

from playground.engine import generate
from playground.engine.samplers.dry import breaker_token_ids
from playground.plots.stage_notes import note_lines
from playground.ui.presets import DRY_LESSON, presets

LESSON = next(p for p in presets() if p.name == DRY_LESSON)
# DRY lets a very likely token extend a repeat a little past the allowed length: at L = 5 its penalty is 0.8 × 1.75³
# ≈ 4.3 off the logit, which a token far ahead can still carry.
MARGIN = 3
WORDS = {5: "five", 6: "six", 7: "seven"}
# The claim is about the tokens, not the time: a test machine shared with other runs must not cut a run short.
UNHURRIED = LESSON.settings.replace(limits=dataclasses.replace(LESSON.settings.limits, max_time=900.0))


def looping_tail(ids: list[int]) -> tuple[int, int, float]:
    """The longest tail of `ids` that is one span of p tokens over and over (at least twice): the 1-based step it
    starts at, p, and how many times the span fills it; (len(ids) + 1, 0, 0.0) when no tail repeats."""
    n = len(ids)
    best = (n, 0)
    for p in range(1, n // 2 + 1):
        start = n - p
        while start > 0 and ids[start - 1] == ids[start - 1 + p]:
            start -= 1
        if n - start >= 2 * p and start < best[0]:
            best = (start, p)
    start, p = best
    return start + 1, p, (n - start) / p if p else 0.0


def repeat_lengths(context: list[int], first: int, breakers: frozenset[int]) -> list[int]:
    """Brute force from DRY's definition, for each token from position `first` on: the longest span ending just
    before it, holding no breaker, that followed by that token already occurs earlier in the context (0 for a
    breaker, which DRY never penalizes)."""
    lengths = []
    for i in range(first, len(context)):
        token, longest = context[i], 0
        for j in range(i if token not in breakers else 0):  # each earlier place of the token: how far back both agree
            if context[j] != token:
                continue
            m = 0
            while m < j and context[j - 1 - m] == context[i - 1 - m] and context[i - 1 - m] not in breakers:
                m += 1
            longest = max(longest, m)
        lengths.append(longest)
    return lengths


def repeats(trace, breakers: frozenset[int]) -> list[int]:
    """DRY's L of each chosen token of `trace`, as the brute force finds it over the prompt and the text before."""
    context = [*trace.prompt.token_ids, *trace.output.token_ids]
    return repeat_lengths(context, len(trace.prompt.token_ids), breakers)


def test_the_brute_force_measures_repeats_as_dry_defines_them():
    # a b c x a b c: the last c follows "a b", seen before c at 0..1 -> L = 2; a breaker (9) cuts the span.
    assert repeat_lengths([1, 2, 3, 7, 1, 2, 3], 4, frozenset()) == [0, 1, 2]
    assert repeat_lengths([1, 9, 2, 3, 1, 9, 2, 3], 7, frozenset()) == [3]
    assert repeat_lengths([1, 9, 2, 3, 1, 9, 2, 3], 5, frozenset({9})) == [0, 0, 1]
    assert repeat_lengths([5, 5, 5, 5], 1, frozenset()) == [0, 1, 2]
    assert looping_tail([1, 2, 3, 4, 3, 4, 3, 4]) == (3, 2, 3.0)
    assert looping_tail([1, 2, 3, 4]) == (5, 0, 0.0)


def test_the_lesson_is_set_as_it_says():
    settings = LESSON.settings
    assert settings.strategy == "greedy" and not settings.chat and LESSON.precision == "fp32"
    assert (settings.dry_multiplier, settings.dry_base, settings.dry_allowed_length) == (0.8, 1.75, 2)
    assert settings.repetition_penalty == 1.0 and settings.max_new_tokens == 160
    assert "0.8 × 1.75^(L − 2)" in LESSON.lesson and "these 160 tokens" in LESSON.lesson


@pytest.mark.integration
def test_dry_stops_the_loop_that_the_penalty_only_delays(bundled_fp32):
    breakers = breaker_token_ids(bundled_fp32.tokenizer, LESSON.settings.dry_sequence_breakers)
    dry = generate(bundled_fp32, LESSON.prompt, UNHURRIED)
    plain = generate(bundled_fp32, LESSON.prompt, UNHURRIED.replace(dry_multiplier=0.0))
    penalty = generate(bundled_fp32, LESSON.prompt, UNHURRIED.replace(dry_multiplier=0.0, repetition_penalty=1.1))
    assert {t.output.stop_reason for t in (dry, plain, penalty)} == {"max_new_tokens"}

    # With no penalty the text loops early; at 1.1 later, and its loop is a whole sentence, at least five times over.
    plain_start, plain_span, _ = looping_tail(plain.output.token_ids)
    start, span, times = looping_tail(penalty.output.token_ids)
    assert plain_start <= 40 and start >= 2 * plain_start and times >= 5
    assert f"from step {plain_start} repeats a stanza of {plain_span} tokens" in LESSON.lesson
    said = f"from step {start} it repeats a span of {span} tokens to the end, {WORDS[int(times)]} times"
    assert said in LESSON.lesson
    assert max(repeats(penalty, breakers)) >= 3 * span  # the loop is a repeat DRY would see: no breaker cuts it

    # With DRY no tail repeats and no token extends a repeat past allowed length + MARGIN.
    assert looping_tail(dry.output.token_ids)[1] == 0
    longest = max(repeats(dry, breakers))
    assert longest <= LESSON.settings.dry_allowed_length + MARGIN
    assert f"no token extends a repeat beyond {longest} tokens" in LESSON.lesson

    # Step 1 as the lesson quotes it: the model's first choice would repeat the prompt's line, and DRY says so.
    step = dry.steps[0]
    first = max(step.candidates, key=lambda c: c.probs["raw"])
    note = step.notes["dry"]["penalized"][0]
    assert (first.text, note["id"], note["L"]) == (" gently", first.id, 7) and step.chosen.id != first.id
    assert note["start"] < len(dry.prompt.token_ids)
    assert "would repeat '… row, row your boat, gently' from the prompt, L = 7" in note_lines(dry, 0)[0]
    assert "' gently', would repeat '… row, row your boat, gently' from the prompt with L = 7" in LESSON.lesson
