"""Paths through a beam tree: where each beam came from, which paths were returned, where a returned beam met
each constraint, and which candidates the tree shows by default. Pure functions of the trace's nodes."""

from __future__ import annotations

from dataclasses import dataclass

from playground.trace import BeamNode, Beams

NEAR = 2  # pruned candidates ranked within NEAR x beams of the top of their step are drawn by default


def ranks(beams: Beams) -> dict[int, int]:
    """Node id -> rank within its step by length-penalized score (0 = best)."""
    by_step: dict[int, list[BeamNode]] = {}
    for node in beams.nodes:
        by_step.setdefault(node.step, []).append(node)
    found = {}
    for nodes in by_step.values():
        for rank, node in enumerate(sorted(nodes, key=lambda n: -n.score)):
            found[node.id] = rank
    return found


def lineages(beams: Beams) -> dict[int, list[int]]:
    """Node id -> the node ids from step 1 down to it: the beam that node extends, and the node itself."""
    found: dict[int, list[int]] = {}
    for node in sorted(beams.nodes, key=lambda n: n.step):  # a parent is a step earlier than its children
        found[node.id] = [*found[node.parent], node.id] if node.parent is not None else [node.id]
    return found


@dataclass
class Answer:
    """A returned sequence's path through the tree, in the order the run returned them (best first)."""

    number: int  # 1-based, as the sequences are listed
    path: list[int]  # node ids from step 1 to the returned node
    met: list[tuple[int, int]]  # (constraint index, node id where the path completed it), in path order


def answers(beams: Beams) -> list[Answer]:
    """Every returned sequence's path, matched to its place in `beams.sequences` by its tokens, and where it
    completed each constraint: the last node on the path that advanced it (a met constraint is never advanced
    again, so the last advance is the one that completed it)."""
    by_id = {n.id: n for n in beams.nodes}
    every = lineages(beams)
    paths = [every[n.id] for n in beams.nodes if n.status == "returned"]
    order = [[by_id[i].token_id for i in path] for path in paths]
    found = []
    for number, sequence in enumerate(beams.sequences, start=1):
        if sequence.token_ids not in order:
            continue
        index = order.index(sequence.token_ids)
        path, order[index] = paths[index], None  # two equal sequences take two paths
        met: dict[int, int] = {}
        if sequence.satisfies_constraints:
            for node_id in path:
                if by_id[node_id].constraint is not None:
                    met[by_id[node_id].constraint] = node_id
        found.append(Answer(number, path, sorted(met.items(), key=lambda item: path.index(item[1]))))
    return found


def shown_by_default(beams: Beams, num_beams: int, rank: dict[int, int]) -> set[int]:
    """The nodes the tree draws unless asked for all: every kept, finished and returned node, and the pruned
    candidates that ranked near the top of their step (within NEAR x num_beams). A constrained search weighs
    many more candidates per step than it keeps; the others are counted, not drawn."""
    return {n.id for n in beams.nodes if n.status != "pruned" or rank[n.id] < NEAR * num_beams}
