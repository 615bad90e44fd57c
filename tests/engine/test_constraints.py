"""The constraint state machine on hand-built token sequences: phrase progress, resets, one-of tries, banks."""

import pytest

from playground.engine.constraints import (
    Constraint,
    advance,
    advancing_tokens,
    bank,
    build_constraints,
    drop_extensions,
    initial_state,
    is_complete,
    satisfied,
    spellings,
)
from playground.settings import SettingsError

PHRASE = Constraint("phrase", ("abc",), ((1, 2, 3),))
ONE_OF = Constraint("one_of", ("x", "yz"), ((7,), (5, 6)))


def run(constraints, tokens):
    state, advanced = initial_state(constraints), []
    for token in tokens:
        state, which = advance(constraints, state, token)
        advanced.append(which)
    return state, advanced


def test_spellings_cover_space_and_capital_forms():
    assert spellings("umbrella") == ["umbrella", " umbrella", "Umbrella", " Umbrella"]
    assert spellings("New York") == ["New York", " New York"]


def test_options_that_extend_another_are_dropped_with_duplicates():
    assert drop_extensions([(1, 2, 3), (1, 2), (4,), (1, 2), (4, 5)]) == ((4,), (1, 2))


def test_phrase_progresses_token_by_token_and_completes():
    state, advanced = run([PHRASE], [1, 2])
    assert state == ((False, (1, 2)),) and advanced == [0, 0]
    state, advanced = run([PHRASE], [1, 2, 3])
    assert is_complete(state) and advanced == [0, 0, 0]


def test_broken_phrase_resets_and_a_breaking_token_can_start_again():
    state, _ = run([PHRASE], [1, 2, 9])
    assert state == ((False, ()),)
    state, _ = run([PHRASE], [1, 1, 2, 3])  # the second 1 breaks "1 2" and starts it anew
    assert is_complete(state)
    state, _ = run([Constraint("phrase", ("aab",), ((1, 1, 2),))], [1, 1, 1, 2])
    assert is_complete(state)


def test_completion_inside_a_longer_partial_match_counts():
    c = Constraint("one_of", ("abc", "b"), ((1, 2, 3), (2,)))
    state, _ = run([c], [1, 2])
    assert is_complete(state)


def test_one_of_is_met_by_any_option_and_stays_met():
    assert is_complete(run([ONE_OF], [7])[0])
    state, advanced = run([ONE_OF], [5, 6, 9, 9])
    assert is_complete(state) and advanced == [0, 0, None, None]


def test_the_advanced_constraint_is_named():
    _, advanced = run([PHRASE, ONE_OF], [9, 7, 1, 2, 3])
    assert advanced == [None, 1, 0, 0, 0]


def test_bank_counts_met_constraints_at_full_length_plus_partial_progress():
    constraints = [PHRASE, ONE_OF]  # longest option: 3 tokens
    assert bank(constraints, initial_state(constraints)) == 0
    assert bank(constraints, run(constraints, [1, 2])[0]) == 2
    assert bank(constraints, run(constraints, [7])[0]) == 3
    assert bank(constraints, run(constraints, [7, 1, 2, 3])[0]) == 6


def test_advancing_tokens_are_next_tokens_and_fresh_starts_of_unmet_constraints():
    constraints = [PHRASE, ONE_OF]
    assert advancing_tokens(constraints, initial_state(constraints)) == {1, 7, 5}
    assert advancing_tokens(constraints, run(constraints, [1, 2])[0]) == {1, 3, 7, 5}
    assert advancing_tokens(constraints, run(constraints, [7, 1])[0]) == {1, 2}
    assert advancing_tokens(constraints, run(constraints, [7, 1, 2, 3])[0]) == set()


def test_satisfied_looks_for_a_contiguous_option():
    assert satisfied(PHRASE, [0, 1, 2, 3, 0])
    assert not satisfied(PHRASE, [1, 2, 0, 3])
    assert satisfied(ONE_OF, [5, 6]) and not satisfied(ONE_OF, [6, 5])


def test_build_constraints_lists_every_tokenization(tiny_tokenizer):
    (phrase, one_of) = build_constraints(tiny_tokenizer, ("cat",), (("red", "Blue"),))
    decoded = {tiny_tokenizer.decode(list(o)) for o in phrase.options}
    assert decoded == {"cat", " cat", "Cat", " Cat"}
    assert {tiny_tokenizer.decode(list(o)) for o in one_of.options} == {"red", " red", "Red", " Red", "Blue", " Blue"}
    assert one_of.label == "red | Blue"


def test_a_phrase_without_tokens_is_refused_by_name():
    class Silent:
        def __call__(self, text, add_special_tokens=False, split_special_tokens=False):
            return {"input_ids": []}

    with pytest.raises(SettingsError, match="force_words 'zzz' has no tokens"):
        build_constraints(Silent(), ("zzz",), ())


def test_a_phrase_that_spells_a_control_token_is_forced_as_text(tiny_tokenizer):
    (phrase,) = build_constraints(tiny_tokenizer, ("<eos>",), ())
    eos = tiny_tokenizer.convert_tokens_to_ids("<eos>")
    assert all(eos not in option for option in phrase.options)  # the end of sequence would meet it unseen
    assert "<eos>" in {tiny_tokenizer.decode(list(option)) for option in phrase.options}
