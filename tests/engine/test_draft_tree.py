"""The draft tree on hand-built cases: node order, tree attention, tokens at each node, greedy acceptance, and
the tree chosen from hit rates."""

import pytest
import torch

from playground.engine.speculative.draft_tree import ROOT_ONLY, best_tree, build_tree, expected_length
from playground.engine.speculative.verification import (
    TreeVerdict,
    accepted,
    verify_tree_greedy,
    verify_tree_sampling,
)

# Root; head 1's guesses 0 and 1; head 2's guess 0 after each; head 3's guess 0 after (0, 0).
CHOICES = [(1,), (0, 0), (0,), (1, 0), (0, 0, 0)]


def test_nodes_are_breadth_first_with_their_parents():
    tree = build_tree(CHOICES)
    assert tree.paths == ((), (0,), (1,), (0, 0), (1, 0), (0, 0, 0))
    assert tree.parents == (-1, 0, 0, 1, 2, 3) and tree.depths == [0, 1, 1, 2, 2, 3]
    assert tree.path_to(5) == [0, 1, 3, 5]
    with pytest.raises(ValueError, match=r"needs its parent \(2,\)"):
        build_tree([(0,), (2, 0)])


def test_each_node_attends_to_itself_and_its_ancestors_only():
    mask = build_tree(CHOICES).mask().int().tolist()
    assert mask == [
        [1, 0, 0, 0, 0, 0],
        [1, 1, 0, 0, 0, 0],
        [1, 0, 1, 0, 0, 0],
        [1, 1, 0, 1, 0, 0],
        [1, 0, 1, 0, 1, 0],
        [1, 1, 0, 1, 0, 1],
    ]


def test_tokens_are_the_root_then_each_heads_guess_at_its_rank():
    guesses = torch.tensor([[10, 11], [20, 21], [30, 31]])  # (heads, ranks)
    assert build_tree(CHOICES).tokens(7, guesses).tolist() == [7, 10, 11, 20, 20, 30]


def test_greedy_acceptance_takes_the_longest_path_the_target_agrees_with():
    tree = build_tree(CHOICES)
    tokens = [7, 10, 11, 20, 20, 30]
    # The target's choice after each node: after the root 11 (head 1's rank 1), after node 2 ("11") 20.
    assert accepted(tree, tokens, [11, 0, 20, 0, 99, 0]) == [0, 2, 4]
    # After the root 10, then 20, then 30: the whole left branch.
    assert accepted(tree, tokens, [10, 20, 0, 30, 0, 0]) == [0, 1, 3, 5]
    # Nothing agrees: only the root, whose token the target chose itself.
    assert accepted(tree, tokens, [5, 5, 5, 5, 5, 5]) == [0]


def test_the_best_tree_keeps_the_likeliest_paths_and_grows_where_heads_are_right():
    rates = [[0.6, 0.2, 0.1], [0.4, 0.15, 0.05], [0.3, 0.1, 0.05]]  # head k, rank r
    tree = best_tree(rates, size=6)
    # Values: (0)=.6, (0,0)=.24, (1)=.2, (0,1)=.09, (0,0,0)=.072, (2)=.1 -> the five best.
    assert tree.paths == ((), (0,), (1,), (2,), (0, 0), (0, 1))
    assert expected_length(tree, rates) == pytest.approx(1 + 0.6 + 0.2 + 0.1 + 0.24 + 0.09)
    assert best_tree(rates, size=1).paths == ((),)
    bigger = best_tree(rates, size=10)
    assert expected_length(bigger, rates) > expected_length(tree, rates)
    assert all(p[:-1] in bigger.paths for p in bigger.paths[1:])  # every node's parent is in the tree


def _exact_outcomes(tree, tokens: list[int], probs: torch.Tensor) -> dict[tuple[int, ...], float]:
    """Every sequence a round can emit with its probability under plain sampling from the target: draw from the
    node's p; a token that is one of its children's continues from that child, any other ends the round."""
    outcomes: dict[tuple[int, ...], float] = {}

    def walk(node: int, prefix: tuple[int, ...], mass: float) -> None:
        children = {tokens[c]: c for c in tree.children[node]}
        for token, p in enumerate(probs[node].tolist()):
            if p == 0:
                continue
            if token in children:
                walk(children[token], (*prefix, token), mass * p)
            else:
                outcomes[(*prefix, token)] = mass * p

    walk(0, (), 1.0)
    return outcomes


def test_sampling_verification_emits_what_plain_sampling_would():
    """Recursive rejection over the heads' guesses: the emitted sequence (accepted guesses, then the drawn token)
    has exactly the probability sampling token by token from the target gives it (chi-square over 20,000
    rounds, on a tree three deep with guesses that are likely, unlikely and impossible under p)."""
    from tests.chi_square import critical

    tree = build_tree(CHOICES)  # root; 1 "0" and 2 "1" at depth 1; 3 under 1, 4 under 2; 5 under 3
    tokens = [7, 0, 1, 2, 3, 4]
    probs = torch.tensor(
        [
            [0.35, 0.25, 0.2, 0.1, 0.1],  # root: both children likely
            [0.05, 0.05, 0.5, 0.2, 0.2],  # after "0": its child "2" likely
            [0.3, 0.3, 0.4, 0.0, 0.0],  # after "1": its child "3" impossible
            [0.1, 0.1, 0.1, 0.1, 0.6],  # after "0 2": child "4" likely
            [0.2, 0.2, 0.2, 0.2, 0.2],
            [0.5, 0.0, 0.0, 0.0, 0.5],  # the leaf: a bonus token
        ]
    )
    generator = torch.Generator().manual_seed(0)
    rounds = 20_000
    counts: dict[tuple[int, ...], int] = {}
    for _ in range(rounds):
        verdict = verify_tree_sampling(tree, torch.tensor(tokens), probs, generator)
        emitted = (*(tokens[n] for n in verdict.path[1:]), verdict.token)
        counts[emitted] = counts.get(emitted, 0) + 1
        assert verdict.kind == ("bonus" if not tree.children[verdict.path[-1]] else "resampled")
    exact = _exact_outcomes(tree, tokens, probs)
    assert set(counts) <= set(exact)  # nothing impossible is ever emitted (the "3" after "1", say)
    stat = sum((counts.get(seq, 0) - p * rounds) ** 2 / (p * rounds) for seq, p in exact.items())
    assert stat < critical(len(exact) - 1)
    assert counts[(0, 2, 4, 0)] > 0 and counts[(1, 2)] > 0  # deep paths and rejections both happen


def test_greedy_verification_names_a_leaf_bonus_and_an_inner_node_corrected():
    tree = build_tree(CHOICES)
    tokens = [7, 10, 11, 20, 20, 30]
    scores = torch.zeros(6, 40)
    scores[0, 10] = scores[1, 20] = scores[3, 30] = scores[5, 33] = 1.0  # agrees all the way down the left
    assert verify_tree_greedy(tree, tokens, scores) == TreeVerdict([0, 1, 3, 5], 33, "bonus")
    scores[3, 30], scores[3, 31] = 0.0, 1.0
    assert verify_tree_greedy(tree, tokens, scores) == TreeVerdict([0, 1, 3], 31, "corrected")


def test_a_tree_cut_to_a_depth_keeps_its_shallow_nodes():
    tree = build_tree(CHOICES)
    assert tree.truncated(1).paths == ((), (0,), (1,))
    assert tree.truncated(3) is tree and tree.max_rank == 2 and ROOT_ONLY.max_rank == 0
    assert tree.children == [[1, 2], [3], [4], [5], [], []]
