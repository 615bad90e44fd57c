"""Token-for-token parity with transformers' `generate` on tiny random models built in-process."""

import dataclasses

import pytest
import torch
from transformers import GenerationConfig

from playground.engine import generate
from playground.settings import Settings
from tests.tiny import make_tiny_model, wrap_loaded

PROMPT = "the cat sat on the mat and"

GREEDY = [
    {},
    {"repetition_penalty": 1.4},
    {"no_repeat_ngram_size": 2},
    {"repetition_penalty": 1.2, "no_repeat_ngram_size": 3, "min_new_tokens": 10},
]
SAMPLE = [
    {"seed": 0},
    {"seed": 1, "temperature": 0.6},
    {"seed": 2, "temperature": 1.5, "top_k": 0},
    {"seed": 3, "top_k": 10, "top_p": 0.8},
    {"seed": 4, "min_p": 0.1, "top_k": 0},
    {"seed": 5, "typical_p": 0.9},
    {"seed": 6, "temperature": 0.8, "top_k": 20, "top_p": 0.9, "min_p": 0.02, "typical_p": 0.95},
    {"seed": 7, "repetition_penalty": 1.3, "no_repeat_ngram_size": 2, "min_new_tokens": 8},
    {"seed": 8, "top_k": 0, "epsilon_cutoff": 0.02},
    {"seed": 9, "top_k": 0, "temperature": 0.2, "eta_cutoff": 0.3},  # the tiny model is nearly uniform: sharpen it
    {"seed": 11, "top_k": 0, "top_h": 0.1},  # the tiny model is nearly uniform: a small share keeps 8 of 101
    {"seed": 12, "temperature": 0.7, "top_h": 0.8, "top_k": 20, "top_p": 0.9},  # Top-H between temperature and top-k
    {
        "seed": 10,
        "top_k": 30,
        "top_p": 0.95,
        "min_p": 0.01,
        "typical_p": 0.97,
        "epsilon_cutoff": 0.01,
        "eta_cutoff": 0.02,
    },
]
BEAM = [
    {"num_beams": 2},
    {"num_beams": 4},
    {"num_beams": 3, "length_penalty": 0.0},
    {"num_beams": 4, "length_penalty": 2.0, "early_stopping": "never"},
    {"num_beams": 4, "length_penalty": -0.5, "early_stopping": True},
    {"num_beams": 5, "num_return_sequences": 3},
    {"num_beams": 4, "num_return_sequences": 4, "early_stopping": True, "repetition_penalty": 1.3},
    {"num_beams": 3, "no_repeat_ngram_size": 2, "min_new_tokens": 6},
]
# The Settings fields generate takes under the same name (do_sample and max_new_tokens are given below; max_time
# would make the comparison depend on speed).
KNOBS = [
    f.name
    for f in dataclasses.fields(Settings)
    if hasattr(GenerationConfig(), f.name) and f.name not in ("do_sample", "max_new_tokens", "max_time")
]


def reference(model, tokenizer, settings: Settings) -> torch.Tensor:
    """What transformers' `generate` returns for the same settings (generated part only)."""
    ids = torch.tensor([tokenizer(PROMPT)["input_ids"]])
    kwargs = {k: getattr(settings, k) for k in KNOBS}
    kwargs["top_h"] = settings.top_h or None  # generate's Top-H is off when unset; Settings' when 0
    if settings.strategy != "beam":
        kwargs.update(num_beams=1, num_return_sequences=1, length_penalty=1.0, early_stopping=False)
    torch.manual_seed(settings.seed)
    out = model.generate(
        ids,
        do_sample=settings.strategy == "sample",
        max_new_tokens=settings.max_new_tokens,
        pad_token_id=tokenizer.pad_token_id,
        **kwargs,
    )
    return out[:, ids.shape[1] :]


def assert_same(ours: list[int], theirs: torch.Tensor, fill: set[int]):
    theirs = theirs.tolist()
    assert theirs[: len(ours)] == ours
    assert set(theirs[len(ours) :]) <= fill, "generate went on where we stopped"


def run_both(model_seed: int, strategy: str, knobs: dict, tiny_tokenizer, max_new_tokens=24):
    model = make_tiny_model(tiny_tokenizer, seed=model_seed)
    settings = Settings(strategy=strategy, max_new_tokens=max_new_tokens, chat=False, **knobs)
    trace = generate(wrap_loaded(model, tiny_tokenizer), PROMPT, settings)
    return trace, reference(model, tiny_tokenizer, settings)


@pytest.mark.parametrize("model_seed", [0, 1, 2])
@pytest.mark.parametrize("knobs", GREEDY, ids=str)
def test_greedy_matches_generate(model_seed, knobs, tiny_tokenizer):
    trace, ref = run_both(model_seed, "greedy", knobs, tiny_tokenizer)
    assert_same(trace.output.token_ids, ref[0], {tiny_tokenizer.pad_token_id})
    assert [s.chosen.id for s in trace.steps] == trace.output.token_ids


@pytest.mark.parametrize("model_seed", [0, 1])
@pytest.mark.parametrize("knobs", SAMPLE, ids=str)
def test_seeded_sampling_matches_generate(model_seed, knobs, tiny_tokenizer):
    trace, ref = run_both(model_seed, "sample", knobs, tiny_tokenizer)
    assert_same(trace.output.token_ids, ref[0], {tiny_tokenizer.pad_token_id})


@pytest.mark.parametrize("model_seed", [0, 1, 2])
@pytest.mark.parametrize("knobs", BEAM, ids=str)
def test_beam_search_matches_generate(model_seed, knobs, tiny_tokenizer):
    trace, ref = run_both(model_seed, "beam", knobs, tiny_tokenizer)
    fill = {tiny_tokenizer.pad_token_id, tiny_tokenizer.eos_token_id}
    assert len(trace.beams.sequences) == ref.shape[0]
    for seq, theirs in zip(trace.beams.sequences, ref, strict=True):
        assert_same(seq.token_ids, theirs, fill)
    assert trace.output.token_ids == trace.beams.sequences[0].token_ids


@pytest.mark.parametrize("stage", ["epsilon_cutoff", "eta_cutoff", "top_h"])
def test_the_cutoff_parity_runs_do_cut(stage, tiny_tokenizer):
    """The epsilon, eta and Top-H runs above must remove tokens, or their parity proves little."""
    knobs = next(k for k in SAMPLE if k.keys() & {"epsilon_cutoff", "eta_cutoff", "top_h"} == {stage})
    trace, _ = run_both(0, "sample", knobs, tiny_tokenizer)
    assert any(c.removed_by == stage for step in trace.steps for c in step.candidates)


def test_parity_runs_exercise_eos_and_length(tiny_tokenizer):
    """The tiny models must both finish early and run to max_new_tokens, or parity proves little."""
    reasons = set()
    for seed in range(3):
        for strategy, knobs in (("greedy", {}), ("sample", {"seed": seed}), ("beam", {"num_beams": 4})):
            trace, _ = run_both(seed, strategy, knobs, tiny_tokenizer)
            reasons.add(trace.output.stop_reason)
    assert reasons == {"eos", "max_new_tokens"}
