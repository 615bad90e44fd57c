"""Each step's entropy and varentropy (the mean and variance of surprisal), of the final distribution and of the
raw one: by hand on built distributions, and as every strategy records them, against the full softmax of a pass
over the run's text computed here."""

import math

import pytest
import torch

from playground.engine import generate
from playground.engine.recording import TokenTexts, summarize_rows, surprisal_moments, to_step
from playground.settings import PROMPT_LOOKUP, Settings
from playground.trace import Trace
from tests.engine.test_recording import CountingTokenizer

PROMPT = "abcabcabc"


def by_hand(probs: list[float]) -> tuple[float, float]:
    """(entropy, varentropy) in nats, written from their definitions over the tokens with p > 0."""
    kept = [p for p in probs if p > 0]
    h = sum(-p * math.log(p) for p in kept)
    return h, sum(p * (-math.log(p) - h) ** 2 for p in kept)


@pytest.mark.parametrize(
    "probs",
    [[0.25] * 4, [0.5, 0.25, 0.125, 0.125], [0.7, 0.2, 0.1, 0.0], [1.0, 0.0, 0.0, 0.0], [0.9] + [0.1 / 9] * 9],
)
def test_moments_equal_a_hand_computation(probs):
    scores = torch.tensor([probs]).log()  # (1, V); p = 0 gives -inf, a removed token
    h, v = by_hand(probs)
    got = surprisal_moments(scores)[0].tolist()
    assert got == pytest.approx([h, v], abs=1e-6)


def test_uniform_has_no_varentropy_and_two_levels_have_some():
    """A uniform row: every token as surprising as the next (variance 0). Halves and quarters: surprisals ln 2
    and ln 4, the variance of a two-point spread."""
    assert surprisal_moments(torch.zeros(2, 8)).flatten().tolist() == pytest.approx([math.log(8), 0.0] * 2, abs=1e-6)
    two_levels = torch.tensor([[0.5, 0.25, 0.25]]).log()
    h = 1.5 * math.log(2)
    assert surprisal_moments(two_levels)[0].tolist() == pytest.approx([h, 0.25 * math.log(2) ** 2], abs=1e-6)


def test_the_step_record_carries_both_of_the_final_and_of_the_raw_distribution():
    raw = torch.log(torch.tensor([[0.1, 0.4, 0.3, 0.2]]))
    top_k = raw.masked_fill(torch.tensor([[True, False, False, True]]), -math.inf)  # keeps 0.4, 0.3
    summary = summarize_rows([("raw", raw), ("top_k", top_k)], raw, top_n=4)
    step = to_step(0, summary, 0, chosen_id=1, texts=TokenTexts(CountingTokenizer()), top_n=4)
    h, v = by_hand([0.4 / 0.7, 0.3 / 0.7])
    assert (step.entropy, step.varentropy) == pytest.approx((h, v), abs=1e-6)
    assert (step.raw_entropy, step.raw_varentropy) == pytest.approx(by_hand([0.1, 0.4, 0.3, 0.2]), abs=1e-6)


def moments_of(rows: torch.Tensor) -> list[tuple[float, float]]:
    """(entropy, varentropy) of softmax(row) for each row of (N, V), in float64, from the definitions."""
    out = []
    for row in rows:
        logp = torch.log_softmax(row.double(), dim=-1)
        p = logp.exp()
        s = torch.where(p > 0, -logp, torch.zeros_like(logp))
        h = float((p * s).sum())
        out.append((h, float((p * (s - h) ** 2).sum())))
    return out


def full_moments(loaded, trace: Trace, final) -> tuple[list, list]:
    """(entropy, varentropy) before each output token of the final distribution (`final(logits)`, the run's chain
    written out here) and of the raw one, from one pass over prompt + output and a full softmax, independent of
    the engine's recording."""
    ids = torch.tensor([trace.prompt.token_ids + trace.output.token_ids])
    with torch.no_grad():
        logits = loaded.model(input_ids=ids).logits[0].float()  # (T, V)
    start = len(trace.prompt.token_ids) - 1
    raw = logits[start : start + len(trace.output.token_ids)]  # (N, V)
    rows = raw.clone()
    rows[:, loaded.tokenizer.eos_token_id] = -math.inf  # min_new_tokens covers every step: EOS is banned
    return moments_of(final(rows)), moments_of(raw)


def top_k_at(temperature: float, k: int):
    def final(logits: torch.Tensor) -> torch.Tensor:
        scores = logits / temperature
        kth = scores.topk(k, dim=-1).values[:, -1:]
        return scores.masked_fill(scores < kth, -math.inf)

    return final


@pytest.mark.parametrize(
    ("knobs", "final"),
    [
        ({"strategy": "greedy"}, lambda logits: logits),
        ({"strategy": "sample", "seed": 3, "temperature": 0.7, "top_k": 5, "top_p": 1.0}, top_k_at(0.7, 5)),
        ({"strategy": "speculative", "draft_model": PROMPT_LOOKUP}, lambda logits: logits),
    ],
    ids=["greedy", "sample", "prompt-lookup"],
)
def test_every_step_records_the_moments_of_the_distribution_it_drew_from(tiny_loaded, knobs, final):
    settings = Settings(chat=False, max_new_tokens=12, min_new_tokens=12, **knobs)
    trace = generate(tiny_loaded, PROMPT, settings)
    expected, raw = full_moments(tiny_loaded, trace, final)
    recorded = [(s.entropy, s.varentropy) for s in trace.steps]
    assert len(recorded) == 12
    assert recorded == [pytest.approx(e, rel=1e-4, abs=1e-5) for e in expected]
    recorded_raw = [(s.raw_entropy, s.raw_varentropy) for s in trace.steps]
    assert recorded_raw == [pytest.approx(e, rel=1e-4, abs=1e-5) for e in raw]


def test_beam_search_records_the_moments_on_every_step(tiny_loaded):
    trace = generate(tiny_loaded, PROMPT, Settings(strategy="beam", num_beams=3, chat=False, max_new_tokens=6))
    assert trace.steps and all(s.varentropy is not None and s.varentropy >= 0 for s in trace.steps)
    assert all(s.raw_entropy is not None and s.raw_varentropy is not None for s in trace.steps)


def test_a_trace_written_before_the_moments_loads_without_them(tiny_loaded):
    trace = generate(tiny_loaded, PROMPT, Settings(strategy="greedy", chat=False, max_new_tokens=3))
    data = trace.to_dict()
    for step in data["steps"]:
        del step["varentropy"], step["raw_entropy"], step["raw_varentropy"]
    old = Trace.from_dict(data)
    assert old.steps and [s.varentropy for s in old.steps] == [None] * len(trace.steps)
    assert [(s.raw_entropy, s.raw_varentropy) for s in old.steps] == [(None, None)] * len(trace.steps)
    assert [s.entropy for s in old.steps] == [s.entropy for s in trace.steps]
    written = old.to_dict()["steps"]  # written back as it was read
    assert all(not {"varentropy", "raw_entropy", "raw_varentropy"} & step.keys() for step in written)
