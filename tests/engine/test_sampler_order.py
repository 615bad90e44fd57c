"""The engine builds the chain in the run's order: its final scores are transformers' processors applied by hand in
that order, the recording ranks candidates wherever the filters sit, and a run's trace keeps the order."""

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from transformers import (
    MinPLogitsWarper,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
    TypicalLogitsWarper,
)

from playground.engine import generate
from playground.engine.processors import apply_stages, build_stages
from playground.engine.recording import ranking_scores, summarize_rows
from playground.settings import Settings
from playground.trace import Trace

CPU = torch.device("cpu")
KNOBS = dict(repetition_penalty=1.3, temperature=0.6, top_k=6, top_p=0.8, min_p=0.05, typical_p=0.9)
# The same stages made by hand, independently of the registry: name -> the transformers processor for KNOBS.
BY_HAND = {
    "repetition_penalty": lambda: RepetitionPenaltyLogitsProcessor(penalty=1.3),
    "temperature": lambda: TemperatureLogitsWarper(0.6),
    "top_k": lambda: TopKLogitsWarper(top_k=6),
    "top_p": lambda: TopPLogitsWarper(top_p=0.8),
    "min_p": lambda: MinPLogitsWarper(min_p=0.05),
    "typical_p": lambda: TypicalLogitsWarper(mass=0.9),
}


@given(
    order=st.permutations(list(BY_HAND)),
    seed=st.integers(0, 2**16),
    last=st.booleans(),
)
def test_a_custom_order_applies_transformers_processors_in_that_order(order, seed, last):
    generator = torch.Generator().manual_seed(seed)
    scores = torch.randn(2, 24, generator=generator) * 3  # (B=2, V=24) logits
    input_ids = torch.randint(0, 24, (2, 7), generator=generator)  # (B, T) a context for the penalty
    settings = Settings(strategy="sample", sampler_order=order, temperature_last=last, **KNOBS)
    stages = build_stages(settings, prompt_len=2, eos_ids=[0], device=CPU)
    applied = [n for n in order if n != "temperature"] + ["temperature"] if last else list(order)
    assert [name for name, _ in stages] == applied
    expected = scores.clone()
    for name in applied:
        expected = BY_HAND[name]()(input_ids, expected)
    staged = apply_stages(stages, input_ids, scores)
    torch.testing.assert_close(staged[-1][1], expected, rtol=0, atol=0)


def test_temperature_last_after_the_default_order_filters_the_models_own_probabilities():
    scores = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))  # (1, 4)
    settings = Settings(strategy="sample", top_k=0, min_p=0.2, temperature=3.0, temperature_last=True)
    stages = build_stages(settings, prompt_len=1, eos_ids=[], device=CPU)
    assert [name for name, _ in stages] == ["min_p", "temperature"]
    final = apply_stages(stages, torch.tensor([[1]]), scores)[-1][1]
    # min-p 0.2 of the top 0.5 keeps p >= 0.1: three tokens, whatever the temperature after it.
    assert torch.isneginf(final).tolist() == [[False, False, False, True]]
    first = build_stages(settings.replace(temperature_last=False), prompt_len=1, eos_ids=[], device=CPU)
    assert not torch.isneginf(apply_stages(first, torch.tensor([[1]]), scores)[-1][1]).any()  # T 3 first: all kept


def test_candidates_are_ranked_before_the_first_filter_wherever_it_sits():
    raw = torch.log(torch.tensor([[0.1, 0.4, 0.3, 0.2]]))  # (1, 4)
    top_k = raw.masked_fill(torch.tensor([[True, False, False, True]]), -math.inf)  # keeps tokens 1 and 2
    tempered = top_k / 2.0
    staged = [("raw", raw), ("top_k", top_k), ("temperature", tempered)]  # top_k first, temperature last
    assert ranking_scores(staged) is raw
    summary = summarize_rows(staged, raw, top_n=4)
    assert summary.ids[0] == [1, 2, 3, 0] and summary.stage_names == ["raw", "top_k", "temperature"]
    assert summary.removed_by[0] == [-1, -1, 1, 1]  # removed by top_k, index 1 of the staged list


def test_a_run_records_its_stages_in_its_order_and_the_trace_keeps_it(tiny_loaded):
    order = "top_p;min_p;top_k;temperature"
    settings = Settings(strategy="sample", sampler_order=order, temperature=0.7, top_k=50, top_p=0.99, min_p=0.001,
                        max_new_tokens=3, seed=1, chat=False)  # fmt: skip
    trace = generate(tiny_loaded, "the cat sat", settings)
    assert list(trace.steps[0].candidates[0].probs) == ["raw", "top_p", "min_p", "top_k", "temperature", "final"]
    assert trace.stage_order() == ("raw", "top_p", "min_p", "top_k", "temperature", "final")
    again = Trace.from_json(trace.to_json())
    assert again.settings["sampler_order"] == ["top_p", "min_p", "top_k", "temperature"]
    assert again.stage_order() == trace.stage_order() and again.to_dict() == trace.to_dict()
    later = generate(tiny_loaded, "the cat sat", settings.replace(temperature_last=True, sampler_order=()))
    assert list(later.steps[0].candidates[0].probs)[1:-1] == ["top_k", "top_p", "min_p", "temperature"]
    data = trace.to_dict()
    data["settings"]["sampler_order"] = ["top_p", "nucleus"]
    with pytest.raises(ValueError, match="sampler_order: 'nucleus' is not a stage"):
        Trace.from_dict(data).validate()  # as a loaded file is checked
