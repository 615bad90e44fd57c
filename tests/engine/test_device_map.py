"""A model accelerate dispatched, with part of it offloaded, runs every strategy token for token as the same model
on one device.

A dispatched model has no single device: its weights wait on the CPU, on disk or on `meta` (`model.device` is
then `meta`), input ids go to its embeddings' device, logits come back on the inputs' device and hidden states
arrive where the last layer ran. On a CPU every part computes on the CPU, so a tensor the engine makes on
`model.device` (meta) or reads from an offloaded weight fails here as it would on several GPUs. The weights stay
float32 wherever they wait, so the tokens and probabilities must be exactly the undispatched model's.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
from accelerate import cpu_offload, dispatch_model
from transformers import LlamaForCausalLM

from playground.engine import generate
from playground.engine.speculative import load_draft
from playground.models import LoadedModel, load_model
from playground.models.device_map import input_device, placement
from playground.settings import Settings
from playground.trace import Trace
from playground.training.medusa import features, self_distill
from tests.engine.test_device import CASES, EVERY_PROCESSOR, PROMPT
from tests.tiny import make_tiny_heads, save_tiny_model

# 100 KB holds the tiny model's embeddings and first layer: the rest goes to disk.
CPU_MEMORY = "cpu=100KB"
# By hand: the embeddings (the first weight, so `model.device` is meta), the second layer and the LM head on disk.
ON_DISK = {"model.embed_tokens", "model.layers.1", "lm_head"}
MODULES = ["model.embed_tokens", "model.layers.0", "model.layers.1", "model.norm", "model.rotary_emb", "lm_head"]
DISPATCHES = ["auto-from-the-loader", "embeddings-on-disk", "cpu-offload"]


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory, tiny_tokenizer):
    """A target and a different draft saved as directories, with PLAYGROUND_MAX_MEMORY small enough that the
    loader's device map sends part of each to disk (offload folders in a temporary cache)."""
    base = tmp_path_factory.mktemp("device-map")
    target = save_tiny_model(base / "target", tiny_tokenizer, seed=0, eos_boost=1.0)
    draft = save_tiny_model(base / "draft", tiny_tokenizer, seed=5, eos_boost=1.0, sharpen=30.0)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PLAYGROUND_MAX_MEMORY", CPU_MEMORY)
        env.setenv("PLAYGROUND_CACHE_DIR", str(base / "cache"))
        yield target, draft


@pytest.fixture(scope="module")
def dispatched(checkpoints, tmp_path_factory):
    """The target on one device, and each way of dispatching it with offload: (reference, {name: loaded})."""
    target, _ = checkpoints
    reference = load_model(target, "fp32", device="cpu")
    auto = load_model(target, "fp32", device_map="auto")
    by_hand = dispatch_model(
        LlamaForCausalLM.from_pretrained(target).eval(),
        {name: "disk" if name in ON_DISK else "cpu" for name in MODULES},
        offload_dir=str(tmp_path_factory.mktemp("offload")),
    )
    offloaded = cpu_offload(LlamaForCausalLM.from_pretrained(target).eval(), execution_device="cpu")
    return reference, {
        "auto-from-the-loader": auto,
        "embeddings-on-disk": _wrapped(reference, by_hand),
        "cpu-offload": _wrapped(reference, offloaded),
    }


def _wrapped(reference: LoadedModel, model) -> LoadedModel:
    """A LoadedModel like `reference`'s around a dispatched copy of its model."""
    info = dataclasses.replace(reference.info, device=placement(model))
    return LoadedModel(model, reference.tokenizer, info, reference.load_s)


def test_the_dispatched_models_are_offloaded_as_intended(dispatched):
    _, loaded = dispatched
    assert loaded["auto-from-the-loader"].info.device == "cpu+disk"
    assert loaded["auto-from-the-loader"].model.hf_device_map["lm_head"] == "disk"
    assert loaded["embeddings-on-disk"].model.device.type == "meta"
    assert loaded["cpu-offload"].model.device.type == "meta"
    for each in loaded.values():
        assert input_device(each.model) == torch.device("cpu")


