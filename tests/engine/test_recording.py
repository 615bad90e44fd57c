"""Step records on hand-built scores: ranking, per-stage probabilities, removal, entropy."""

import math

import torch

from playground.engine.recording import TokenTexts, ranking_scores, summarize_rows, surprisal_moments, to_step


class CountingTokenizer:
    """Decodes id i as 't<i>' and counts calls, to check that texts are cached."""

    def __init__(self):
        self.calls = 0

    def batch_decode(self, batch, skip_special_tokens=False):
        self.calls += 1
        return [f"t{ids[0]}" for ids in batch]


def _staged():
    raw = torch.log(torch.tensor([[0.1, 0.4, 0.3, 0.2]]))  # (B=1, V=4)
    tempered = raw / 0.5
    top_k = tempered.masked_fill(torch.tensor([[True, False, False, True]]), -math.inf)  # keeps tokens 1 and 2
    return [("raw", raw), ("temperature", tempered), ("top_k", top_k)]


def test_entropy_of_uniform_is_log_v_and_ignores_removed_tokens():
    assert torch.isclose(surprisal_moments(torch.zeros(1, 8))[:, 0], torch.tensor([math.log(8)])).all()
    masked = torch.tensor([[0.0, 0.0, -math.inf, -math.inf]])
    assert torch.isclose(surprisal_moments(masked)[:, 0], torch.tensor([math.log(2)])).all()


def test_candidates_are_ranked_before_filters():
    staged = _staged()
    assert ranking_scores(staged) is staged[1][1]
    summary = summarize_rows(staged, staged[0][1], top_n=4)
    assert summary.ids[0] == [1, 2, 3, 0]


def test_per_stage_probabilities_and_removing_stage():
    staged = _staged()
    summary = summarize_rows(staged, staged[0][1], top_n=4)
    step = to_step(0, summary, 0, chosen_id=2, texts=TokenTexts(CountingTokenizer()), top_n=4)
    by_id = {c.id: c for c in step.candidates}
    assert math.isclose(by_id[1].probs["raw"], 0.4, rel_tol=1e-5)
    assert math.isclose(by_id[1].probs["temperature"], 0.16 / 0.30, rel_tol=1e-5)  # p**2 renormalized
    assert math.isclose(by_id[1].probs["final"], 0.16 / 0.25, rel_tol=1e-5)  # only tokens 1, 2 left
    assert by_id[3].removed_by == "top_k" and by_id[3].probs["final"] == 0.0
    assert by_id[1].removed_by is None
    assert step.chosen.id == 2 and step.chosen.text == "t2"
    assert math.isclose(step.chosen.prob, 0.09 / 0.25, rel_tol=1e-5)
    assert math.isclose(step.entropy, -(0.64 * math.log(0.64) + 0.36 * math.log(0.36)), rel_tol=1e-5)


def test_chosen_token_is_always_recorded():
    staged = _staged()
    summary = summarize_rows(staged, staged[0][1], top_n=2, must_include=torch.tensor([0]))
    assert 0 in summary.ids[0]
    step = to_step(3, summary, 0, chosen_id=0, texts=TokenTexts(CountingTokenizer()), top_n=2)
    assert [c.id for c in step.candidates] == [1, 0]
    assert step.index == 3
    assert step.chosen.rank == 4  # it fills the last place, but ranks 4th: 1, 2, 3 come before it


def test_the_chosen_tokens_rank_is_its_place_among_every_token():
    # Rows of 6 tokens, ranked by the scores; each row's chosen token sits at a known place.
    scores = torch.tensor([[6.0, 5.0, 4.0, 3.0, 2.0, 1.0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]])
    for chosen, ranks in (
        (torch.tensor([3, 4]), [4, 2]),
        (torch.tensor([0, 0]), [1, 6]),
        (torch.tensor([1, 4]), [2, 2]),
    ):
        summary = summarize_rows([("raw", scores)], scores, top_n=3, must_include=chosen)
        texts = TokenTexts(CountingTokenizer())
        steps = [to_step(0, summary, row, int(chosen[row]), texts, top_n=3) for row in range(2)]
        assert [step.chosen.rank for step in steps] == ranks
    # Beam search records more ids than top_n, unswapped: each keeps its place.
    summary = summarize_rows([("raw", scores)], scores, top_n=5)
    assert to_step(0, summary, 1, 1, TokenTexts(CountingTokenizer()), top_n=3).chosen.rank == 5


