"""Every tensor the engine makes names its device: runs of every strategy while new tensors default elsewhere.

CI has no GPU, so a tensor created without a device (which lands on the CPU) next to a model on CUDA cannot
fail here by itself. With `torch.set_default_device("meta")` any tensor made without a device is a meta
tensor: it has no data, so using it with the model's CPU tensors or reading a value from it raises. A run that
finishes under this guard made every tensor on the model's device or deliberately (explicitly) on the CPU.
"""

from __future__ import annotations

import contextlib

import pytest
import torch

from playground.engine.compare import compare_path
from playground.models import load_model
from playground.settings import Settings
from tests.helpers import run as generate
from tests.tiny import make_tiny_heads, save_tiny_model

PROMPT = "the cat sat on the mat and the cat sat"


@contextlib.contextmanager
def tensors_default_to_meta():
    """New tensors without an explicit device are meta tensors until the block ends."""
    torch.set_default_device("meta")
    try:
        yield
    finally:
        torch.set_default_device(None)


@pytest.fixture(scope="module")
def models(tmp_path_factory, tiny_tokenizer):
    """A target and a different draft, loaded (and cached by the loader) before the guard is on, since loading
    a checkpoint is not what this test is about."""
    base = tmp_path_factory.mktemp("device")
    target_dir = save_tiny_model(base / "target", tiny_tokenizer, seed=0, eos_boost=1.0)
    draft_dir = save_tiny_model(base / "draft", tiny_tokenizer, seed=5, eos_boost=1.0, sharpen=30.0)
    target = load_model(target_dir, "fp32", device="cpu")
    for precision in ("fp32", "bf16"):
        load_model(target_dir, precision, device="cpu")
    load_model(draft_dir, "fp32", device="cpu")
    return target, draft_dir


