"""Top-nσ and smoothing in a run: the engine records each under its name, the step's probabilities are the ones
their published definitions give on the model's raw logits, a trace with them survives export and import and a
branch, and sampled first tokens follow that distribution (chi-square)."""

import dataclasses
import math

import pytest
import torch

from playground.engine import generate
from playground.engine.branch import branch_point
from playground.engine.compare import staged_scores
from playground.settings import Limits, Settings
from playground.trace import Trace
from tests.chi_square import assert_follows
from tests.engine.samplers.test_smoothing import smoothed_by_formula
from tests.engine.samplers.test_top_n_sigma import kept_by_definition

PROMPT = "the cat sat"
# The tiny model's logits lie close together, its top apart from the rest: 0.2 σ keeps 18 of its 101 tokens.
BOTH = dict(strategy="sample", chat=False, smoothing_factor=2.0, temperature=1.3, top_n_sigma=0.2, top_k=0)


def by_definition(raw: list[float]) -> dict[str, torch.Tensor]:
    """The distribution after each stage of BOTH, from the definitions in plain floats: smoothing, then the
    temperature, then top-nσ on what the temperature made."""
    smoothed = smoothed_by_formula(raw, BOTH["smoothing_factor"], 1.0)
    warmed = [x / BOTH["temperature"] for x in smoothed]
    kept, _ = kept_by_definition(warmed, BOTH["top_n_sigma"])
    final = [x if i in kept else -math.inf for i, x in enumerate(warmed)]
    as_probs = lambda xs: torch.softmax(torch.tensor(xs, dtype=torch.float64), dim=-1)  # noqa: E731
    return {"smoothing": as_probs(smoothed), "top_n_sigma": as_probs(final)}


def raw_logits(loaded, settings: Settings, prompt_ids: list[int]) -> list[float]:
    """The model's raw next-token logits after the prompt, as the engine reads them."""
    (staged,) = next(staged_scores(loaded, [settings], prompt_ids, [0]))
    assert staged[0][0] == "raw"
    return staged[0][1][0].double().tolist()


def test_a_run_records_both_stages_by_name_with_the_definitions_probabilities(tiny_loaded):
    settings = Settings(**BOTH, max_new_tokens=3, seed=2, top_n=50)  # enough candidates to see the cut
    trace = generate(tiny_loaded, PROMPT, settings)
    step = trace.steps[0]
    assert list(step.candidates[0].probs) == ["raw", "smoothing", "temperature", "top_n_sigma", "final"]
    assert any(c.removed_by == "top_n_sigma" for c in step.candidates)
    expected = by_definition(raw_logits(tiny_loaded, settings, trace.prompt.token_ids))
    for c in step.candidates:
        for stage, probs in expected.items():
            assert math.isclose(c.probs[stage], probs[c.id].item(), rel_tol=1e-4, abs_tol=1e-7), (stage, c.id)
        assert (c.removed_by == "top_n_sigma") is (expected["top_n_sigma"][c.id].item() == 0)
    assert all(s.chosen.prob > 0 for s in trace.steps)
    assert Trace.from_json(trace.to_json()).to_dict() == trace.to_dict()


def test_a_branch_keeps_both_stages_and_goes_on_as_its_parent_would(tiny_loaded):
    settings = Settings(**BOTH, max_new_tokens=6, seed=3, top_n=50)
    parent = generate(tiny_loaded, PROMPT, settings)
    step = parent.steps[2]
    token = next(c.id for c in step.candidates if c.id != step.chosen.id and c.removed_by is None)
    child = generate(tiny_loaded, PROMPT, settings.replace(**branch_point(parent, 3, token)))
    assert child.output.token_ids[:3] == [*parent.output.token_ids[:2], token]
    assert all(list(s.candidates[0].probs) == list(step.candidates[0].probs) for s in child.steps)
    # The forced step shows what the parent saw there, through both stages (the prefix is read in one pass, the
    # parent read it token by token: the last float bits may differ).
    forced = child.steps[2].candidates
    assert [(c.id, c.removed_by) for c in forced] == [(c.id, c.removed_by) for c in step.candidates]
    for mine, theirs in zip(forced, step.candidates, strict=True):
        assert mine.probs == pytest.approx(theirs.probs, abs=1e-6)


def test_first_tokens_follow_the_final_distribution(tiny_loaded):
    count = 2000
    limits = dataclasses.replace(Limits(), max_samples=count)
    settings = Settings(**BOTH, num_samples=count, seed=11, max_new_tokens=1, limits=limits)
    trace = generate(tiny_loaded, PROMPT, settings)
    counts = torch.zeros(tiny_loaded.info.vocab_size, dtype=torch.float64)
    for sample in trace.samples.samples:
        counts[sample.token_ids[0]] += 1
    p = by_definition(raw_logits(tiny_loaded, settings, trace.prompt.token_ids))["top_n_sigma"]
    assert 2 < int((p > 0).sum()) < len(p) / 2, "top-nσ keeps a few tokens and removes most"
    assert_follows(counts, p)  # a token top-nσ removed is never drawn
