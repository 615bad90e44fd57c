"""LLMLingua's selection rule on hand-built losses: the threshold at the keep ratio's quantile, ties, forced tokens."""

import pytest
import torch

from playground.compress.select import keep_count, keep_mask, keep_threshold

NONE = torch.zeros(5, dtype=torch.bool)
LOSSES = torch.tensor([0.5, 3.0, 1.0, 2.0, 0.25])  # ranked: 3.0 (1), 2.0 (3), 1.0 (2), 0.5 (0), 0.25 (4)


@pytest.mark.parametrize(("n", "ratio", "count"), [(5, 0.5, 3), (4, 0.5, 2), (10, 0.25, 3), (7, 0.01, 0), (3, 1.0, 3)])
def test_keep_count_rounds_half_up(n, ratio, count):
    assert keep_count(n, ratio) == count


@pytest.mark.parametrize("ratio", [0.0, -0.1, 1.5])
def test_keep_count_refuses_a_ratio_outside_zero_one(ratio):
    with pytest.raises(ValueError, match="keep_ratio"):
        keep_count(4, ratio)


@pytest.mark.parametrize(
    ("ratio", "threshold", "kept"),
    [
        (0.2, 2.0, [1]),  # one kept: the highest loss; the threshold is the next one
        (0.4, 1.0, [1, 3]),
        (0.6, 0.5, [1, 3, 2]),
        (0.8, 0.25, [0, 1, 2, 3]),  # every loss but the lowest is above it
        (0.05, 3.0, []),  # keeps none: the threshold is the highest loss
    ],
)
def test_threshold_is_the_loss_of_the_best_dropped_token(ratio, threshold, kept):
    assert keep_threshold(LOSSES, ratio) == threshold
    mask = keep_mask(LOSSES, ratio, NONE)
    assert mask.nonzero().flatten().tolist() == sorted(kept)
    assert torch.equal(mask, torch.gt(LOSSES, threshold))  # distinct losses: the mask is "above the threshold"


def test_ratio_one_keeps_every_token_and_the_threshold_is_minus_infinity():
    assert keep_threshold(LOSSES, 1.0) == float("-inf")
    assert keep_mask(LOSSES, 1.0, NONE).all()


def test_ties_at_the_threshold_keep_the_earlier_tokens_so_the_count_is_exact():
    losses = torch.tensor([2.0, 2.0, 5.0, 2.0, 2.0])
    assert keep_threshold(losses, 0.6) == 2.0
    assert keep_mask(losses, 0.6, NONE).tolist() == [True, True, True, False, False]
    flat = torch.full((6,), 1.5)  # every loss equal: the first half stays
    assert keep_mask(flat, 0.5, torch.zeros(6, dtype=torch.bool)).tolist() == [True] * 3 + [False] * 3


def test_forced_tokens_are_kept_and_count_towards_the_share():
    forced = torch.tensor([True, False, False, False, True])  # the two lowest losses
    mask = keep_mask(LOSSES, 0.6, forced)  # three kept: the two forced, then the highest loss
    assert mask.tolist() == [True, True, False, False, True]


def test_more_forced_tokens_than_the_share_keeps_exactly_the_forced_ones():
    forced = torch.tensor([True, False, True, False, True])
    assert keep_mask(LOSSES, 0.2, forced).tolist() == forced.tolist()


def test_a_forced_tokens_loss_is_not_read_and_inputs_are_not_modified():
    losses = LOSSES.clone()
    forced = torch.tensor([False, False, False, False, True])
    with_nan = losses.clone()
    with_nan[4] = float("nan")
    assert keep_mask(with_nan, 0.4, forced).tolist() == [False, True, False, False, True]
    assert torch.equal(losses, LOSSES) and forced.tolist() == [False, False, False, False, True]


def test_distinct_losses_keep_a_superset_of_llmlingua_selection():
    # LLMLingua: threshold = sorted-descending losses[int(n * ratio) - 1], kept = loss > threshold.
    torch.manual_seed(0)
    for n in (7, 20, 200):
        losses = torch.rand(n) * 8
        for ratio in (0.1, 0.33, 0.5, 0.9):
            index = max(0, min(n - 1, int(n * ratio) - 1))
            theirs = losses > losses.sort(descending=True).values[index]
            ours = keep_mask(losses, ratio, torch.zeros(n, dtype=torch.bool))
            assert (ours | ~theirs).all() and int(ours.sum()) == keep_count(n, ratio)