def test_extra_pairs_are_recorded_in_their_own_rows_with_their_ranks():
    """Beam search's continuations: each (row, token) pair lands in its row, ranked among every token of that row
    (by a full sort here); a place that is not the row's own repeats its best token, rank 1."""
    scores = torch.randn(3, 40, generator=torch.Generator().manual_seed(5))
    rows, tokens = torch.tensor([2, 0, 2, 1, 0]), torch.tensor([17, 3, 39, 3, 21])
    summary = summarize_rows([("raw", scores)], scores, top_n=4, extra=(rows, tokens))
    order = torch.argsort(scores, dim=-1, descending=True).tolist()
    texts = TokenTexts(CountingTokenizer())
    for row, token in zip(rows.tolist(), tokens.tolist(), strict=True):
        assert to_step(0, summary, row, token, texts, top_n=4).chosen.rank == order[row].index(token) + 1
    for row in range(3):
        padded = [c for c, r in enumerate(rows.tolist()) if r != row]
        assert [summary.ids[row][4 + c] for c in padded] == [order[row][0]] * len(padded)
        assert [summary.rank(row, 4 + c) for c in padded] == [1] * len(padded)


def test_summaries_do_not_modify_the_scores():
    staged = _staged()
    before = [s.clone() for _, s in staged]
    summarize_rows(staged, staged[0][1], top_n=3)
    assert all(torch.equal(a, b) for a, (_, b) in zip(before, staged, strict=True))


def test_token_texts_decode_each_id_once():
    tokenizer = CountingTokenizer()
    texts = TokenTexts(tokenizer)
    assert texts([5, 6, 5]) == ["t5", "t6", "t5"]
    assert texts([6, 5]) == ["t6", "t5"]
    assert tokenizer.calls == 1


def test_a_sure_step_has_entropy_zero_never_minus_zero():
    """One token left (a filter removed the rest, or one logit dwarfs the others): -sum p log p comes out as -0.0,
    which a title would print as "entropy -0.00 nats"."""
    scores = torch.full((1, 5), -math.inf)
    scores[0, 1] = 3.0
    summary = summarize_rows([("raw", scores)], scores, top_n=3)
    step = to_step(0, summary, 0, chosen_id=1, texts=TokenTexts(CountingTokenizer()), top_n=3)
    assert step.entropy == 0.0 and math.copysign(1.0, step.entropy) == 1.0 and f"{step.entropy:.2f}" == "0.00"


def test_penalties_do_not_reorder_the_candidates():
    """A token a penalty pushed down or banned keeps its place among the candidates, so its fall shows."""
    raw = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))  # (B=1, V=4)
    penalized = raw.clone()
    penalized[0, 0] = raw[0, 0] * 3  # token 0 was in the context
    banned = penalized.clone()
    banned[0, 1] = -math.inf  # token 1 would repeat an n-gram
    staged = [("raw", raw), ("repetition_penalty", penalized), ("no_repeat_ngram", banned), ("top_k", banned)]
    summary = summarize_rows(staged, raw, top_n=2)
    assert summary.ids[0] == [0, 1]
    assert summary.stage_names[summary.removed_by[0][1]] == "no_repeat_ngram"
    assert summary.probs["repetition_penalty"][0][0] < summary.probs["raw"][0][0]


def test_the_chosen_tokens_and_more_values_come_back_with_the_summary():
    scores = torch.tensor([[6.0, 5.0, 4.0, 3.0], [1.0, 2.0, 3.0, 4.0]])
    extra = torch.tensor([[0.25], [0.5]])
    summary = summarize_rows([("raw", scores)], scores, top_n=2, must_include=torch.tensor([3, 3]), also=(extra,))
    assert summary.chosen == [3, 3]
    assert summary.ids == [[0, 3], [3, 2]]  # row 0's last place went to its chosen token
    assert summary.also == [[[0.25], [0.5]]]
    assert summarize_rows([("raw", scores)], scores, top_n=2).chosen is None


def test_candidate_columns_put_a_missing_chosen_token_last_then_the_extra_pairs_with_their_ranks():
    from playground.engine.recording import candidate_columns

    order = torch.tensor([[5.0, 4, 3, 2, 1], [1.0, 2, 3, 4, 5]])  # (B=2, V=5): row 0 ranks id 0 first, row 1 id 4
    # Row 0's chosen id 4 is not in its top 2 and replaces the last of them; row 1's, 3, is there already.
    # The extra pair (row 1, token 0) is row 1's own column; row 0 repeats its best id there, at rank 1.
    ids, ranks = candidate_columns(order, 2, torch.tensor([4, 3]), (torch.tensor([1]), torch.tensor([0])))
    assert ids.tolist() == [[0, 4, 0], [4, 3, 0]]
    assert ranks.tolist() == [[5, 1], [2, 5]]  # from column 1 on: ranks among all 5 ids
    ids, ranks = candidate_columns(order, 3)
    assert ids.tolist() == [[0, 1, 2], [4, 3, 2]] and ranks.tolist() == [[3], [3]]
