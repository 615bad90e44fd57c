"""Branching: a run that takes another token at some step of a parent run and lets its strategy go on from there.

What must hold: the parent's tokens before the branch point, then the chosen token, then exactly what a fresh
run would make from prompt + those tokens (transformers' `generate` on that longer prompt, greedy and seeded
sampling), for every strategy; the forced steps record how likely the chosen token was."""

import dataclasses

import pytest
import torch

import playground.engine.forward as forward_module
from playground.engine.branch import branch_point
from playground.models import load_model
from playground.settings import Settings, SettingsError
from playground.summary import summary
from playground.trace import Trace
from tests.helpers import run
from tests.tiny import make_tiny_model, save_tiny_model, wrap_loaded

PROMPT = "the cat sat on the mat and"


@pytest.fixture(scope="module")
def model(tiny_tokenizer):
    # EOS rarely wins, so parents run their full length and a branch point can be anywhere.
    return make_tiny_model(tiny_tokenizer, seed=0, eos_boost=0.0)


@pytest.fixture(scope="module")
def loaded(model, tiny_tokenizer):
    return wrap_loaded(model, tiny_tokenizer)


def reference(model, tokenizer, prefix: list[int], settings: Settings) -> list[int]:
    """What `generate` makes after prompt + prefix with the same settings."""
    ids = torch.tensor([tokenizer(PROMPT)["input_ids"] + prefix])
    sample = settings.strategy == "sample"
    torch.manual_seed(settings.seed)
    out = model.generate(
        ids,
        do_sample=sample,
        max_new_tokens=settings.max_new_tokens,
        temperature=settings.temperature if sample else None,
        top_k=settings.top_k if sample else None,
        top_p=settings.top_p if sample else None,
        repetition_penalty=settings.repetition_penalty,
        pad_token_id=tokenizer.pad_token_id,
    )
    return out[0, ids.shape[1] :].tolist()


def alternative(parent: Trace, at: int) -> int:
    """A token other than the one the parent chose at 1-based step `at`."""
    step = parent.steps[at - 1]
    return next(c.id for c in step.candidates if c.id != step.chosen.id)


@pytest.mark.parametrize(
    "knobs",
    [
        dict(strategy="greedy"),
        dict(strategy="greedy", repetition_penalty=1.3),
        dict(strategy="sample", seed=4, temperature=0.9, top_k=20),
        dict(strategy="sample", seed=5, top_p=0.9, top_k=0),
    ],
    ids=str,
)
@pytest.mark.parametrize("at", [1, 4, 12])
def test_a_branch_is_the_parents_start_the_chosen_token_then_generate_from_there(loaded, model, knobs, at):
    settings = Settings(chat=False, max_new_tokens=12, **knobs)
    parent = run(loaded, PROMPT, settings)
    token = alternative(parent, at)
    child = run(loaded, PROMPT, settings.replace(**branch_point(parent, at, token)))
    prefix = [*parent.output.token_ids[: at - 1], token]
    assert child.output.token_ids[:at] == prefix
    after = child.output.token_ids[at:]
    assert after == reference(model, loaded.tokenizer, prefix, settings)[: len(after)]
    assert len(after) == 12 or child.output.stop_reason == "eos"  # max_new_tokens counts after the branch
    assert [s.index for s in child.steps] == list(range(len(child.output.token_ids)))
    assert [s.origin for s in child.steps[:at]] == ["inherited"] * (at - 1) + ["forced"]
    assert all(s.origin is None for s in child.steps[at:])
    assert (child.branch.parent, child.branch.at, child.branch.token.id) == (parent.run_id, at, token)
    assert child.settings["prefix_ids"] == prefix and child.settings["parent_run"] == parent.run_id
    assert f" · branched at step {at}: took {child.branch.token.text!r} (p = " in summary(child)


def test_the_forced_steps_show_the_distributions_the_parent_saw(loaded):
    settings = Settings(chat=False, max_new_tokens=10, strategy="sample", seed=2, temperature=0.8, top_k=30)
    parent = run(loaded, PROMPT, settings)
    token = alternative(parent, 6)
    child = run(loaded, PROMPT, settings.replace(**branch_point(parent, 6, token)))
    # Teacher forcing reads the same tokens in one pass: the same candidates, the same probabilities.
    for theirs, ours in zip(parent.steps[:5], child.steps[:5], strict=True):
        assert [c.id for c in ours.candidates] == [c.id for c in theirs.candidates]
        for a, b in zip(ours.candidates, theirs.candidates, strict=True):
            assert a.probs == pytest.approx(b.probs, abs=1e-5)
    # The chosen token's probability after every stage is the one the parent's step shows for it.
    shown = next(c for c in parent.steps[5].candidates if c.id == token)
    assert child.branch.probs == pytest.approx(shown.probs, abs=1e-5)
    assert child.branch.token.prob == pytest.approx(shown.probs["final"], abs=1e-5)


