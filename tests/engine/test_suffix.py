"""The suffix index against a brute-force matcher written from the definition, and hand-built cases."""

from __future__ import annotations

import time
from collections import Counter
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from playground.engine.speculative import suffix
from playground.engine.speculative.suffix import SuffixIndex, suffix_array


def brute_force(documents, text, budget, max_pattern, min_match, min_prob, min_count, prior):
    """The definition, by scanning every position of every document (shares divided as the index divides
    them, so they compare exactly)."""
    if budget == 0:
        return [], []
    for length in range(min(max_pattern, len(text)), min_match - 1, -1):
        pattern = text[len(text) - length :]
        ends = [(d, i + length) for d, doc in enumerate(documents) for i in range(len(doc) - length + 1)
                if doc[i : i + length] == pattern]  # fmt: skip
        if len(ends) >= min_count:
            break
    else:
        return [], []
    tokens, probs = [], []
    while len(tokens) < budget:
        following = Counter(documents[d][e] for d, e in ends if e < len(documents[d]))
        if not following:
            break
        token, count = min(following.items(), key=lambda item: (-item[1], item[0]))
        if count < min_count or count / (len(ends) + prior) < min_prob:
            break
        tokens.append(token)
        probs.append(count / (len(ends) + prior))
        ends = [(d, e + 1) for d, e in ends if e < len(documents[d]) and documents[d][e] == token]
    return tokens, probs


documents = st.lists(st.lists(st.integers(0, 3), max_size=12), max_size=5)
texts = st.lists(st.integers(0, 3), max_size=10)
# (min_match, max_pattern - min_match, min_prob, min_count, prior)
settings = st.tuples(
    st.integers(1, 3),
    st.integers(0, 3),
    st.sampled_from([0.0, 0.3, 0.6]),
    st.integers(1, 3),
    st.sampled_from([0.0, 1.0]),
)


@given(documents, texts, st.integers(0, 6), settings)
@example([[0, 1, 2], [0, 1, 3]], [0, 1], 3, (2, 1, 0.0, 1, 0.0))
def test_propose_matches_brute_force(docs, text, budget, knobs):
    min_match, extra, min_prob, min_count, prior = knobs
    options = dict(
        max_pattern=min_match + extra, min_match=min_match, min_prob=min_prob, min_count=min_count, prior=prior
    )
    expected = brute_force(docs, text, budget, **options)
    index = SuffixIndex(docs, **options)
    assert index.propose(text, budget) == expected
    with patch.object(suffix, "SCAN_IN_NUMPY", 0):  # every run scanned in numpy too
        assert index.propose(text, budget) == expected


@given(st.lists(st.integers(-3, 3), max_size=40))
def test_suffix_array_sorts_the_suffixes(tokens):
    expected = sorted(range(len(tokens)), key=lambda i: tokens[i:])
    assert suffix_array(np.array(tokens, dtype=np.int64)).tolist() == expected


def test_a_match_never_runs_across_two_documents():
    index = SuffixIndex([[1, 2, 3], [4, 5]], min_count=1, prior=0)
    assert index.propose([2, 3], 4) == ([], [])  # document 0 ends after 2 3: nothing follows, not 4
    assert index.propose([3, 4], 4) == ([], [])  # 3 4 spans the boundary: no match


def test_an_occurrence_at_a_documents_end_counts_against_the_share():
    index = SuffixIndex([[1, 2], [1, 2, 6]], min_count=1, prior=0)
    assert index.propose([1, 2], 4) == ([6], [0.5])


def test_a_tie_goes_to_the_smaller_token_id():
    index = SuffixIndex([[1, 2, 7, 8], [1, 2, 5, 9]], min_count=1, prior=0)
    assert index.propose([0, 1, 2], 2) == ([5, 9], [0.5, 1.0])


def test_the_longest_matching_end_wins_over_a_more_frequent_shorter_one():
    index = SuffixIndex([[9, 1, 2, 3], [1, 2, 4], [1, 2, 4]], min_count=1, prior=0)
    assert index.propose([9, 1, 2], 1) == ([3], [1.0])
    assert index.propose([8, 1, 2], 1) == ([4], [2 / 3])


def test_a_token_below_the_share_threshold_ends_the_proposal():
    index = SuffixIndex([[1, 2, 3, 4], [1, 2, 3, 5], [1, 2, 3, 6]], min_prob=0.5, min_count=1, prior=0)
    assert index.propose([1, 2], 5) == ([3], [1.0])


def test_min_count_two_needs_two_occurrences_of_a_match_and_of_a_token():
    assert SuffixIndex([[1, 2, 3]], min_count=2, prior=0).propose([1, 2], 2) == ([], [])
    assert SuffixIndex([[1, 2, 3], [1, 2, 3]], min_count=2, prior=0).propose([1, 2], 2) == ([3], [1.0])
    index = SuffixIndex([[1, 2, 3, 4], [1, 2, 3, 5]], min_count=2, prior=0)
    assert index.propose([1, 2], 3) == ([3], [1.0])  # 4 and 5: once each


def test_by_default_one_occurrence_is_added_to_the_matching_ones_when_estimating_a_chance():
    assert SuffixIndex([[1, 2, 3, 4]]).propose([1, 2], 2) == ([3, 4], [0.5, 0.5])
    assert SuffixIndex([[1, 2, 3], [1, 2, 3], [1, 2, 5]]).propose([1, 2], 1) == ([3], [0.5])


def test_budget_limits_and_zero_budget_proposes_nothing():
    index = SuffixIndex([[1, 2, 3, 4, 5, 6]], min_count=1, prior=0)
    assert index.propose([1, 2], 0) == ([], [])
    assert index.propose([1, 2], 2) == ([3, 4], [1.0, 1.0])


def test_no_documents_or_a_text_shorter_than_min_match_proposes_nothing():
    assert SuffixIndex([]).propose([1, 2, 3], 4) == ([], [])
    assert SuffixIndex([[1, 2, 3]]).propose([2], 4) == ([], [])


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"min_match": 0}, "min_match"),
        ({"min_match": 5, "max_pattern": 4}, "min_match"),
        ({"min_count": 0}, "min_count"),
        ({"prior": -1}, "prior"),
    ],
)
def test_bad_settings_are_refused_by_name(options, field):
    with pytest.raises(ValueError, match=field):
        SuffixIndex([[1, 2]], **options)


def test_load_index_builds_a_models_shipped_corpus_once_even_when_asked_at_once(tmp_path, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    from playground.suffix.corpus import SHIPPED, save_documents

    save_documents([[1, 2, 3, 4], [1, 2, 3, 4]], tmp_path / "c.npz")
    monkeypatch.setitem(SHIPPED, "some/model", tmp_path / "c.npz")
    monkeypatch.setattr(suffix, "_indexes", {})
    reads, real = [], suffix.shipped_documents

    def slow_read(model_id):  # slow enough that unguarded builds would overlap
        reads.append(model_id)
        time.sleep(0.05)
        return real(model_id)

    monkeypatch.setattr(suffix, "shipped_documents", slow_read)
    with ThreadPoolExecutor(4) as pool:
        indexes = list(pool.map(suffix.load_index, ["some/model"] * 8))
    assert reads == ["some/model"] and all(index is indexes[0] for index in indexes)
    assert indexes[0].propose([1, 2], 2) == ([3, 4], [2 / 3, 2 / 3])


def test_load_index_is_none_for_a_model_without_a_corpus(monkeypatch):
    monkeypatch.setattr(suffix, "_indexes", {})
    assert suffix.load_index("someone/else") is None
