"""Parity with transformers' `generate` on the bundled SmolLM2-135M-Instruct, chat template applied."""

import dataclasses

import pytest
import torch

from playground.engine import generate
from playground.engine.branch import branch_point
from playground.settings import Settings

pytestmark = pytest.mark.integration

PROMPT = "Give me three tips for learning to play the guitar."


def reference(loaded, trace, settings: Settings) -> torch.Tensor:
    """`generate`'s output for the same prompt tokens and settings, generated part only."""
    ids = torch.tensor([trace.prompt.token_ids], device=loaded.model.device)
    kwargs = dict(max_new_tokens=settings.max_new_tokens, do_sample=settings.strategy == "sample")
    if settings.strategy == "sample":
        kwargs.update(temperature=settings.temperature, top_k=settings.top_k, top_p=settings.top_p)
        kwargs.update(epsilon_cutoff=settings.epsilon_cutoff, eta_cutoff=settings.eta_cutoff)
    if settings.strategy == "beam":
        kwargs.update(
            num_beams=settings.num_beams,
            length_penalty=settings.length_penalty,
            early_stopping=settings.early_stopping,
            num_return_sequences=settings.num_return_sequences,
        )
    kwargs["repetition_penalty"] = settings.repetition_penalty
    torch.manual_seed(settings.seed)
    with torch.no_grad():
        out = loaded.model.generate(ids, pad_token_id=loaded.tokenizer.pad_token_id, **kwargs)
    return out[:, ids.shape[1] :]


def check(ours: list[int], theirs: torch.Tensor, fill: set[int]) -> None:
    theirs = theirs.tolist()
    assert theirs[: len(ours)] == ours
    assert set(theirs[len(ours) :]) <= fill


@pytest.mark.parametrize(
    "knobs",
    [
        dict(strategy="greedy"),
        dict(strategy="greedy", repetition_penalty=1.3),
        dict(strategy="sample", seed=11, temperature=0.9, top_k=40, top_p=0.92),
        dict(strategy="sample", seed=12, temperature=1.3, top_k=0, top_p=1.0),
        # Hewitt et al.'s suggested cutoffs; with 49k tokens they cut a long tail.
        dict(strategy="sample", seed=13, top_k=0, epsilon_cutoff=0.0003),
        dict(strategy="sample", seed=14, temperature=1.2, top_k=0, eta_cutoff=0.0006),
        dict(strategy="beam", num_beams=4, num_return_sequences=2),
        dict(strategy="beam", num_beams=3, length_penalty=0.5, early_stopping=True),
    ],
    ids=str,
)
def test_bundled_fp32_matches_generate(bundled_fp32, knobs):
    settings = Settings(max_new_tokens=40, **knobs)
    trace = generate(bundled_fp32, PROMPT, settings)
    assert trace.prompt.rendered.startswith("<|im_start|>")  # the chat template was applied
    ref = reference(bundled_fp32, trace, settings)
    fill = {bundled_fp32.tokenizer.pad_token_id, *([2] if settings.strategy == "beam" else [])}
    if settings.strategy == "beam":
        for seq, theirs in zip(trace.beams.sequences, ref, strict=True):
            check(seq.token_ids, theirs, fill)
    else:
        check(trace.output.token_ids, ref[0], fill)
    assert trace.timing.new_tokens == len(trace.output.token_ids) > 0
    for cutoff in ("epsilon_cutoff", "eta_cutoff"):
        if getattr(settings, cutoff):  # the filter must have removed something, or parity proves little
            assert any(c.removed_by == cutoff for step in trace.steps for c in step.candidates)


def test_bundled_nf4_greedy_matches_generate(bundled_nf4):
    """The default precision: 4-bit NF4 weights, bf16 compute, same tokens as `generate`."""
    settings = Settings(max_new_tokens=12)
    trace = generate(bundled_nf4, PROMPT, settings)
    check(trace.output.token_ids, reference(bundled_nf4, trace, settings)[0], {bundled_nf4.tokenizer.pad_token_id})
    assert trace.model.precision == "nf4" and trace.model.source == "bundled-gguf"


@pytest.mark.parametrize(
    "knobs", [dict(strategy="greedy"), dict(strategy="sample", seed=21, temperature=0.9, top_k=40, top_p=0.92)], ids=str
)
def test_a_branch_continues_as_generate_does_from_prompt_plus_its_tokens(bundled_fp32, knobs):
    settings = Settings(max_new_tokens=16, **knobs)
    parent = generate(bundled_fp32, PROMPT, settings)
    step = parent.steps[5]
    token = next(c.id for c in step.candidates if c.id != step.chosen.id)  # what the parent did not take
    child = generate(bundled_fp32, PROMPT, settings.replace(**branch_point(parent, 6, token)))
    prefix = [*parent.output.token_ids[:5], token]
    assert child.output.token_ids[:6] == prefix
    # `generate` on the rendered prompt plus the forced tokens, as a longer prompt.
    longer = dataclasses.replace(
        child, prompt=dataclasses.replace(child.prompt, token_ids=child.prompt.token_ids + prefix)
    )
    check(
        child.output.token_ids[6:], reference(bundled_fp32, longer, settings)[0], {bundled_fp32.tokenizer.pad_token_id}
    )
