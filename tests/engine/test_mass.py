"""Where the mass goes, checked against the model read independently (teacher forcing, `compare.distributions`):
each node's probability is the final distribution after its path, the sums are exact, and pruning is honest."""

import dataclasses

import pytest
import torch

from playground.engine.compare import distributions
from playground.engine.mass import mass_tree
from playground.settings import Limits, Settings
from tests.tiny import make_tiny_model, wrap_loaded

PROMPT = "the cat sat"


@pytest.fixture(scope="module")
def tiny(tiny_tokenizer):
    # A sharper model than the default tiny one, so a few continuations hold most of the mass.
    model = make_tiny_model(tiny_tokenizer, seed=3, eos_boost=4.0)
    with torch.no_grad():
        model.lm_head.weight.mul_(30.0)
    return wrap_loaded(model, tiny_tokenizer)


def walk(node, path=()):
    """Every node with the token path leading to it."""
    yield node, path
    for child in node.children:
        yield from walk(child, (*path, child.token_id))


def expected(loaded, settings, prompt_ids, path):
    """The final distribution after `path`, read by teacher forcing (no cache reordering, no batching)."""
    *_, last = distributions(loaded, [settings], prompt_ids, [*path, 0])
    return last[0]


SETTINGS = [
    Settings(chat=False, mass_depth=3, mass_threshold=0.01),
    Settings(chat=False, strategy="sample", temperature=0.7, top_k=5, mass_depth=3, mass_threshold=0.005),
    Settings(chat=False, strategy="sample", top_p=0.8, repetition_penalty=1.5, mass_depth=2, mass_threshold=0.002),
]


@pytest.mark.parametrize("settings", SETTINGS, ids=["greedy", "temperature+top-k", "top-p+penalty"])
def test_every_node_is_the_models_final_distribution_after_its_path(tiny, settings):
    tree = mass_tree(tiny, PROMPT, settings)
    prompt_ids = tree.prompt.token_ids
    assert tree.nodes > 3 and not tree.capped
    for node, path in walk(tree.root):
        if node.children or node.other:
            probs = expected(tiny, settings, prompt_ids, path)  # (V,) after this node's path
            shown = {child.token_id for child in node.children}
            # Exactly the tokens at or above the threshold, each with the model's probability.
            above = {t for t in range(probs.shape[0]) if node.joint * float(probs[t]) >= settings.mass_threshold}
            assert shown == above
            for child in node.children:
                assert child.prob == pytest.approx(float(probs[child.token_id]), abs=1e-5)
                assert child.joint == pytest.approx(node.joint * child.prob, rel=1e-9)
            # The children and "other" hold exactly the node's probability.
            assert sum(c.joint for c in node.children) + node.other == pytest.approx(node.joint, abs=1e-12)
            assert node.other >= 0
    depth = max(len(path) for _, path in walk(tree.root))
    assert depth == settings.mass_depth or any(node.ended for node, _ in walk(tree.root))


def test_depth_one_is_the_first_steps_final_distribution_and_sums_to_one(tiny):
    settings = Settings(chat=False, strategy="sample", temperature=1.3, top_k=0, mass_depth=1, mass_threshold=0.0001)
    tree = mass_tree(tiny, PROMPT, settings)
    probs = expected(tiny, settings, tree.prompt.token_ids, ())
    assert {c.token_id: pytest.approx(c.prob, abs=1e-6) for c in tree.root.children} == {
        t: float(p) for t, p in enumerate(probs) if float(p) >= 0.0001
    }
    assert sum(c.joint for c in tree.root.children) + tree.root.other == pytest.approx(1.0, abs=1e-9)
    assert tree.forward_passes == 1


def test_the_end_of_sequence_ends_a_path(tiny):
    tree = mass_tree(tiny, PROMPT, Settings(chat=False, mass_depth=3, mass_threshold=0.001))
    ended = [node for node, _ in walk(tree.root) if node.ended]
    assert ended, "the EOS-boosted tiny model ends some path within three tokens"
    assert all(node.token_id == tiny.tokenizer.eos_token_id and not node.children for node in ended)
    assert all(node.other == 0 for node in ended)


def test_the_node_cap_keeps_the_likeliest_and_counts_the_rest_as_other(tiny):
    full = mass_tree(tiny, PROMPT, Settings(chat=False, mass_depth=2, mass_threshold=0.001))
    cap = full.nodes // 2
    limits = dataclasses.replace(Limits(), max_mass_nodes=cap)
    capped = mass_tree(tiny, PROMPT, Settings(chat=False, mass_depth=2, mass_threshold=0.001, limits=limits))
    assert capped.capped and capped.nodes == cap and not full.capped
    kept = {path: node.joint for node, path in walk(capped.root) if path}
    whole = {path: node.joint for node, path in walk(full.root) if path}
    assert set(kept) < set(whole)
    for level in (1, 2):
        shown = [p for path, p in kept.items() if len(path) == level]
        left = [p for path, p in whole.items() if len(path) == level and path not in kept]
        if shown and left:
            assert min(shown) >= max(left)  # what the cap dropped was never likelier than what it kept
    for node, _ in walk(capped.root):
        if node.children or node.other:
            assert sum(c.joint for c in node.children) + node.other == pytest.approx(node.joint, abs=1e-12)


def test_bad_depth_and_threshold_name_the_field():
    from playground.settings import SettingsError

    with pytest.raises(SettingsError, match="mass_depth"):
        Settings(mass_depth=5)
    with pytest.raises(SettingsError, match="mass_threshold"):
        Settings(mass_threshold=0.0)
