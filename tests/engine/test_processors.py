"""The stage list is transformers' processors, in transformers' order, with ours (playground/engine/samplers) next
to their neighbours in llama.cpp's chain, applied without side effects."""

import pytest
import torch
from transformers import GenerationConfig, LogitsProcessorList

from playground.engine.processors import apply_stages, apply_stages_rows, build_stages
from playground.settings import Settings
from playground.trace import STAGES
from tests.tiny import make_tiny_model, make_tiny_tokenizer

CPU = torch.device("cpu")

# Every knob with a processing stage, at a value that switches it on.
ALL_KNOBS = dict(temperature=0.7, top_h=0.5, top_k=5, top_p=0.9, min_p=0.05, typical_p=0.95, epsilon_cutoff=0.001)
ALL_KNOBS |= dict(eta_cutoff=0.002, repetition_penalty=1.3, no_repeat_ngram_size=2, min_new_tokens=3)
# Our own stages' knobs (playground/engine/samplers/), which `generate` has no processor for.
OURS = dict(smoothing_factor=0.3, top_n_sigma=1.5, presence_penalty=0.5, frequency_penalty=0.1, dry_multiplier=0.8)
OURS |= dict(xtc_probability=0.5)
OUR_STAGES = ("presence_frequency", "dry", "smoothing", "top_n_sigma", "xtc", "mirostat", "dynatemp")
EVERY = ALL_KNOBS | OURS
# Mirostat is refused beside XTC (a replay could not know XTC's coin that mu followed): runs take one or the other;
# this one also takes dynamic temperature, in the temperature's place.
MIROSTAT = EVERY | dict(xtc_probability=0.0, mirostat=2, dynatemp_range=0.3)


def transformers_processors(knobs: dict, do_sample: bool) -> list[str]:
    """The processors `generate` itself would build for these knobs, in its order (by class name)."""
    tokenizer = make_tiny_tokenizer()
    model = make_tiny_model(tokenizer, seed=0)
    config = GenerationConfig(do_sample=do_sample, eos_token_id=2, pad_token_id=tokenizer.pad_token_id, **knobs)
    model._prepare_special_tokens(config, device="cpu")
    processors = model._get_logits_processor(config, input_ids_seq_length=4, device="cpu", model_kwargs={})
    return [type(p).__name__ for p in processors]


def test_every_knob_adds_transformers_processor_in_transformers_order():
    stages = build_stages(Settings(strategy="sample", **EVERY), prompt_len=4, eos_ids=[2], device=CPU)
    theirs = [type(p).__name__ for _, p in stages if type(p).__module__.startswith("transformers.")]
    assert theirs == transformers_processors(ALL_KNOBS, do_sample=True)
    assert len(stages) == len(ALL_KNOBS) + len(OUR_STAGES) - 2  # a stage per knob (presence and frequency share one)
    # Mirostat is refused beside XTC, and dynamic temperature stands in for the temperature when it is on
    # (tests/engine/samplers/test_dynatemp.py): the second run has the stages the first leaves out.
    assert [name for name, _ in stages] == [s for s in STAGES if s not in ("raw", "final", "mirostat", "dynatemp")]
    stages = build_stages(Settings(strategy="sample", **MIROSTAT), prompt_len=4, eos_ids=[2], device=CPU)
    assert [name for name, _ in stages] == [s for s in STAGES if s not in ("raw", "final", "xtc", "temperature")]


def test_our_stages_sit_next_to_their_neighbours_in_llama_cpps_chain():
    stages = [name for name, _ in build_stages(Settings(strategy="sample", **ALL_KNOBS, **OURS), 4, [2], CPU)]
    assert stages[stages.index("smoothing") + 1] == "temperature"  # in temperature's place, just before it
    assert stages[stages.index("top_n_sigma") + 1] == "top_k"
    assert stages[stages.index("xtc") - 1] == "min_p"  # just after min-p
    stages = [name for name, _ in build_stages(Settings(strategy="sample", **MIROSTAT), 4, [2], CPU)]
    assert stages[-1] == "mirostat"  # last, so every other sampler shapes what it cuts


def test_neutral_values_add_no_stage():
    assert build_stages(Settings(strategy="sample", top_k=0), prompt_len=4, eos_ids=[2], device=CPU) == []


def test_warpers_apply_to_sampling_only():
    for strategy in ("greedy", "beam"):
        stages = build_stages(Settings(strategy=strategy, **EVERY), 4, [2], CPU)
        theirs = [type(p).__name__ for name, p in stages if name not in OUR_STAGES]
        assert theirs == transformers_processors(ALL_KNOBS, do_sample=False)
        assert [n for n, _ in stages] == [
            "repetition_penalty",
            "no_repeat_ngram",
            "min_new_tokens",
            "presence_frequency",
            "dry",
        ]


def test_staged_result_equals_transformers_list_and_leaves_input_alone():
    torch.manual_seed(0)
    stages = build_stages(Settings(strategy="sample", **EVERY), prompt_len=2, eos_ids=[2], device=CPU)
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


@pytest.mark.parametrize(
    "knobs",
    [
        dict(strategy="sample", temperature=0.7, top_k=5, top_p=0.9),
        dict(repetition_penalty=1.5, no_repeat_ngram_size=2),
        dict(strategy="sample", smoothing_factor=0.5, top_n_sigma=1.0, top_k=0),  # each row's own max and σ
    ],
    ids=["row-alike stages at once", "stages that read the past, row by row", "our stages at once"],
)
def test_rows_with_their_own_pasts_are_processed_as_one_row_each(knobs):
    torch.manual_seed(0)
    stages = build_stages(Settings(**knobs), prompt_len=3, eos_ids=[0], device=torch.device("cpu"))
    scores = torch.randn(3, 12)
    pasts = [[1, 2, 3], [1, 2, 3, 2], [4, 2, 3, 5, 2]]  # a draft tree's nodes: different lengths and tokens
    together = apply_stages_rows(stages, pasts, scores)
    for r, past in enumerate(pasts):
        alone = apply_stages(stages, torch.tensor([past]), scores[r : r + 1])
        assert [name for name, _ in together] == [name for name, _ in alone]
        for (_, rows), (_, row) in zip(together, alone, strict=True):
            torch.testing.assert_close(rows[r : r + 1], row)
