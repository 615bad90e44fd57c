"""The speculative decoding rules on hand-built distributions, and a Monte-Carlo check that it is lossless."""

import pytest
import torch

from playground.engine.speculative import math as sm
from playground.engine.speculative import verification as sv
from playground.trace import expected_tokens


def test_residual_is_normalized_positive_part_of_p_minus_q():
    p = torch.tensor([0.5, 0.3, 0.2])
    q = torch.tensor([0.7, 0.1, 0.2])
    assert torch.allclose(sm.residual(p, q), torch.tensor([0.0, 1.0, 0.0]))
    assert torch.allclose(sm.residual(p, p), p)  # no mass left: fall back to p


def test_all_accepted_takes_a_bonus_token_from_the_last_target_row():
    p = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])  # (g + 1, V)
    q = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    verdict = sv.verify_sampling([1, 2], p, q, torch.Generator().manual_seed(0))
    assert (verdict.accepted, verdict.token, verdict.kind) == (2, 0, "bonus")


def test_rejection_resamples_from_the_residual():
    # p puts no mass on the draft's token 0, so it is always rejected and the residual is p itself minus q.
    p = torch.tensor([[0.0, 0.25, 0.75], [1.0, 0.0, 0.0]])
    q = torch.tensor([[1.0, 0.0, 0.0]])
    draws = [sv.verify_sampling([0], p, q, torch.Generator().manual_seed(s)) for s in range(200)]
    assert all(v.accepted == 0 and v.kind == "resampled" and v.token in (1, 2) for v in draws)
    share = sum(v.token == 2 for v in draws) / len(draws)
    assert 0.6 < share < 0.9


def test_greedy_keeps_agreeing_tokens_then_corrects():
    p = torch.tensor([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1], [0.0, 0.0, 1.0]])
    assert sv.verify_greedy([1, 0], p) == sv.Verdict(2, 2, "bonus")
    assert sv.verify_greedy([1, 2], p) == sv.Verdict(1, 0, "corrected")
    assert sv.verify_greedy([], p[:1]) == sv.Verdict(0, 1, "bonus")


def test_a_chain_is_verified_greedily_as_the_tree_whose_nodes_each_have_one_child():
    chain = sv.chain_tree(3)
    assert chain.paths == ((), (0,), (0, 0), (0, 0, 0)) and chain.parents == (-1, 0, 1, 2)
    assert sv.chain_tree(0).size == 1 and sv.chain_tree(3) is chain  # built once per length


def test_expected_tokens_follows_the_closed_form():
    assert expected_tokens(0.0, 4) == 1.0
    assert expected_tokens(1.0, 4) == 5.0
    assert expected_tokens(0.5, 2) == pytest.approx(1 + 0.5 + 0.25)


def test_alpha_is_the_overlap_of_p_and_q():
    p = torch.tensor([[0.5, 0.5], [1.0, 0.0], [0.3, 0.7]])
    q = torch.tensor([[0.5, 0.5], [0.0, 1.0]])
    assert float(sm.acceptance_alpha(p, q)) == pytest.approx(0.5)


def test_prompt_lookup_copies_what_followed_the_latest_ngram():
    ids = [1, 2, 3, 4, 5, 9, 1, 2, 3]
    assert sm.prompt_lookup(ids, 3, 2) == ([4, 5], 3)  # and where the copy starts
    assert sm.prompt_lookup([7, 8, 7, 6, 7], 2, 3) == ([6, 7], 3)  # 1-gram fallback, most recent match first
    assert sm.prompt_lookup([1, 2, 3], 2, 4) == ([], -1)


def test_a_lookup_copy_is_placed_in_the_typed_prompt_the_template_or_the_output():
    # 10 prompt tokens, of which 4 to 7 are the person's; the rest is the chat template around them.
    where = [sm.lookup_source(at, 10, (4, 8)) for at in (0, 3, 4, 7, 8, 9, 10, 15)]
    assert where == ["template", "template", "prompt", "prompt", "template", "template", "output", "output"]
    assert sm.lookup_source(2, 3, (0, 3)) == "prompt"  # no template: the whole prompt was typed


def test_adaptive_schedule_grows_after_full_acceptance_and_shrinks_otherwise():
    assert sm.next_gamma(4, 4, 4) == 6
    assert sm.next_gamma(4, 2, 4) == 3
    assert sm.next_gamma(1, 0, 1) == 1
    assert sm.next_gamma(16, 16, 16) == 16


CHI2_CRITICAL_DF5_P001 = 20.515  # chi-square quantile: 5 degrees of freedom, p = 0.001


def chi_square(counts: torch.Tensor, probs: torch.Tensor) -> float:
    expected = probs * counts.sum()
    return float(((counts - expected) ** 2 / expected).sum())


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("draft", ["model", "one-hot"])
def test_speculative_sampling_is_distributed_as_the_target(seed, draft):
    """Chi-square on a 6-token vocabulary: the first emitted token of a round follows p, whatever q is
    (a model's q, or prompt lookup's one-hot q)."""
    gen = torch.Generator().manual_seed(seed)
    vocab, gamma, n = 6, 3, 20000
    p = torch.softmax(torch.randn(gamma + 1, vocab, generator=gen) * 1.5, dim=-1)
    q = torch.softmax(torch.randn(gamma, vocab, generator=gen) * 1.5, dim=-1)
    if draft == "one-hot":
        q = torch.nn.functional.one_hot(torch.argmax(q, dim=-1), vocab).float()
    counts = torch.zeros(vocab)
    for _ in range(n):
        proposed = [int(torch.multinomial(q[j], 1, generator=gen)) for j in range(gamma)]
        verdict = sv.verify_sampling(proposed, p, q, gen)
        first = proposed[0] if verdict.accepted > 0 else verdict.token
        counts[first] += 1
    assert chi_square(counts, p[0]) < CHI2_CRITICAL_DF5_P001, (counts / n, p[0])


def test_the_chi_square_check_can_fail():
    """The same check rejects a sampler that ignores the rule and keeps every draft token."""
    gen = torch.Generator().manual_seed(0)
    p = torch.softmax(torch.randn(6, generator=gen) * 1.5, dim=-1)
    q = torch.softmax(torch.randn(6, generator=gen) * 1.5, dim=-1)
    counts = torch.bincount(torch.multinomial(q, 20000, replacement=True, generator=gen), minlength=6).float()
    assert chi_square(counts, p) > CHI2_CRITICAL_DF5_P001
