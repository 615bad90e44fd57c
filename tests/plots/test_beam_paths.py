"""The beam tree's paths on hand-built trees: lineage, returned answers, where a constraint was met, and which
candidates are drawn by default."""

from types import SimpleNamespace

from playground.plots.beam_paths import answers, lineages, ranks, shown_by_default
from playground.plots.beam_tree import beam_tree_figure
from playground.trace import BeamNode, Beams, BeamSequence, ConstraintInfo


def node(id_, parent, step, token, score, status, constraint=None):
    return BeamNode(id_, parent, step, token, f"t{token}", -1.0, -1.0, score, status, bank=0, constraint=constraint)


def tree() -> Beams:
    """Two beams over three steps. Step 1: A(1) leads B(2), C(3) is pruned. Step 2: B's child D leads, A's
    child E second, F (from A) pruned far down. Step 3: D's child G returned first, E's child H returned second.
    Token 7 advances constraint 0 at B and again at G (G completes it); H's path never met it."""
    nodes = [
        node(0, None, 0, 1, -0.1, "kept"),
        node(1, None, 0, 7, -0.2, "kept", constraint=0),
        node(2, None, 0, 3, -0.9, "pruned"),
        node(3, 1, 1, 4, -0.3, "kept"),
        node(4, 0, 1, 5, -0.4, "kept"),
        node(5, 0, 1, 6, -2.0, "pruned"),
        node(6, 3, 2, 7, -0.5, "returned", constraint=0),
        node(7, 4, 2, 8, -0.6, "returned"),
    ]
    sequences = [BeamSequence([7, 4, 7], "", -0.5, True), BeamSequence([1, 5, 8], "", -0.6, False)]
    return Beams(nodes, sequences, [ConstraintInfo("phrase", ["seven"], [[7, 4, 7]], ["t7t4t7"])])


def one_beam(beams: Beams):
    """What the figure reads of a trace: its beams, and a one-beam search's settings."""
    return SimpleNamespace(beams=beams, settings={"num_beams": 1})


def test_lineage_runs_from_step_one_to_the_node():
    paths = lineages(tree())
    assert paths[6] == [1, 3, 6] and paths[7] == [0, 4, 7] and paths[2] == [2]


def test_ranks_order_each_step_by_score():
    rank = ranks(tree())
    assert [rank[i] for i in range(8)] == [0, 1, 2, 0, 1, 2, 0, 1]


def test_answers_follow_the_sequences_order_and_mark_the_last_advance_as_met():
    found = answers(tree())
    assert [(a.number, a.path) for a in found] == [(1, [1, 3, 6]), (2, [0, 4, 7])]
    assert found[0].met == [(0, 6)]  # advanced at step 1, completed at step 3
    assert found[1].met == []  # does not satisfy the constraint: nothing is marked


def test_pruned_candidates_far_down_their_step_are_hidden_by_default():
    beams = tree()
    # One beam: pruned candidates ranked 2nd or lower (0-based 2 = the third) are counted, not drawn.
    assert shown_by_default(beams, 1, ranks(beams)) == {0, 1, 3, 4, 6, 7}
    assert shown_by_default(beams, 2, ranks(beams)) == set(range(8))


def test_the_figure_draws_answer_paths_counts_hidden_candidates_and_marks_where_constraints_were_met():
    trace = one_beam(tree())
    fig = beam_tree_figure(trace)
    paths = [(list(t.x), list(t.y), t.showlegend) for t in fig.data if t.name == "answers' paths"]
    # x is the 1-based step; y the 1-based row among drawn nodes (C and F hidden, so no gaps); one legend entry.
    assert paths == [([1, 2, 3], [2, 1, 1], True), ([1, 2, 3], [1, 2, 2], False)]
    hidden = next(t for t in fig.data if t.name == "pruned, ranked lower (not drawn)")
    assert list(hidden.x) == [1, 2] and list(hidden.text) == ["+1", "+1"]
    assert not any(t.name == "pruned" for t in fig.data)
    notes = [a.text for a in fig.layout.annotations]
    assert notes.count("met 'seven'") == 1 and "answer 1" in notes and "answer 2" in notes
    met = next(a for a in fig.layout.annotations if a.text == "met 'seven'")
    assert (met.x, met.y) == (3, 1)
    kept = next(t for t in fig.data if t.name == "kept")
    d = kept.customdata[list(kept.x).index(2)]  # D at step 2: B's child
    assert d[5] == "'t7t4'" and d[7] == "2 → 1"  # its beam's text, and its ranks: second, then first
    everything = beam_tree_figure(trace, show_all=True)
    pruned = next(t for t in everything.data if t.name == "pruned")
    assert len(pruned.x) == 2 and not any(t.name == "pruned, ranked lower (not drawn)" for t in everything.data)


def test_a_long_tree_opens_where_the_answers_first_met_a_constraint():
    chain = [node(i, i - 1 if i else None, i, 7 if i == 29 else 1, -0.1 * i, "kept") for i in range(40)]
    chain[-1].status = "returned"
    chain[29].constraint = 0
    ids = [n.token_id for n in chain]
    beams = Beams(chain, [BeamSequence(ids, "", -4.0, True)], [ConstraintInfo("phrase", ["seven"], [[7]], ["t7"])])
    trace = one_beam(beams)
    low, high = beam_tree_figure(trace).layout.xaxis.range
    assert low < 30 < high == 40.5 and high - low == 24  # step 30 in view, 24 steps wide, none past the end
    chain[29].constraint, chain[5].constraint = None, 0
    assert tuple(beam_tree_figure(trace).layout.xaxis.range) == (0.5, 24.5)  # met early: the first steps
