"""The beam tree's axes and labels on hand-built trees: ranks counted from 1 on the axis and in the hover, an x
range that fits the run and opens on its first "met" marks, and one "met" label per node."""

from playground.plots.beam_tree import STATUS_STYLE, VISIBLE_STEPS, beam_tree_figure
from playground.trace import Beams, BeamSequence, ConstraintInfo
from tests.plots.test_beam_paths import node, one_beam, tree

COLOURS = ConstraintInfo("one_of", ["red", "blue"], [[7], [8]], ["t7", "t8"])
UMBRELLA = ConstraintInfo("phrase", ["umbrella"], [[9]], ["t9"])


def long_run(steps: int, met: dict[int, int]) -> Beams:
    """One beam over `steps` steps, each step a kept token (returned at the end) and a pruned one under it;
    `met` maps a step (0-based) to the constraint its kept token completed."""
    nodes, parent = [], None
    for step in range(steps):
        status = "returned" if step == steps - 1 else "kept"
        nodes.append(node(2 * step, parent, step, 100 + step, -0.1 * step, status, constraint=met.get(step)))
        nodes.append(node(2 * step + 1, parent, step, 500 + step, -0.1 * step - 5, "pruned"))
        parent = 2 * step
    tokens = [100 + step for step in range(steps)]
    return Beams(nodes, [BeamSequence(tokens, "", -0.1 * steps, True)], [COLOURS, UMBRELLA])


def marker_points(fig):
    """(y, hover customdata) of every drawn node."""
    return [(y, data) for t in fig.data if t.name in STATUS_STYLE for y, data in zip(t.y, t.customdata, strict=True)]


def test_the_rank_axis_counts_from_one_as_the_hover_does():
    fig = beam_tree_figure(one_beam(tree()))
    points = marker_points(fig)
    # The best node of each step is in row 1, and every node's row is the rank its hover names.
    assert min(y for y, _ in points) == 1
    assert all(y == data[6] for y, data in points)
    # Ticks name the ranks only: not the "+N" row of candidates counted below them.
    assert list(fig.layout.yaxis.tickvals) == [1, 2]
    hidden = next(t for t in fig.data if t.name == "pruned, ranked lower (not drawn)")
    assert set(hidden.y) == {3}


def test_a_node_drawn_above_its_rank_says_so_in_its_hover():
    # One beam: pruned candidates ranked 3rd and lower are counted, not drawn, so the kept 5th sits in row 3.
    nodes = [node(i, None, 0, i, -0.1 * (i + 1), "pruned") for i in range(4)]
    nodes.append(node(4, None, 0, 9, -1.0, "returned"))
    beams = Beams(nodes, [BeamSequence([9], "", -1.0, None)], [])
    fig = beam_tree_figure(one_beam(beams))
    returned = next(t for t in fig.data if t.name == "returned")
    assert returned.y[0] == 3 and returned.customdata[0][6] == 5
    assert returned.customdata[0][10] == " (drawn in row 3: lower-ranked pruned candidates are not drawn)"
    assert "%{customdata[10]}" in returned.hovertemplate
    kept = next(t for t in fig.data if t.name == "pruned")
    assert {data[10] for data in kept.customdata} == {""}


def test_the_x_range_ends_at_the_last_step():
    fig = beam_tree_figure(one_beam(tree()))
    assert tuple(fig.layout.xaxis.range) == (0.5, 3.5)  # three steps, none empty after them
    assert not fig.layout.xaxis.rangeslider.visible


def test_a_long_run_opens_on_its_first_steps_when_its_first_mark_is_there():
    fig = beam_tree_figure(one_beam(long_run(40, {1: 0, 37: 1})))
    assert tuple(fig.layout.xaxis.range) == (0.5, VISIBLE_STEPS + 0.5)
    assert fig.layout.xaxis.rangeslider.visible


def test_a_long_run_opens_around_its_first_mark_and_never_past_the_end():
    fig = beam_tree_figure(one_beam(long_run(40, {29: 0, 35: 1})))
    start, end = fig.layout.xaxis.range
    assert start < 30 < end and end == 40.5 and end - start == VISIBLE_STEPS
    fig = beam_tree_figure(one_beam(long_run(60, {29: 0})))
    start, end = fig.layout.xaxis.range
    assert start < 30 < end and end < 60 and end - start == VISIBLE_STEPS


def test_answers_that_met_a_constraint_at_the_same_node_share_one_label():
    # Both answers took token 7 ("red") at step 1, then parted: the mark is drawn once.
    nodes = [
        node(0, None, 0, 7, -0.1, "kept", constraint=0),
        node(1, 0, 1, 2, -0.2, "returned"),
        node(2, 0, 1, 3, -0.3, "returned"),
    ]
    sequences = [BeamSequence([7, 2], "", -0.2, True), BeamSequence([7, 3], "", -0.3, True)]
    fig = beam_tree_figure(one_beam(Beams(nodes, sequences, [COLOURS])))
    marks = [a for a in fig.layout.annotations if a.text.startswith("met")]
    assert [(a.text, a.x, a.y) for a in marks] == [("met 'red | blue'", 1, 1)]
    assert marks[0].ay > 0  # in row 1 the label hangs below the node: above it is the legend


def test_a_met_label_stands_above_its_node_below_the_top_row():
    beams = long_run(3, {1: 0})
    beams.nodes[3].score = 0.0  # step 2's pruned token outranks the kept one, which falls to row 2
    fig = beam_tree_figure(one_beam(beams))
    (mark,) = [a for a in fig.layout.annotations if a.text.startswith("met")]
    assert (mark.x, mark.y, mark.ay) == (2, 2, -38)
