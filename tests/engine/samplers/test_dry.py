"""DRY against a brute-force O(n²) matcher written from the definition, on random contexts and logits; its
properties (nothing below the allowed length, breakers end matches, the penalty stays finite); the breakers read
from a tokenizer; and a run through the engine that records the stage under its name."""

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from playground.engine import generate
from playground.engine.branch import branch_point
from playground.engine.compare import staged_scores
from playground.engine.samplers.dry import DRYLogitsProcessor, breaker_token_ids, repeat_lengths, z_array
from playground.settings import Settings

V = 6  # a small vocabulary, so random contexts repeat themselves
BREAKER = 5

contexts = st.lists(st.integers(0, V - 1), min_size=1, max_size=60)


def brute_lengths(context: list[int], breakers: frozenset[int]) -> dict[int, int]:
    """For each token t: the longest L such that the last L tokens, none a breaker, also end at some j < n - 1 with
    context[j + 1] = t. Every earlier position is tried and every match is walked back token by token."""
    n = len(context)
    lengths: dict[int, int] = {}
    for j in range(n - 1):
        length = 0
        while length <= j and context[j - length] == context[n - 1 - length] and context[j - length] not in breakers:
            length += 1
        if length:
            follower = context[j + 1]
            lengths[follower] = max(length, lengths.get(follower, 0))
    return lengths


def brute_scores(context, logits, multiplier, base, allowed, breakers):
    """The definition: logit[t] -= multiplier * base ** (L - allowed) where L >= allowed and t is no breaker."""
    lengths = brute_lengths(context, breakers)
    return [
        x - multiplier * base ** (lengths[t] - allowed) if lengths.get(t, 0) >= allowed and t not in breakers else x
        for t, x in enumerate(logits)
    ]


@given(st.lists(st.integers(0, 3), max_size=50))
def test_z_array_is_the_longest_common_prefix_at_each_shift(seq):
    def lcp(k):
        return next((i for i in range(len(seq) - k) if seq[i] != seq[k + i]), len(seq) - k)

    assert z_array(seq) == [lcp(k) for k in range(len(seq))]


@given(contexts, st.booleans())
def test_repeat_lengths_match_the_brute_force_matcher(context, with_breaker):
    breakers = frozenset({BREAKER}) if with_breaker else frozenset()
    assert repeat_lengths(context, breakers) == brute_lengths(context, breakers)


@given(
    context=contexts,
    logits=st.lists(st.floats(-20, 20), min_size=V, max_size=V),
    multiplier=st.floats(0.01, 5),
    base=st.floats(1, 3),
    allowed=st.integers(1, 6),
    last_n=st.one_of(st.just(-1), st.integers(1, 70)),
)
def test_scores_match_the_definition(context, logits, multiplier, base, allowed, last_n):
    breakers = frozenset({BREAKER})
    scores = torch.tensor([logits], dtype=torch.float64)
    before = scores.clone()
    out = DRYLogitsProcessor(multiplier, base, allowed, last_n, breakers)(torch.tensor([context]), scores)
    window = context if last_n == -1 else context[max(len(context) - last_n, 0) :]
    expected = brute_scores(window, logits, multiplier, base, allowed, breakers)
    torch.testing.assert_close(out, torch.tensor([expected], dtype=torch.float64))
    assert torch.equal(scores, before)  # not modified in place


@given(context=contexts, allowed=st.integers(1, 8))
def test_no_penalty_below_the_allowed_length(context, allowed):
    lengths = brute_lengths(context, frozenset())
    out = DRYLogitsProcessor(2.0, 1.75, allowed, -1, frozenset())(torch.tensor([context]), torch.zeros(1, V))
    for token in range(V):
        assert bool(out[0, token] == 0) is (lengths.get(token, 0) < allowed)


