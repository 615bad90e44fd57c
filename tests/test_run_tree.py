"""A session's runs as a tree: parents and children, which runs go first when it is full, where each sits in
the drawing, and the runs file."""

import json

import pytest

from playground.engine import generate
from playground.engine.branch import branch_point
from playground.run_tree import SCHEMA, RunTree, read_runs
from playground.settings import Settings

SETTINGS = Settings(chat=False, max_new_tokens=5, min_new_tokens=5)


@pytest.fixture
def family(tiny_loaded):
    """A run, two branches of it (at steps 2 and 4) and a branch of the first branch."""
    root = generate(tiny_loaded, "the cat", SETTINGS)

    def branch(parent, at):
        token = next(c.id for c in parent.steps[at - 1].candidates if c.id != parent.steps[at - 1].chosen.id)
        return generate(tiny_loaded, "the cat", SETTINGS.replace(**branch_point(parent, at, token)))

    first = branch(root, 2)
    return root, first, branch(root, 4), branch(first, 3)


def test_branches_hang_under_the_run_they_continued(family):
    root, a, b, c = family
    tree = RunTree()
    for trace in family:
        tree.add(trace)
    assert tree.roots() == [root.run_id] and tree.shown == c.run_id
    assert tree.children(root.run_id) == [a.run_id, b.run_id] and tree.children(a.run_id) == [c.run_id]
    assert tree.parent(c.run_id) == a.run_id and tree.number(c.run_id) == 4
    tree.add(a)  # a run already kept is shown, not added twice
    assert len(tree.runs) == 4 and tree.shown == a.run_id


def test_the_drawing_centres_each_run_on_its_children_and_keeps_subtrees_apart(family):
    root, a, b, c = family
    tree = RunTree()
    for trace in family:
        tree.add(trace)
    places = tree.layout()
    assert places == {c.run_id: (2, 0.0), a.run_id: (1, 0.0), b.run_id: (1, 1.0), root.run_id: (0, 0.5)}


def test_when_full_the_oldest_leaf_goes_first_never_a_kept_runs_parent(family):
    root, a, b, c = family
    tree = RunTree(max_runs=3)
    for trace in (root, a, b):
        tree.add(trace)
    tree.add(c)  # four runs: b is the oldest leaf (root and a have children)
    assert list(tree.runs) == [root.run_id, a.run_id, c.run_id]
    chain = RunTree(max_runs=2)
    for trace in (root, a, c):  # a chain: the only leaf is the new run, so the oldest run goes
        chain.add(trace)
    assert list(chain.runs) == [a.run_id, c.run_id] and chain.roots() == [a.run_id]
    assert chain.runs[a.run_id].branch.parent == root.run_id  # the record stays; the tree no longer holds it


def test_the_size_bound_counts_each_trace_as_json(family):
    sizes = [len(trace.to_json().encode()) for trace in family]
    tree = RunTree(max_bytes=sizes[0] + sizes[1] + sizes[2])
    for trace in family:
        tree.add(trace)
    assert len(tree.runs) == 3 and sum(tree.sizes.values()) <= tree.max_bytes
    lone = RunTree(max_bytes=1)  # the newest run stays, however large
    lone.add(family[0])
    assert list(lone.runs) == [family[0].run_id]


def test_a_runs_file_round_trips_and_a_trace_without_an_id_gets_one(family, tiny_loaded):
    tree = RunTree()
    for trace in family:
        tree.add(trace)
    tree.shown = family[1].run_id
    traces, shown = read_runs(json.loads(tree.to_json()))
    assert traces == list(family) and shown == family[1].run_id
    old = generate(tiny_loaded, "a dog", SETTINGS)
    old.run_id = None  # as in traces written before runs had ids
    assert len(RunTree().add(old)) == 12 and old.run_id is not None


def test_runs_that_name_each_other_do_not_make_a_cycle(family):
    root, a, *_ = family
    data = json.loads(root.to_json())
    data["branch"] = json.loads(a.to_json())["branch"] | {"parent": a.run_id}  # root claims to branch from a
    traces, _ = read_runs({"schema": SCHEMA, "runs": [data, json.loads(a.to_json())]})
    tree = RunTree()
    tree.extend(traces)
    assert tree.parent(root.run_id) is None and tree.parent(a.run_id) == root.run_id
    assert set(tree.layout()) == {root.run_id, a.run_id}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"schema": "decoding-playground/trace@1", "runs": []}, "schema must be"),
        ({"schema": SCHEMA, "runs": {"a": 1}}, "runs must be a list"),
        ({"schema": SCHEMA}, "runs"),
    ],
)
def test_bad_runs_files_are_named(data, message):
    with pytest.raises((ValueError, KeyError, TypeError), match=message):
        read_runs(data)


def test_the_tree_figure_has_a_node_per_run_labelled_edges_and_the_shown_run_marked(family):
    from playground.plots.run_tree import run_tree_figure
    from playground.plots.style import VERMILLION

    root, a, b, c = family
    tree = RunTree()
    for trace in family:
        tree.add(trace)
    tree.shown = b.run_id
    fig = run_tree_figure(tree)
    nodes = fig.data[-1]
    assert [d[0] for d in nodes.customdata] == [root.run_id, a.run_id, b.run_id, c.run_id]  # what a click sends
    assert list(nodes.text) == ["#1", "#2", "#3", "#4"]
    assert list(nodes.marker.color).index(VERMILLION) == 2
    assert any(label.startswith("step 4: ") for label in fig.data[1].text)
    assert "branched from #1 at step 4, taking" in nodes.hovertext[2] and "(p = " in nodes.hovertext[2]
    assert len([x for x in fig.data[0].x if x is None]) == 3  # three edges
    empty = run_tree_figure(RunTree())
    assert "Generate a run" in empty.layout.annotations[0].text
