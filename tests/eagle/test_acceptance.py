"""Acceptance by depth, a tree's accepted length and the value per pass, on hand-built tokens."""

import pytest
import torch

from playground.engine.speculative.draft_tree import build_tree
from playground.training.acceptance import (
    IGNORE,
    answer_origins,
    chain_acceptance,
    chain_truth,
    expected_tokens,
    pass_cost,
    tokens_per_cost,
    tree_accepted,
)


def test_origins_run_from_the_last_prompt_token_and_truth_stops_at_the_answers_end():
    ids = [10, 11, 20, 21, 22, 23]  # a prompt of two, an answer of four
    assert list(answer_origins(len(ids), 2)) == [1, 2, 3]
    assert chain_truth(ids, 2, 3).tolist() == [[21, 22, 23], [22, 23, IGNORE], [23, IGNORE, IGNORE]]
    assert chain_truth([1, 2, 3], 3, 2).shape == (0, 2)  # no answer, no origin


def test_a_chain_is_accepted_only_up_to_its_first_miss():
    truth = torch.tensor([[1, 2, 3], [1, 2, 3], [1, 2, 3], [1, 2, IGNORE]])
    drafted = torch.tensor([[1, 2, 3], [1, 9, 3], [9, 2, 3], [1, 2, IGNORE + 1]])
    assert chain_acceptance(drafted, truth) == [0.75, 0.5, 0.25]  # a guess past the end misses
    assert expected_tokens([0.75, 0.5, 0.25], 2) == 2.25


def test_a_tree_accepts_its_deepest_path_whose_every_guess_is_right():
    tree = build_tree([(0,), (1,), (0, 0), (1, 0), (1, 1)])
    guesses = torch.tensor([[[5, 6], [7, 8]], [[5, 6], [7, 8]], [[5, 6], [7, 8]]])  # (N, K, R)
    truth = torch.tensor([[6, 8], [5, 8], [4, 7]])
    # Origin 0: rank 1 then rank 1; origin 1: rank 0 right, (0, 1) is not in the tree; origin 2: nothing.
    assert tree_accepted(tree, guesses, truth).tolist() == [2, 1, 0]


def test_a_pass_costs_one_step_for_one_token_and_more_per_group_of_four():
    assert pass_cost(1) == 1.0
    assert pass_cost(2) == pass_cost(4) == pytest.approx(1.16)
    assert pass_cost(9) == pytest.approx(1.64)
    assert tokens_per_cost(2.32, 4, 0.0) == pytest.approx(2.0)
    assert tokens_per_cost(2.32, 4, 1.16) == pytest.approx(1.0)
