"""The Medusa views on a tiny model's run: every round's tree with its accepted path, acceptance by depth, and a
clear refusal for runs without trees."""

import pytest
import torch

from playground.engine import generate
from playground.medusa.draft import HeadsDraft
from playground.medusa.heads import HeadsCard, MedusaHeads
from playground.plots.draft_tree import depth_figure, draft_tree_figure, node_rows
from playground.plots.speculative import acceptance_figure
from playground.plots.style import GREEN, GREY, ORANGE
from playground.settings import Settings
from playground.trace import TreeNode

PROMPT = "the cat sat on the mat and the cat"


@pytest.fixture(scope="module")
def traces(tiny_tokenizer):
    from tests.tiny import make_tiny_model, wrap_loaded

    loaded = wrap_loaded(make_tiny_model(tiny_tokenizer, seed=0, eos_boost=1.0), tiny_tokenizer)
    config = loaded.model.config
    torch.manual_seed(0)
    rates = {"by_rank": [[0.5 / (r + 1) for r in range(10)] for _ in range(3)]}
    card = HeadsCard("tiny", 3, config.hidden_size, config.vocab_size, config.vocab_size, accuracy=rates)
    draft = HeadsDraft(MedusaHeads(3, config.hidden_size).eval(), card, "tiny.safetensors")
    base = dict(chat=False, max_new_tokens=24, min_new_tokens=24)
    medusa = Settings(strategy="speculative", draft_model="medusa", tree_size=9, **base)
    lookup = Settings(strategy="speculative", draft_model="prompt-lookup", **base)
    return {"medusa": generate(loaded, PROMPT, medusa, draft=draft), "lookup": generate(loaded, PROMPT, lookup)}


def test_subtrees_stay_together_and_parents_sit_between_their_children():
    def node(parent: int, depth: int) -> TreeNode:
        return TreeNode(id=0, text="x", parent=parent, depth=depth, rank=0, q=1.0, p=1.0, accepted=False)

    # root -> a, b; a -> c, d; b -> e
    tree = [node(-1, 0), node(0, 1), node(0, 1), node(1, 2), node(1, 2), node(2, 2)]
    rows = node_rows(tree)
    assert rows[3:] == [0.0, 1.0, 2.0]  # the leaves, depth first
    assert rows[1] == 0.5 and rows[2] == 2.0 and rows[0] == 1.25


def test_the_draft_tree_draws_every_guess_and_the_accepted_path(traces):
    trace = traces["medusa"]
    rounds = trace.speculative.rounds
    index = max(range(len(rounds)), key=lambda i: len(rounds[i].tree))
    r = rounds[index]
    fig = draft_tree_figure(trace, index)
    markers = {t.name: t for t in fig.data if t.mode == "markers+text"}
    accepted, turned_down = markers["accepted"], markers["turned down"]
    assert len(accepted.x) + len(turned_down.x) == len(r.tree) == 10
    assert accepted.marker.color == GREEN and turned_down.marker.color == GREY
    assert sorted(accepted.x) == list(range(len(accepted.x)))  # one accepted node per depth, from the root
    own = next(t for t in fig.data if (t.name or "").startswith("the target's own token"))
    assert own.marker.color == ORANGE and own.x[0] == max(accepted.x) + 1 and r.emitted.kind in own.name
    edges = [t for t in fig.data if t.mode == "lines"]
    assert sum(x is None for t in edges for x in t.x) == len(r.tree) - 1  # an edge per node but the root
    assert f"round {index + 1} of {len(rounds)}" in fig.layout.title.text
    assert "head" in turned_down.hovertext[0] and "q = " in turned_down.hovertext[0]


def test_acceptance_by_depth_and_tokens_per_pass(traces):
    trace = traces["medusa"]
    fig = depth_figure(trace)
    bars = fig.data[0]
    assert list(bars.y) == trace.speculative.acceptance_by_depth and list(bars.x) == [1, 2, 3]
    rounds = fig.data[1]
    assert len(rounds.x) == len(trace.speculative.rounds)
    assert fig.data[2].y[0] == pytest.approx(trace.speculative.tokens_per_round)
    # The linear-draft theory curve is not drawn for a tree.
    assert not [t for t in acceptance_figure(trace).data if (t.name or "").startswith("expected, γ")]


def test_runs_without_trees_are_refused_by_name(traces):
    with pytest.raises(ValueError, match="no draft trees: run speculative decoding with Medusa heads"):
        draft_tree_figure(traces["lookup"], 0)
    with pytest.raises(ValueError, match="no draft trees"):
        depth_figure(traces["lookup"])


def test_no_label_sits_on_the_edge_leaving_its_node(traces):
    """An edge to a child in the node's own row (every node of a chain, a parent of one child) leaves the node
    level, to the right, where a label beside it would be struck through: such a node's label sits above it,
    the others' beside their node (above, in a bushy tree, a label would sit as near the node above)."""
    trace = traces["medusa"]
    index = max(range(len(trace.speculative.rounds)), key=lambda i: len(trace.speculative.rounds[i].tree))
    tree = trace.speculative.rounds[index].tree
    rows = node_rows(tree)
    level = {n.parent for i, n in enumerate(tree[1:], start=1) if rows[n.parent] == rows[i]}
    assert level and len(level) < len(tree), "a tree with level edges and others"
    fig = draft_tree_figure(trace, index)
    for accepted, name in ((True, "accepted"), (False, "turned down")):
        drawn = next(t for t in fig.data if t.name == name)
        group = [i for i, n in enumerate(tree) if n.accepted == accepted]
        assert list(drawn.textposition) == ["top right" if i in level else "middle right" for i in group]
