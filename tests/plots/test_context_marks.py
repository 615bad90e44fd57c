"""Why a penalty touched a candidate, on hand-built contexts, and the marks the stage view draws from it."""

from types import SimpleNamespace

import pytest

from playground.engine import generate
from playground.plots import stage_figure
from playground.plots.context_marks import context_ids, earlier, repeated_ngram
from playground.plots.style import hover_escape, show_token
from playground.settings import Settings


def trace(prompt: list[int], chosen: list[int]):
    steps = [SimpleNamespace(index=i, chosen=SimpleNamespace(id=t)) for i, t in enumerate(chosen)]
    return SimpleNamespace(prompt=SimpleNamespace(token_ids=prompt), steps=steps)


def test_the_context_of_a_step_is_the_prompt_then_the_earlier_choices():
    t = trace([1, 2, 3, 1, 2], [4, 1, 4])
    assert context_ids(t, 0) == [1, 2, 3, 1, 2] and context_ids(t, 2) == [1, 2, 3, 1, 2, 4, 1]


def test_earlier_counts_prompt_occurrences_and_lists_the_steps_that_chose_a_token():
    found = earlier(trace([1, 2, 3, 1, 2], [4, 1, 4]), 2)
    assert (found[1].in_prompt, found[1].steps) == (2, [2])
    assert str(found[1]) == "in the prompt (2×) and at step 2"
    assert (found[4].in_prompt, found[4].steps, str(found[4])) == (0, [1], "at step 1")
    assert 5 not in found and str(found[3]) == "in the prompt"


def test_repeated_ngram_finds_the_first_occurrence_in_the_prompt_or_the_output():
    t = trace([1, 2, 3, 1, 2], [4, 1, 4])
    # At step 1 the context ends 1, 2: choosing 3 would repeat the prompt's "1 2 3".
    assert (repeated_ngram(t, 0, 3, 3).token_ids, repeated_ngram(t, 0, 3, 3).first_step) == ([1, 2, 3], None)
    # At step 4 the context ends ... 4, 1, 4: choosing 1 would repeat "4 1", which steps 1 and 2 chose.
    found = repeated_ngram(t, 3, 1, 2)
    assert (found.token_ids, found.first_step) == ([4, 1], 2)
    assert repeated_ngram(t, 3, 5, 2) is None  # "4 5" never occurred
    assert repeated_ngram(t, 3, 1, 1).first_step is None  # a 1-gram ban: token 1 was read in the prompt
    assert repeated_ngram(t, 3, 1, 0) is None  # 0 bans nothing


@pytest.fixture(scope="module")
def penalized(tiny_tokenizer):
    from tests.tiny import make_tiny_model, wrap_loaded

    loaded = wrap_loaded(make_tiny_model(tiny_tokenizer, seed=0, eos_boost=1.0), tiny_tokenizer)
    settings = Settings(chat=False, max_new_tokens=16, min_new_tokens=16, repetition_penalty=3.0)
    return generate(loaded, "the cat sat on the mat and the cat", settings)


def test_the_stage_view_marks_every_candidate_in_the_context_with_its_fall(penalized):
    for index in (0, 7, 15):
        step = penalized.steps[index]
        seen = set(context_ids(penalized, index))
        marks = [a for a in stage_figure(penalized, index).layout.annotations if a.text.startswith("⟲")]
        in_context = [c for c in step.candidates if c.id in seen]
        assert len(marks) == len(in_context) > 0
        for mark, c in zip(marks, in_context, strict=True):
            assert mark.text == f"⟲ {c.probs['raw']:.2f}→{c.probs['repetition_penalty']:.2f}"
            assert c.probs["repetition_penalty"] < c.probs["raw"]  # a penalty above 1 pushes it down
        assert f"{len(in_context)} candidate" in stage_figure(penalized, index).layout.title.subtitle.text


@pytest.mark.parametrize(("n", "at_least"), [(1, 30), (2, 2)])
def test_the_stage_view_spells_the_ngram_a_banned_candidate_would_repeat(tiny_tokenizer, n, at_least):
    """Token texts are characters here, so the spelled n-gram must occur in the text read so far."""
    from tests.tiny import make_tiny_model, wrap_loaded

    loaded = wrap_loaded(make_tiny_model(tiny_tokenizer, seed=0, eos_boost=1.0), tiny_tokenizer)
    settings = Settings(chat=False, max_new_tokens=16, min_new_tokens=16, no_repeat_ngram_size=n)
    run = generate(loaded, "the cat sat on the mat and the cat", settings)
    banned = 0
    for index, step in enumerate(run.steps):
        read = run.prompt.text + "".join(s.chosen.text for s in run.steps[:index])
        notes = [a.text for a in stage_figure(run, index).layout.annotations]
        assert "✂ no_repeat_ngram" not in notes  # every ban is spelled out
        cuts = [a for a in stage_figure(run, index).layout.annotations if a.text.startswith("✂ repeats")]
        removed = [c for c in step.candidates if c.removed_by == "no_repeat_ngram"]
        assert len(cuts) == len(removed)
        for cut, c in zip(cuts, removed, strict=True):
            spelled = read[len(read) - n + 1 :] + c.text
            assert cut.text == hover_escape(f"✂ repeats {show_token(spelled)!r}") and spelled in read
            assert hover_escape(f"would repeat the {n}-gram {spelled!r}, seen before") in cut.hovertext
        banned += len(removed)
    assert banned >= at_least
