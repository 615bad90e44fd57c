"""Beam-search arithmetic on hand-built tensors."""

import math

import torch

from playground.engine import beam_math
from playground.engine.beam_math import NEG


def test_num_candidates_keeps_enough_beams_alive():
    assert beam_math.num_candidates(4, 1) == 8
    assert beam_math.num_candidates(3, 2) == 9
    assert beam_math.num_candidates(2, 0) == 4


def test_length_penalty_divides_by_length_to_the_power():
    assert beam_math.length_penalized(-6.0, 3, 1.0) == -2.0
    assert beam_math.length_penalized(-6.0, 3, 0.0) == -6.0
    assert math.isclose(beam_math.length_penalized(-6.0, 4, 2.0), -6.0 / 16)


def test_top_continuations_ranks_across_beams_by_cumulative_score():
    log_probs = torch.log(torch.tensor([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]]))  # (B=2, V=3)
    running = torch.tensor([0.0, math.log(0.5)])  # beam 1 is half as likely as beam 0
    scores, beams, tokens = beam_math.top_continuations(log_probs, running, k=3)
    # beam1+token2 = 0.4, beam0+token0 = 0.5, beam0+token1 = 0.3
    assert beams.tolist() == [0, 1, 0]
    assert tokens.tolist() == [0, 2, 1]
    assert torch.allclose(scores.exp(), torch.tensor([0.5, 0.4, 0.3]))


def test_select_running_skips_candidates_that_stopped():
    scores = torch.tensor([-1.0, -2.0, -3.0, -4.0])
    hits = torch.tensor([True, False, False, True])
    picked, kept_scores = beam_math.select_running(scores, hits, num_beams=2)
    assert picked.tolist() == [1, 2]
    assert kept_scores.tolist() == [-2.0, -3.0]


def test_update_finished_banks_only_top_num_beams_that_stopped():
    bank = torch.full((2,), NEG)
    filled = torch.zeros(2, dtype=torch.bool)
    scores = torch.tensor([-1.0, -2.0, -3.0, -4.0])  # K=4 candidates, num_beams=2
    hits = torch.tensor([False, True, False, True])  # candidate 3 stopped but is outside the top 2
    picked, new_scores, new_filled, just = beam_math.update_finished(
        bank, filled, scores, hits, length=2, length_penalty=1.0, early_stopping=False, improvable=True
    )
    assert just.tolist() == [False, True, False, False]
    assert picked.tolist()[0] == 2 + 1  # the bank (2 slots) comes first, then candidate 1
    assert new_scores[0].item() == -1.0  # -2 / length 2
    assert new_filled.tolist() == [True, False]


def test_update_finished_refuses_new_entries_when_full_and_early_stopping():
    bank = torch.tensor([-0.5, -0.6])
    filled = torch.ones(2, dtype=torch.bool)
    scores = torch.tensor([-0.1, -5.0, -6.0, -7.0])
    hits = torch.tensor([True, False, False, False])
    picked, _, _, _ = beam_math.update_finished(
        bank, filled, scores, hits, length=1, length_penalty=1.0, early_stopping=True, improvable=True
    )
    assert sorted(picked.tolist()) == [0, 1]  # the better candidate is refused: the bank is closed
    picked, _, _, _ = beam_math.update_finished(
        bank, filled, scores, hits, length=1, length_penalty=1.0, early_stopping=False, improvable=True
    )
    assert 2 in picked.tolist()


def test_still_improvable_compares_best_running_with_worst_finished():
    bank = torch.tensor([-1.0, -2.0])
    filled = torch.ones(2, dtype=torch.bool)
    args = dict(max_new_tokens=10, early_stopping=False, length_penalty=1.0)
    assert beam_math.still_improvable(True, torch.tensor(-3.0), bank, filled, length=2, **args)  # -1.5 > -2
    assert not beam_math.still_improvable(True, torch.tensor(-5.0), bank, filled, length=2, **args)
    assert not beam_math.still_improvable(False, torch.tensor(-3.0), bank, filled, length=2, **args)
    # An open slot means anything can still improve the bank.
    assert beam_math.still_improvable(True, torch.tensor(-50.0), bank, torch.tensor([True, False]), length=2, **args)


