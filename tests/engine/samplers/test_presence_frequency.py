"""Presence and frequency penalties against the published formula written out with a Counter, on random logits and
contexts, and through the engine: the stage is recorded under its name."""

import math
from collections import Counter

import torch
from hypothesis import given
from hypothesis import strategies as st

from playground.engine import generate
from playground.engine.samplers.presence_frequency import PresenceFrequencyPenaltyLogitsProcessor
from playground.settings import Settings

V = 12


def reference(context: list[int], logits: list[float], presence: float, frequency: float, last_n: int) -> list[float]:
    """OpenAI's definition over llama.cpp's window: logit[t] -= count(t) * frequency + (count(t) > 0) * presence."""
    window = context if last_n == -1 else context[max(len(context) - last_n, 0) :]
    counts = Counter(window)
    return [x - counts[t] * frequency - (counts[t] > 0) * presence for t, x in enumerate(logits)]


@given(
    context=st.lists(st.integers(0, V - 1), min_size=1, max_size=40),
    logits=st.lists(st.floats(-20, 20), min_size=V, max_size=V),
    presence=st.floats(-2, 2),
    frequency=st.floats(-2, 2),
    last_n=st.one_of(st.just(-1), st.integers(1, 50)),
)
def test_matches_the_formula_with_a_counter(context, logits, presence, frequency, last_n):
    scores = torch.tensor([logits])
    before = scores.clone()
    out = PresenceFrequencyPenaltyLogitsProcessor(presence, frequency, last_n)(torch.tensor([context]), scores)
    expected = torch.tensor([reference(context, logits, presence, frequency, last_n)])
    torch.testing.assert_close(out, expected)
    assert torch.equal(scores, before)  # not modified in place


def test_counts_only_the_window_and_each_row_its_own():
    ids = torch.tensor([[1, 1, 2, 3], [3, 3, 3, 3]])  # (B=2, T=4)
    out = PresenceFrequencyPenaltyLogitsProcessor(presence=1.0, frequency=0.5, last_n=2)(ids, torch.zeros(2, 5))
    # row 0's window is [2, 3]: token 1 is outside it; row 1's is [3, 3].
    assert out.tolist() == [[0.0, 0.0, -1.5, -1.5, 0.0], [0.0, 0.0, 0.0, -2.0, 0.0]]


def test_the_engine_records_the_stage_under_its_name(tiny_loaded):
    settings = Settings(presence_penalty=0.5, frequency_penalty=0.25, penalty_last_n=-1, max_new_tokens=2)
    trace = generate(tiny_loaded, "abcabca", settings.replace(chat=False, top_n=100))
    penalty = {
        tiny_loaded.tokenizer.convert_tokens_to_ids(t): 0.5 + n * 0.25 for t, n in zip("abc", (3, 2, 2), strict=True)
    }
    ratios = {c.id: c.probs["presence_frequency"] / c.probs["raw"] for c in trace.steps[0].candidates}
    free = {ratios[t] for t in ratios if t not in penalty}
    # The unpenalized tokens share the mass the penalized ones lost: one common factor above 1.
    assert max(free) - min(free) < 1e-4 and min(free) > 1.0
    for token, amount in penalty.items():
        if token in ratios:  # 100 of the 101 tokens are recorded
            assert abs(ratios[token] - min(free) * math.exp(-amount)) < 1e-4