def _knobs(name: str, draft_dir: str) -> Settings:
    knobs = dict(CASES[name])
    if knobs.get("draft_model") == "draft":
        knobs["draft_model"] = draft_dir
    if knobs["strategy"] == "speculative" and "draft_precision" not in knobs:
        knobs["draft_precision"] = "fp32"
    return Settings(chat=False, max_new_tokens=12, **knobs)


def _decisions(trace: Trace) -> tuple:
    """What a run decided: its tokens and their probabilities, every returned beam and every sample."""
    beams = [s.token_ids for s in trace.beams.sequences] if trace.beams else None
    samples = [s.token_ids for s in trace.samples.samples] if trace.samples else None
    return trace.output.token_ids, [s.chosen.prob for s in trace.steps], beams, samples


@pytest.mark.parametrize("dispatch", DISPATCHES)
@pytest.mark.parametrize("name", CASES)
def test_every_strategy_decides_as_on_one_device(dispatched, checkpoints, dispatch, name):
    reference, loaded = dispatched
    target = loaded[dispatch]
    settings = _knobs(name, checkpoints[1])
    expected = generate(reference, PROMPT, settings, draft=load_draft(settings, reference))
    # The loader's model takes a draft placed as it is (dispatched too); the others the reference's draft.
    draft = load_draft(settings, target if target.device_map else reference)
    assert _decisions(generate(target, PROMPT, settings, draft=draft)) == _decisions(expected)


@pytest.mark.parametrize("dispatch", DISPATCHES)
@pytest.mark.parametrize("samples", [False, True], ids=["greedy", "sampling"])
def test_medusa_heads_read_an_offloaded_lm_head(dispatched, dispatch, samples):
    reference, loaded = dispatched
    config = reference.model.config
    # Heads that score a part of the vocabulary, so their projection indexes the offloaded LM head's rows. They
    # guess what the LM head says now, which a peaked sampling run takes now and then: the cache keeps a path.
    heads = make_tiny_heads(config, vocab_ids=torch.arange(4, config.vocab_size), std=0.0)
    knobs = dict(do_sample=True, temperature=0.3, seed=3) if samples else {}
    settings = Settings(chat=False, max_new_tokens=12, strategy="speculative", draft_model="medusa", tree_size=10,
                        **EVERY_PROCESSOR, **knobs)  # fmt: skip
    expected = generate(reference, PROMPT, settings, draft=heads)
    assert _decisions(generate(loaded[dispatch], PROMPT, settings, draft=heads)) == _decisions(expected)
    assert expected.speculative.acceptance_rate > 0 or not samples


def test_a_dispatched_model_compares_and_expands_the_mass_tree(dispatched):
    from playground.engine.compare import compare_path
    from playground.engine.mass import mass_tree

    reference, loaded = dispatched
    target = loaded["embeddings-on-disk"]
    a = Settings(chat=False, max_new_tokens=8, strategy="sample", seed=2, **EVERY_PROCESSOR)
    b = a.replace(temperature=1.5, top_k=5)
    trace = generate(reference, PROMPT, a)
    ids = trace.prompt.token_ids, trace.output.token_ids
    assert compare_path(target, a, target, b, *ids) == compare_path(reference, a, reference, b, *ids)
    mass = a.replace(mass_depth=2, mass_threshold=0.002)
    assert mass_tree(target, PROMPT, mass).root == mass_tree(reference, PROMPT, mass).root


def test_medusa_training_data_comes_from_a_model_whose_first_weight_is_on_meta(dispatched):
    """The heads' training reads the model's own answers and hidden states; `model.device` is meta here."""
    reference, loaded = dispatched
    prompts = ["the cat", "a dog sat"]
    expected = self_distill(reference, prompts, max_new_tokens=6, batch=2)
    sequences = self_distill(loaded["embeddings-on-disk"], prompts, max_new_tokens=6, batch=2)
    assert sequences == expected
    hidden, targets = features(loaded["embeddings-on-disk"], sequences, num_heads=2)
    expected_hidden, expected_targets = features(reference, expected, num_heads=2)
    assert torch.equal(targets, expected_targets) and torch.allclose(hidden, expected_hidden, atol=1e-6)