@pytest.mark.parametrize(
    "knobs",
    [
        dict(strategy="beam", num_beams=3, num_return_sequences=2),
        dict(strategy="constrained", num_beams=3, force_words=("mat",)),
        dict(strategy="speculative", draft_model="prompt-lookup"),
        dict(strategy="speculative", draft_model="prompt-lookup", do_sample=True, seed=3),
    ],
    ids=lambda k: k["strategy"],
)
def test_every_strategy_continues_a_branch(loaded, knobs):
    settings = Settings(chat=False, max_new_tokens=10, **knobs)
    parent = run(loaded, PROMPT, Settings(chat=False, max_new_tokens=10))
    token = alternative(parent, 3)
    child = run(loaded, PROMPT, settings.replace(**branch_point(parent, 3, token)))
    fresh = run(loaded, PROMPT, settings)  # for the shapes only
    prefix = [*parent.output.token_ids[:2], token]
    assert child.output.token_ids[:3] == prefix
    assert child.output.text.startswith(loaded.tokenizer.decode(prefix))
    assert [s.index for s in child.steps] == list(range(len(child.steps)))
    if child.beams is not None:
        assert all(seq.token_ids[:3] == prefix for seq in child.beams.sequences)
        assert min(node.step for node in child.beams.nodes) == 3  # the tree starts after the branch
        assert len(child.beams.sequences) == len(fresh.beams.sequences)
    if child.speculative is not None:
        assert child.speculative.rounds[0].start == 3


def test_a_speculative_greedy_branch_equals_a_greedy_branch(tmp_path, tiny_tokenizer):
    target = load_model(save_tiny_model(tmp_path / "target", tiny_tokenizer, seed=0, eos_boost=0.0), "fp32")
    parent = run(target, PROMPT, Settings(chat=False, max_new_tokens=12))
    point = branch_point(parent, 5, alternative(parent, 5))
    greedy = run(target, PROMPT, Settings(chat=False, max_new_tokens=12, **point))
    # The draft: the same weights at fp32, so exactly greedy's tokens.
    same = dict(strategy="speculative", draft_model=None, draft_precision="fp32")
    speculative = run(target, PROMPT, Settings(chat=False, max_new_tokens=12, **same, **point))
    assert speculative.output.token_ids == greedy.output.token_ids
    assert speculative.speculative.acceptance_rate == 1.0


def test_taking_end_of_sequence_ends_the_branch_there(loaded, tiny_tokenizer):
    parent = run(loaded, PROMPT, Settings(chat=False, max_new_tokens=6))
    child = run(
        loaded, PROMPT, Settings(chat=False, max_new_tokens=6, **branch_point(parent, 3, tiny_tokenizer.eos_token_id))
    )
    assert child.output.token_ids == [*parent.output.token_ids[:2], tiny_tokenizer.eos_token_id]
    assert child.output.stop_reason == "eos" and len(child.steps) == 3


def test_forced_tokens_longer_than_a_chunk_are_read_in_pieces(loaded, monkeypatch):
    parent = run(loaded, PROMPT, Settings(chat=False, max_new_tokens=12))
    whole = run(loaded, PROMPT, Settings(chat=False, max_new_tokens=4, **branch_point(parent, 11, 7)))
    monkeypatch.setattr(forward_module, "CHUNK", 3)  # 11 forced tokens: four pieces
    pieces = run(loaded, PROMPT, Settings(chat=False, max_new_tokens=4, **branch_point(parent, 11, 7)))
    assert pieces.output.token_ids == whole.output.token_ids
    for a, b in zip(pieces.steps, whole.steps, strict=True):
        assert a.chosen.id == b.chosen.id and a.chosen.prob == pytest.approx(b.chosen.prob, abs=1e-5)


def test_bad_branch_points_are_named(loaded):
    parent = run(loaded, PROMPT, Settings(chat=False, max_new_tokens=5))
    with pytest.raises(SettingsError, match="the step to branch at must be 1 to 6 for this run, got 7"):
        branch_point(parent, 7, 3)
    with pytest.raises(SettingsError, match="must be a token id, got -1"):
        branch_point(parent, 2, -1)
    with pytest.raises(SettingsError, match=r"prefix_ids holds 5000, not a token id of this model \(< 101\)"):
        run(loaded, PROMPT, Settings(chat=False, prefix_ids=(1, 5000)))
    with pytest.raises(SettingsError, match="parent_run must be a run id"):
        Settings(parent_run="../etc")


def test_a_branch_trace_round_trips_and_plain_traces_keep_their_keys(loaded):
    parent = run(loaded, PROMPT, Settings(chat=False, max_new_tokens=5))
    child = run(loaded, PROMPT, Settings(chat=False, max_new_tokens=5, **branch_point(parent, 2, 9)))
    again = Trace.from_json(child.to_json())
    again.validate()
    assert again.to_dict() == child.to_dict() and again.branch == child.branch
    plain = parent.to_dict()
    assert "branch" not in plain and all("origin" not in step for step in plain["steps"])
    assert child.to_dict()["steps"][1]["origin"] == "forced"
    bad = dataclasses.replace(again, steps=[dataclasses.replace(again.steps[0], origin="made up"), *again.steps[1:]])
    with pytest.raises(ValueError, match="origin must be one of inherited, forced"):
        bad.validate()
