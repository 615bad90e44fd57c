"""The stage list is transformers' processors, in transformers' order, applied without side effects."""

import torch
from transformers import LogitsProcessorList

from playground.engine.processors import apply_stages, build_stages
from playground.settings import Settings

CPU = torch.device("cpu")

ALL_KNOBS = dict(
    temperature=0.7,
    top_k=5,
    top_p=0.9,
    min_p=0.05,
    typical_p=0.95,
    epsilon_cutoff=0.001,
    eta_cutoff=0.002,
    repetition_penalty=1.3,
    no_repeat_ngram_size=2,
    min_new_tokens=3,
)


def test_every_knob_adds_its_stage_in_transformers_order():
    stages = build_stages(Settings(strategy="sample", **ALL_KNOBS), prompt_len=4, eos_ids=[2], device=CPU)
    assert [name for name, _ in stages] == [
        "repetition_penalty",
        "no_repeat_ngram",
        "min_new_tokens",
        "temperature",
        "top_k",
        "top_p",
        "min_p",
        "typical_p",
        "epsilon_cutoff",
        "eta_cutoff",
    ]


def test_neutral_values_add_no_stage():
    assert build_stages(Settings(strategy="sample", top_k=0), prompt_len=4, eos_ids=[2], device=CPU) == []


def test_warpers_apply_to_sampling_only():
    for strategy in ("greedy", "beam"):
        names = [n for n, _ in build_stages(Settings(strategy=strategy, **ALL_KNOBS), 4, [2], CPU)]
        assert names == ["repetition_penalty", "no_repeat_ngram", "min_new_tokens"]


def test_staged_result_equals_transformers_list_and_leaves_input_alone():
    torch.manual_seed(0)
    stages = build_stages(Settings(strategy="sample", **ALL_KNOBS), prompt_len=2, eos_ids=[2], device=CPU)
    input_ids = torch.tensor([[1, 7, 7, 3, 7]])
    scores = torch.randn(1, 16)
    before = scores.clone()
    staged = apply_stages(stages, input_ids, scores)
    expected = LogitsProcessorList([p for _, p in stages])(input_ids, scores.clone())
    assert torch.equal(staged[-1][1], expected)
    assert torch.equal(scores, before)
    assert staged[0] == ("raw", scores)
    assert len(staged) == len(stages) + 1


def test_uniform_distribution_stays_uniform_under_temperature():
    stages = build_stages(Settings(strategy="sample", temperature=0.3, top_k=0), 1, [2], CPU)
    staged = apply_stages(stages, torch.tensor([[1]]), torch.zeros(1, 10))
    probs = torch.softmax(staged[-1][1], dim=-1)
    assert torch.allclose(probs, torch.full((1, 10), 0.1))