def test_still_improvable_never_assumes_the_longest_length_with_a_positive_penalty():
    bank = torch.tensor([-1.0, -1.0])
    filled = torch.ones(2, dtype=torch.bool)
    best = torch.tensor(-4.0)
    assert not beam_math.still_improvable(True, best, bank, filled, 2, 10, False, 1.0)  # -4/2 < -1
    assert beam_math.still_improvable(True, best, bank, filled, 2, 10, "never", 1.0)  # -4/10 > -1


def test_should_continue():
    open_bank = torch.tensor([True, False])
    full = torch.tensor([True, True])
    some_alive = torch.tensor([True, False, False, False])
    assert beam_math.should_continue(True, open_bank, some_alive, False)
    assert not beam_math.should_continue(False, open_bank, some_alive, False)
    assert not beam_math.should_continue(True, full, some_alive, True)
    assert beam_math.should_continue(True, full, some_alive, False)
    assert not beam_math.should_continue(True, open_bank, torch.ones(4, dtype=torch.bool), False)


def test_bank_allocation_takes_the_best_of_each_bank_round_robin():
    # Candidates: bank 2 (scores -5, -6), bank 1 (-1, -2, -3), bank 0 (-0.5).
    scores = torch.tensor([-1.0, -5.0, -0.5, -2.0, -6.0, -3.0])
    banks = torch.tensor([1, 2, 0, 1, 2, 1])
    order = beam_math.allocate_by_bank(scores, banks, 6).tolist()
    assert order == [1, 0, 2, 4, 3, 5]  # best of banks 2, 1, 0; then second best of banks 2, 1; then the rest
    assert beam_math.allocate_by_bank(scores, banks, 3).tolist() == [1, 0, 2]


def test_bank_allocation_with_one_bank_is_plain_ranking():
    scores = torch.tensor([-3.0, -1.0, -2.0])
    assert beam_math.allocate_by_bank(scores, torch.zeros(3, dtype=torch.long), 2).tolist() == [1, 2]


def test_finished_bank_fills_then_replaces_its_worst():
    scores = torch.full((2,), beam_math.NEG)
    filled = torch.zeros(2, dtype=torch.bool)
    slot, scores, filled = beam_math.add_finished(scores, filled, -3.0)
    assert slot == 0
    slot, scores, filled = beam_math.add_finished(scores, filled, -1.0)
    assert slot == 1 and filled.all()
    slot, new_scores, _ = beam_math.add_finished(scores, filled, -5.0)
    assert slot is None and torch.equal(new_scores, scores)
    slot, scores, _ = beam_math.add_finished(scores, filled, -2.0)
    assert slot == 0 and scores.tolist() == [-2.0, -1.0]


def test_candidate_statuses_finish_only_what_entered_the_bank_and_keep_only_what_runs_on():
    # B = 2, K = 4. Candidates 0 and 1 stop among the top B; only 1 enters the bank (slot 0 holds it, slot 1 an
    # older hypothesis); 3 stops too but, outside the top B, cannot finish; 2 runs on.
    hits = torch.tensor([True, True, False, True])
    just_finished = torch.tensor([True, True, False, False])
    banked = torch.tensor([2 + 1, 0])  # indices into [bank (2) ; candidates (4)]
    # With too few live candidates, select_running also picks a stopped one (3): it does not run on.
    picked = torch.tensor([2, 3])
    assert beam_math.candidate_statuses(picked, hits, banked, just_finished) == ["pruned", "finished", "kept", "pruned"]
    # Nothing stopped: the picked ones are kept, the others pruned.
    none = torch.zeros(4, dtype=torch.bool)
    statuses = beam_math.candidate_statuses(torch.tensor([0, 3]), none, torch.tensor([0, 1]), none)
    assert statuses == ["kept", "pruned", "pruned", "kept"]