# Every strategy, with every processor switched on somewhere (min_new_tokens makes a tensor of EOS ids).
EVERY_PROCESSOR = dict(repetition_penalty=1.3, no_repeat_ngram_size=3, min_new_tokens=4)
SAMPLING_FILTERS = dict(temperature=0.8, top_k=20, top_p=0.9, min_p=0.02, typical_p=0.95, seed=3)
CASES = {
    "greedy": dict(strategy="greedy", **EVERY_PROCESSOR),
    "sample": dict(strategy="sample", **EVERY_PROCESSOR, **SAMPLING_FILTERS),
    "beam": dict(strategy="beam", num_beams=3, num_return_sequences=2, **EVERY_PROCESSOR),
    "beam-early-stopping": dict(strategy="beam", num_beams=2, early_stopping=True, length_penalty=0.5),
    "constrained": dict(
        strategy="constrained", num_beams=3, force_words=("mat",), force_one_of=(("dog", "cow"),), **EVERY_PROCESSOR
    ),
    "speculative-greedy-same-weights": dict(
        strategy="speculative", draft_model=None, draft_precision="bf16", **EVERY_PROCESSOR
    ),
    "speculative-greedy-other-draft": dict(strategy="speculative", draft_model="draft", draft_schedule="adaptive"),
    "speculative-sampling": dict(
        strategy="speculative", draft_model="draft", do_sample=True, **EVERY_PROCESSOR, **SAMPLING_FILTERS
    ),
    "prompt-lookup-greedy": dict(strategy="speculative", draft_model="prompt-lookup", measure_speedup=True),
    "prompt-lookup-sampling": dict(strategy="speculative", draft_model="prompt-lookup", do_sample=True, seed=1),
    # A branch: its forced tokens are read by teacher forcing before the strategy goes on.
    "branch-sample": dict(strategy="sample", prefix_ids=(5, 9, 13), **EVERY_PROCESSOR, **SAMPLING_FILTERS),
    "branch-beam": dict(strategy="beam", num_beams=2, prefix_ids=(7,)),
    # Many samples in one batch: rows leave the batch as they end (a stop string ends some early).
    "sample-many": dict(
        strategy="sample", num_samples=6, stop=tuple("aeion0@q"), **EVERY_PROCESSOR, **SAMPLING_FILTERS
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_every_strategy_makes_its_tensors_on_the_models_device(models, name):
    target, draft_dir = models
    knobs = dict(CASES[name])
    if knobs.get("draft_model") == "draft":
        knobs["draft_model"] = draft_dir
    if knobs["strategy"] == "speculative" and "draft_precision" not in knobs:
        knobs["draft_precision"] = "fp32"
    settings = Settings(chat=False, max_new_tokens=12, **knobs)
    expected = generate(target, PROMPT, settings)
    with tensors_default_to_meta():
        guarded = generate(target, PROMPT, settings)
    # The guard changes where tensors may be made, not what is decided.
    assert guarded.output.token_ids == expected.output.token_ids
    assert [s.chosen.prob for s in guarded.steps] == [s.chosen.prob for s in expected.steps]


def test_comparing_two_configurations_makes_its_tensors_on_the_models_device(models):
    target, draft_dir = models
    other = load_model(draft_dir, "fp32", device="cpu")
    a = Settings(chat=False, max_new_tokens=8, strategy="sample", seed=2, **EVERY_PROCESSOR)
    b = a.replace(temperature=1.5, top_k=5)  # top-k: some steps have infinite KL
    trace = generate(target, PROMPT, a)
    cases = [(target, b), (other, a)]  # one model under two settings (one pass), and another model
    expected = [compare_path(target, a, m, s, trace.prompt.token_ids, trace.output.token_ids) for m, s in cases]
    with tensors_default_to_meta():
        guarded = [compare_path(target, a, m, s, trace.prompt.token_ids, trace.output.token_ids) for m, s in cases]
    assert guarded == expected


def test_the_mass_tree_makes_its_tensors_on_the_models_device(models):
    from playground.engine.mass import mass_tree

    target, _ = models
    settings = Settings(chat=False, strategy="sample", mass_depth=3, mass_threshold=0.002, **EVERY_PROCESSOR)
    expected = mass_tree(target, PROMPT, settings)
    with tensors_default_to_meta():
        guarded = mass_tree(target, PROMPT, settings)
    assert guarded.root == expected.root and guarded.nodes == expected.nodes > 3


@pytest.mark.parametrize("samples", [False, True], ids=["greedy", "sampling"])
def test_medusa_heads_make_their_tensors_on_the_models_device(models, samples):
    from playground.engine import generate as run_with

    target, _ = models
    draft = make_tiny_heads(target.model.config)
    knobs = dict(do_sample=True, **SAMPLING_FILTERS) if samples else {}
    settings = Settings(chat=False, max_new_tokens=12, strategy="speculative", draft_model="medusa", tree_size=10,
                        measure_speedup=True, **EVERY_PROCESSOR, **knobs)  # fmt: skip
    expected = run_with(target, PROMPT, settings, draft=draft)
    with tensors_default_to_meta():
        guarded = run_with(target, PROMPT, settings, draft=draft)
    assert guarded.output.token_ids == expected.output.token_ids
    assert [s.chosen.prob for s in guarded.steps] == [s.chosen.prob for s in expected.steps]


@pytest.mark.parametrize("samples", [False, True], ids=["greedy", "sampling"])
def test_the_automatic_draft_makes_its_tensors_on_the_models_device(models, samples, monkeypatch):
    """Prompt lookup, the suffix index and the heads all draft (the index has read the prompt's own tokens), with
    the cost curve measured before the guard (another curve would size the rounds, and round the figures,
    differently); the measurement itself runs under the guard on its own. The rounds' own times are not read
    (they would price the two runs' rounds differently): the guard covers the rounds' tensors either way."""
    monkeypatch.setattr("playground.engine.speculative.auto.AutoPlanner.timed", lambda self, plan, *times: None)
    from playground.engine import generate as run_with
    from playground.engine.speculative import cost
    from playground.engine.speculative.auto import AutoDraft
    from playground.engine.speculative.suffix import SuffixIndex

    target, _ = models
    ids = target.tokenizer(PROMPT)["input_ids"]
    draft = AutoDraft(heads=make_tiny_heads(target.model.config), index=SuffixIndex([ids, ids[::-1]]))
    knobs = dict(do_sample=True, **SAMPLING_FILTERS) if samples else {}
    settings = Settings(chat=False, max_new_tokens=12, strategy="speculative", draft_model="auto",
                        **EVERY_PROCESSOR, **knobs)  # fmt: skip
    expected = run_with(target, PROMPT, settings, draft=draft)
    with tensors_default_to_meta():
        guarded = run_with(target, PROMPT, settings, draft=draft)
        curve = cost.measure_cost_curve(target.model, ids)
    assert len(curve) == cost.MOST and curve[0] == 1.0
    assert guarded.output.token_ids == expected.output.token_ids
    assert [s.chosen.prob for s in guarded.steps] == [s.chosen.prob for s in expected.steps]