def test_a_breaker_ends_the_match_and_is_never_penalized():
    # "0 1 2 3 | 0 1 2": without the breaker 3 would repeat "0 1 2"; a breaker after it leaves nothing to match.
    proc = DRYLogitsProcessor(1.0, 2.0, 2, -1, frozenset({3}))
    assert proc(torch.tensor([[0, 1, 2, 3, 0, 1, 2]]), torch.zeros(1, V))[0, 3] == 0  # 3 is a breaker
    assert proc(torch.tensor([[0, 1, 2, 4, 0, 1, 2, 3]]), torch.zeros(1, V)).abs().sum() == 0
    assert proc(torch.tensor([[0, 1, 2, 4, 0, 1, 2]]), torch.zeros(1, V))[0, 4] == -2.0  # L = 3: 1 * 2 ** 1


def test_the_penalty_stays_finite_however_long_the_repeat():
    proc = DRYLogitsProcessor(100.0, 10.0, 1, -1, frozenset())  # 10 ** 198 would overflow float32 and float64's x100
    out = proc(torch.tensor([[2] * 200]), torch.zeros(1, V))
    assert torch.isfinite(out).all() and out[0, 2] < -1e38


def test_breakers_are_the_tokens_whose_text_holds_one(tiny_tokenizer):
    ids = breaker_token_ids(tiny_tokenizer, ("\n", ":", '"', "*"))
    assert sorted(tiny_tokenizer.decode([i]) for i in ids) == sorted(["\n", ":", '"', "*"])
    assert breaker_token_ids(tiny_tokenizer, ()) == frozenset()
    assert breaker_token_ids(tiny_tokenizer, ("\n", ":", '"', "*")) is ids  # read once, not every run


def test_the_engine_records_the_stage_under_its_name(tiny_loaded):
    # The prompt ends in "abc", which "abcd" had: d would repeat 4 tokens, 2 past the allowed length.
    settings = Settings(dry_multiplier=0.5, dry_base=2.0, dry_allowed_length=2, max_new_tokens=2, chat=False)
    trace = generate(tiny_loaded, "xabcdyabc", settings.replace(top_n=100))
    d = tiny_loaded.tokenizer.convert_tokens_to_ids("d")
    ratios = {c.id: c.probs["dry"] / c.probs["raw"] for c in trace.steps[0].candidates}
    free = [ratio for token, ratio in ratios.items() if token != d]
    assert max(free) - min(free) < 1e-4 and min(free) > 1.0  # the others share what d lost
    if d in ratios:  # 100 of the 101 tokens are recorded
        assert abs(ratios[d] - min(free) * math.exp(-0.5 * 2.0 ** (3 - 2))) < 1e-4


def test_a_branch_replays_the_penalties_with_the_runs_breakers(tiny_loaded):
    # The prompt ends in the breaker ":": DRY leaves the first step alone, and would not without the breakers.
    settings = Settings(dry_multiplier=1.0, presence_penalty=0.5, max_new_tokens=4, chat=False)
    parent = generate(tiny_loaded, "ab:ab:ab:", settings)
    step = parent.steps[0]
    token = next(c for c in step.candidates if c.id != step.chosen.id)
    child = generate(tiny_loaded, "ab:ab:ab:", settings.replace(**branch_point(parent, 1, token.id)))
    assert child.branch.probs == pytest.approx(token.probs, abs=1e-6)
    assert token.probs["dry"] == pytest.approx(token.probs["presence_frequency"], abs=1e-6)


def test_compare_reads_the_penalties_with_the_runs_breakers(tiny_loaded):
    settings = Settings(dry_multiplier=1.0, chat=False)
    prompt = tiny_loaded.tokenizer("ab:ab:ab:")["input_ids"]
    (staged,) = next(staged_scores(tiny_loaded, [settings], prompt, [5]))
    assert [name for name, _ in staged] == ["raw", "dry"]
    assert torch.equal(staged[0][1], staged[1][1])  # the prompt ends in the breaker ":": nothing to penalize
