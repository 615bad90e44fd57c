"""The draft tree on hand-built cases: node order, tree attention, tokens at each node, greedy acceptance, and
the tree chosen from hit rates."""

import pytest
import torch

from playground.medusa.tree import accepted, best_tree, build_tree, expected_length

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
    tokens = torch.tensor([7, 10, 11, 20, 20, 30])
    # The target's choice after each node: after the root 11 (head 1's rank 1), after node 2 ("11") 20.
    assert accepted(tree, tokens, torch.tensor([11, 0, 20, 0, 99, 0])) == [0, 2, 4]
    # After the root 10, then 20, then 30: the whole left branch.
    assert accepted(tree, tokens, torch.tensor([10, 20, 0, 30, 0, 0])) == [0, 1, 3, 5]
    # Nothing agrees: only the root, whose token the target chose itself.
    assert accepted(tree, tokens, torch.tensor([5, 5, 5, 5, 5, 5])) == [0]


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
