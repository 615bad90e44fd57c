"""Constrained beam search end to end on tiny random models: every sequence it calls satisfied is satisfied."""

import pytest

from playground.engine import generate
from playground.engine.constraints import build_constraints, satisfied
from playground.settings import Settings
from tests.tiny import make_tiny_model, wrap_loaded

PROMPT = "the cat sat on the mat and"


def constrained(**knobs) -> Settings:
    return Settings(**{"strategy": "constrained", "chat": False, "max_new_tokens": 30, **knobs})


def reads_as_met(text: str, settings: Settings) -> bool:
    """Whether decoded text holds every forced word and an option of every one-of set, as a reader checks."""
    text = text.lower()
    words = all(word.lower() in text for word in settings.force_words)
    return words and all(any(option.lower() in text for option in group) for group in settings.force_one_of)


def check_sequences(trace, tokenizer, settings):
    """Re-checks `satisfies_constraints` against the constraints rebuilt independently of the run (the same
    `satisfied` the engine uses), and that a sequence said to meet them reads so once decoded."""
    constraints = build_constraints(tokenizer, settings.force_words, settings.force_one_of)
    for seq in trace.beams.sequences:
        truth = all(satisfied(c, seq.token_ids) for c in constraints)
        assert seq.satisfies_constraints == truth
        assert not truth or reads_as_met(tokenizer.decode(seq.token_ids), settings), tokenizer.decode(seq.token_ids)
    return [seq.satisfies_constraints for seq in trace.beams.sequences]


@pytest.mark.parametrize("model_seed", [0, 1, 2])
@pytest.mark.parametrize(("num_beams", "num_return_sequences"), [(2, 1), (3, 2), (4, 4), (6, 3)], ids=lambda v: str(v))
def test_every_returned_sequence_meets_every_constraint(tiny_tokenizer, model_seed, num_beams, num_return_sequences):
    loaded = wrap_loaded(make_tiny_model(tiny_tokenizer, seed=model_seed), tiny_tokenizer)
    settings = constrained(
        force_words=("dog",),
        force_one_of=(("red", "blue"),),
        num_beams=num_beams,
        num_return_sequences=num_return_sequences,
    )
    trace = generate(loaded, PROMPT, settings)
    assert len(trace.beams.sequences) == num_return_sequences
    assert all(check_sequences(trace, tiny_tokenizer, settings))
    text = trace.output.text.lower()
    assert "dog" in text and ("red" in text or "blue" in text)


@pytest.mark.parametrize(
    "knobs",
    [
        dict(length_penalty=0.0),
        dict(length_penalty=2.0, early_stopping="never"),
        dict(early_stopping=True),
        dict(repetition_penalty=1.3),
        dict(no_repeat_ngram_size=3),
        dict(force_words=("the end",), force_one_of=()),
        dict(force_words=("a", "b", "c"), force_one_of=()),
    ],
    ids=str,
)
def test_beam_knobs_combine_with_constraints(tiny_loaded, tiny_tokenizer, knobs):
    settings = constrained(**{"force_words": ("dog",), "force_one_of": (("red", "blue"),), "num_beams": 4, **knobs})
    trace = generate(tiny_loaded, PROMPT, settings)
    assert all(check_sequences(trace, tiny_tokenizer, settings))


def test_words_in_the_prompt_do_not_count(tiny_loaded, tiny_tokenizer):
    settings = constrained(force_words=("cat",), num_beams=3)
    trace = generate(tiny_loaded, PROMPT, settings)  # the prompt holds "cat"
    assert all(check_sequences(trace, tiny_tokenizer, settings))
    assert "cat" in trace.output.text.lower()


def test_an_impossible_budget_returns_unmet_sequences_and_says_so(tiny_loaded, tiny_tokenizer):
    settings = constrained(force_words=("elephant",), num_beams=3, num_return_sequences=2, max_new_tokens=4)
    trace = generate(tiny_loaded, PROMPT, settings)
    assert len(trace.beams.sequences) == 2
    assert check_sequences(trace, tiny_tokenizer, settings) == [False, False]
    assert not any("elephant" in tiny_tokenizer.decode(seq.token_ids).lower() for seq in trace.beams.sequences)
    assert trace.output.token_ids


def test_eos_waits_for_the_constraints(tiny_tokenizer):
    """A model that wants to end at once must still write the forced word before EOS is accepted."""
    eager = wrap_loaded(make_tiny_model(tiny_tokenizer, seed=0, eos_boost=40.0), tiny_tokenizer)
    plain = generate(eager, PROMPT, Settings(strategy="beam", num_beams=3, chat=False, max_new_tokens=30))
    assert plain.output.stop_reason == "eos" and len(plain.output.token_ids) <= 3
    settings = constrained(force_words=("dog",), num_beams=3, num_return_sequences=3)
    trace = generate(eager, PROMPT, settings)
    assert all(check_sequences(trace, tiny_tokenizer, settings))
    for seq in trace.beams.sequences:
        if seq.token_ids[-1] == tiny_tokenizer.eos_token_id:
            assert "dog" in tiny_tokenizer.decode(seq.token_ids[:-1]).lower()


def test_trace_records_banks_and_the_constraint_each_token_advanced(tiny_loaded, tiny_tokenizer):
    settings = constrained(force_words=("dog",), force_one_of=(("red", "blue"),), num_beams=3)
    trace = generate(tiny_loaded, PROMPT, settings)
    beams = trace.beams
    assert [c.kind for c in beams.constraints] == ["phrase", "one_of"]
    assert " dog" in beams.constraints[0].texts and "blue" in beams.constraints[1].texts
    assert [tiny_tokenizer.encode(" dog", add_special_tokens=False)] == [
        ids
        for ids, text in zip(beams.constraints[0].token_ids, beams.constraints[0].texts, strict=True)
        if text == " dog"
    ]
    assert all(n.bank is not None for n in beams.nodes)
    advanced = {n.constraint for n in beams.nodes if n.constraint is not None}
    assert advanced == {0, 1}
    statuses = {n.status for n in beams.nodes}
    assert {"kept", "pruned", "returned"} <= statuses
    # Along the returned path the bank never falls below the full count at the end.
    best = max((n for n in beams.nodes if n.status == "returned"), key=lambda n: n.score)
    assert best.bank == 2 * 5  # both met, each counted at the longest option's length (" blue": 5 tokens)
    assert [s.chosen.id for s in trace.steps] == trace.output.token_ids
    assert reads_as_met(tiny_tokenizer.decode(trace.output.token_ids), settings)


def test_streams_then_returns_a_trace_that_round_trips(tiny_loaded):
    from playground.engine import stream
    from playground.trace import Trace

    updates = list(stream(tiny_loaded, PROMPT, constrained(force_words=("dog",), num_beams=2, max_new_tokens=12)))
    assert len(updates) >= 2 and updates[-1].trace is not None
    trace = updates[-1].trace
    assert Trace.from_json(trace.to_json()) == trace
    assert trace.beams.sequences[0].satisfies_constraints and "dog" in trace.output.text.lower()
