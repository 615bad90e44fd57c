"""Comparing two configurations on A's path: B read by teacher forcing, divergences per step."""

import math

import pytest
import torch

from playground.engine.compare import (
    TOP_N,
    candidate_ids,
    compare_path,
    distributions,
    first_difference,
    pair_candidates,
    ruled_out,
)
from playground.engine.divergence import kl_divergence, log_probs
from playground.settings import Settings, SettingsError
from tests.engine.host_reads import HostReads
from tests.helpers import run
from tests.tiny import CHARS, make_tiny_model, make_tiny_tokenizer, wrap_loaded

PROMPT = "the cat sat on the mat and"


@pytest.fixture(scope="module")
def models(tiny_tokenizer):
    a = wrap_loaded(make_tiny_model(tiny_tokenizer, seed=0, eos_boost=0.0), tiny_tokenizer)
    b = wrap_loaded(make_tiny_model(tiny_tokenizer, seed=1, eos_boost=0.0), tiny_tokenizer, model_id="tiny-b")
    return a, b


def test_a_configuration_compared_with_itself_is_zero_apart_and_matches_its_own_steps(models):
    a, _ = models
    settings = Settings(chat=False, max_new_tokens=12, strategy="sample", seed=1, temperature=0.8, top_k=30)
    trace = run(a, PROMPT, settings)
    rows = compare_path(a, settings, a, settings, trace.prompt.token_ids, trace.output.token_ids)
    assert len(rows) == 12 and all(r.kl == pytest.approx(0.0, abs=1e-6) and r.top1_agree for r in rows)
    # Teacher forcing gives the same distributions the run decoded from, step by step.
    for row, step in zip(rows, trace.steps, strict=True):
        assert row.prob_a == pytest.approx(step.chosen.prob, abs=1e-5) and row.prob_b == row.prob_a


def test_b_probabilities_are_the_models_own_on_the_whole_text(models):
    a, b = models
    greedy = Settings(chat=False, max_new_tokens=10)
    hot = Settings(chat=False, max_new_tokens=10, strategy="sample", temperature=1.7, top_k=0)
    trace = run(a, PROMPT, greedy)
    rows = compare_path(a, greedy, b, hot, trace.prompt.token_ids, trace.output.token_ids)
    # Independently: B's logits over the whole text in one call, divided by the temperature.
    text = torch.tensor([trace.prompt.token_ids + trace.output.token_ids])
    with torch.no_grad():
        logits = b.model(text).logits[0, len(trace.prompt.token_ids) - 1 : -1]
    expected = torch.softmax(logits / 1.7, dim=-1)
    for row in rows:
        assert row.prob_b == pytest.approx(float(expected[row.index, row.token_id]), abs=1e-5)
        assert row.rank_b == int((expected[row.index] > expected[row.index, row.token_id]).sum()) + 1
        assert row.kl > 0 and 0 < row.js <= math.log(2) and 0 < row.tv <= 1
    assert rows[0].prob_a == pytest.approx(trace.steps[0].chosen.prob, abs=1e-5)


def test_a_filter_on_b_makes_kl_infinite_and_names_the_uncovered_mass(models):
    a, _ = models
    free = Settings(chat=False, max_new_tokens=6, strategy="sample", seed=2, top_k=0)
    narrow = free.replace(top_k=1)  # B keeps one token a step: A's other tokens are impossible under B
    trace = run(a, PROMPT, free)
    rows = compare_path(a, free, a, narrow, trace.prompt.token_ids, trace.output.token_ids)
    assert all(r.kl == math.inf and 0 < r.uncovered < 1 and r.js < math.log(2) for r in rows)
    assert all(r.top1_agree for r in rows)  # top-k = 1 keeps the top token


@pytest.fixture(scope="module")
def sharp(tiny_tokenizer):
    """A tiny model whose logits lie tens apart, as a trained model's do (a random one's are nearly uniform):
    at temperature 0.3, float32's softmax rounds its tail to 0."""
    model = make_tiny_model(tiny_tokenizer, seed=0, eos_boost=0.0)
    with torch.no_grad():
        model.lm_head.weight *= 100
    return wrap_loaded(model, tiny_tokenizer)


GREEDY = Settings(chat=False, max_new_tokens=8)
COOL = GREEDY.replace(strategy="sample", temperature=0.3, top_k=0, top_p=1.0)  # issue 24's B: no filter


def test_temperature_rules_nothing_out_however_far_its_tail_underflows(sharp):
    trace = run(sharp, PROMPT, GREEDY)
    prompt_ids, tokens = trace.prompt.token_ids, trace.output.token_ids
    # The premise: B's float32 probabilities are 0 somewhere at every step, though no stage removed a token.
    assert all((q == 0).any() for _, q in distributions(sharp, [GREEDY, COOL], prompt_ids, tokens))
    rows = compare_path(sharp, GREEDY, sharp, COOL, prompt_ids, tokens)
    # Independently: the logits of the whole text in one call; A's log-softmax and B's at temperature 0.3.
    with torch.no_grad():
        logits = sharp.model(torch.tensor([prompt_ids + tokens])).logits[0, len(prompt_ids) - 1 : -1]  # (n, V)
    logp, logq = log_probs(logits), log_probs(logits / 0.3)
    expected = (logp.exp() * (logp - logq)).sum(-1)  # (n,) KL's definition: no token is impossible
    for row, kl in zip(rows, expected.tolist(), strict=True):
        assert math.isfinite(row.kl) and row.kl == pytest.approx(kl, rel=1e-3)
        assert row.uncovered == 0.0 and (row.removed_id, row.removed_text, row.removed_by) == (None, None, None)


def test_top_k_on_b_is_named_with_the_token_a_liked_best_of_those_it_removed(sharp):
    trace = run(sharp, PROMPT, GREEDY)
    prompt_ids, tokens = trace.prompt.token_ids, trace.output.token_ids
    rows = compare_path(sharp, GREEDY, sharp, COOL.replace(top_k=5), prompt_ids, tokens)
    for row, (p,) in zip(rows, distributions(sharp, [GREEDY], prompt_ids, tokens), strict=True):
        # Temperature keeps the order, so top-k 5 keeps A's five likeliest: the sixth is the one A liked best.
        sixth = int(torch.argsort(p.double(), descending=True)[5])
        assert row.kl == math.inf and row.uncovered > 0
        assert (row.removed_id, row.removed_by) == (sixth, "top_k")
        assert row.removed_text == sharp.tokenizer.decode([sixth])


def test_ruled_out_names_the_stage_that_removed_the_token_a_likes_best():
    logits = torch.tensor([[4.0, 3.0, 2.0, 1.0, -50.0]])  # (1, V)
    cool = logits / 0.3  # token 4 is 180 below the top: float32's softmax gives it 0
    top_k = cool.masked_fill(torch.tensor([[False, False, True, True, True]]), -math.inf)  # as top-k 2 would
    staged_b = [("raw", logits), ("temperature", cool), ("top_k", top_k)]
    logp = log_probs(logits[0])  # A: greedy
    assert kl_divergence(logp, log_probs(top_k[0])).item() == math.inf
    token, stage = ruled_out(logp, staged_b).tolist()
    assert (token, staged_b[stage][0]) == (2, "top_k")  # of tokens 2, 3 and 4, A gives 2 the most
    assert kl_divergence(logp, log_probs(cool[0])).item() < math.inf
    assert ruled_out(logp, staged_b[:2]).tolist() == [-1, -1]  # temperature alone removes nothing
    padded = torch.tensor([[4.0, 3.0, 2.0, 1.0, -math.inf]])  # B's model itself gives token 4 nothing
    assert ruled_out(logp, [("raw", padded)]).tolist() == [4, 0]


def test_a_step_reads_the_device_once_with_the_stage_that_ruled_a_token_out(sharp, monkeypatch):
    trace = run(sharp, PROMPT, GREEDY)
    reads = HostReads()
    b = COOL.replace(top_k=5, no_repeat_ngram_size=2)
    with reads.watching(monkeypatch):
        rows = compare_path(sharp, GREEDY, sharp, b, trace.prompt.token_ids, trace.output.token_ids)
    assert reads.take() == ["read_values"] * len(rows) and all(r.removed_by for r in rows)


def test_models_that_do_not_share_a_tokenizer_are_refused(models):
    a, _ = models
    other = make_tiny_tokenizer(list(reversed(CHARS)))
    foreign = wrap_loaded(make_tiny_model(other, seed=0), other, model_id="foreign")
    with pytest.raises(SettingsError, match="'foreign' does not share 'tiny-random-llama''s tokenizer"):
        compare_path(a, Settings(), foreign, Settings(), [1, 2], [3])


def test_first_difference():
    assert first_difference([1, 2, 3], [1, 2, 4]) == 2
    assert first_difference([1, 2], [1, 2, 3]) == 2
    assert first_difference([5], [6]) == 0
    assert first_difference([], [1]) == 0


def test_one_pass_for_two_settings_of_one_model_gives_what_two_passes_give(models, tiny_tokenizer):
    a, _ = models
    twin = wrap_loaded(a.model, tiny_tokenizer)  # the same weights as another LoadedModel: read twice
    cool = Settings(chat=False, max_new_tokens=8, strategy="sample", seed=4, temperature=0.6, top_p=0.9)
    hot = cool.replace(temperature=1.4, top_k=10)
    trace = run(a, PROMPT, cool)
    once = compare_path(a, cool, a, hot, trace.prompt.token_ids, trace.output.token_ids)
    twice = compare_path(a, cool, twin, hot, trace.prompt.token_ids, trace.output.token_ids)
    for x, y in zip(once, twice, strict=True):
        assert (x.top1_agree, x.rank_b) == (y.top1_agree, y.rank_b)
        assert x.js == pytest.approx(y.js, abs=1e-9) and x.prob_b == pytest.approx(y.prob_b, abs=1e-7)


B_CONFIGS = {
    "other-model-hot": ("b", dict(strategy="sample", temperature=1.5, top_k=0)),
    "same-model-top-k-3": ("a", dict(strategy="sample", top_k=3)),  # B's top 10 holds 7 impossible tokens
}


@pytest.mark.parametrize("name", B_CONFIGS)
def test_each_step_pairs_a_and_bs_most_likely_tokens_with_both_probabilities(models, name):
    a, b = models
    which, knobs = B_CONFIGS[name]
    model_b = {"a": a, "b": b}[which]
    a_settings = Settings(chat=False, max_new_tokens=10)
    b_settings = Settings(chat=False, max_new_tokens=10, **knobs)
    prompt_ids = a.tokenizer.encode(PROMPT)
    tokens = a.tokenizer.encode(" zqxj~ cat")  # unlikely tokens too: A's token must be there however unlikely
    rows = compare_path(a, a_settings, model_b, b_settings, prompt_ids, tokens)
    # Independently: each side's distributions, and their top n by torch.topk.
    ps = [p for (p,) in distributions(a, [a_settings], prompt_ids, tokens)]
    qs = [q for (q,) in distributions(model_b, [b_settings], prompt_ids, tokens)]
    outside = 0
    for row, p, q in zip(rows, ps, qs, strict=True):
        ids = [c.id for c in row.candidates]
        top_a = set(torch.topk(p, TOP_N).indices.tolist())
        top_b = {i for i in torch.topk(q, TOP_N).indices.tolist() if q[i] > 0}  # zero-probability filler dropped
        assert len(ids) == len(set(ids)) and set(ids) == top_a | top_b | {row.token_id}
        outside += row.token_id not in top_a | top_b
        for c in row.candidates:
            assert c.prob_a == pytest.approx(float(p[c.id]), abs=1e-7)
            assert c.prob_b == pytest.approx(float(q[c.id]), abs=1e-7)
            assert c.text == a.tokenizer.decode([c.id])
        highest = [max(c.prob_a, c.prob_b) for c in row.candidates]
        assert highest == sorted(highest, reverse=True)
    assert outside > 0  # the path did reach a token neither side ranks in its top n


def test_candidate_texts_are_decoded_once_per_token(models, monkeypatch):
    a, b = models
    settings = Settings(chat=False, max_new_tokens=8)
    trace = run(a, PROMPT, settings)
    calls = []
    decode = a.tokenizer.decode
    monkeypatch.setattr(a.tokenizer, "decode", lambda ids: calls.append(tuple(ids)) or decode(ids))
    rows = compare_path(a, settings, b, settings, trace.prompt.token_ids, trace.output.token_ids)
    assert len(calls) == len(set(calls)) == len({c.id for r in rows for c in r.candidates})


def test_candidate_ids_take_each_sides_top_n_and_the_token():
    p = torch.tensor([0.1, 0.5, 0.4])
    q = torch.tensor([0.7, 0.0, 0.3])
    assert candidate_ids(p, q, 0, n=2).tolist() == [1, 2, 0, 2, 0]
    # n is cut to the vocabulary; q's zero-probability filler (id 1) is replaced by the token.
    assert candidate_ids(p, q, 2, n=10).tolist() == [1, 2, 0, 0, 2, 2, 2]


def test_pair_candidates_drops_repeats_and_orders_by_either_side():
    ids = [1.0, 4.0, 9.0, 1.0, 5.0, 9.0]
    probs_a = [0.5, 0.2, 0.0, 0.5, 0.05, 0.0]
    probs_b = [0.1, 0.6, 0.0, 0.1, 0.2, 0.0]
    rows = pair_candidates(ids, probs_a, probs_b, lambda i: f"t{i}")
    assert [(c.id, c.text, c.prob_a, c.prob_b) for c in rows] == [
        (4, "t4", 0.2, 0.6),
        (1, "t1", 0.5, 0.1),
        (5, "t5", 0.05, 0.2),
        (9, "t9", 0.0, 0.0),
    ]
    tied = pair_candidates([7.0, 2.0], [0.3, 0.1], [0.1, 0.3], str)
    assert [c.id for c in tied] == [2, 7]  # equal highest probability: by id


def test_b_reads_its_own_prompt_and_the_kl_per_step_is_the_hand_computed_one(models):
    a, _ = models
    settings = Settings(chat=False, max_new_tokens=8)
    trace = run(a, PROMPT, settings)
    prompt_ids, tokens = trace.prompt.token_ids, trace.output.token_ids
    b_prompt_ids = a.tokenizer.encode("zq xj")  # a shorter prompt, as compression leaves
    rows = compare_path(a, settings, a, settings, prompt_ids, tokens, b_prompt_ids=b_prompt_ids)
    # By hand: each prompt followed by A's tokens, in one call of the model each (fp32).
    with torch.no_grad():
        full = a.model(torch.tensor([prompt_ids + tokens])).logits[0, len(prompt_ids) - 1 : -1].double()
        short = a.model(torch.tensor([b_prompt_ids + tokens])).logits[0, len(b_prompt_ids) - 1 : -1].double()
    logp, logq = torch.log_softmax(full, dim=-1), torch.log_softmax(short, dim=-1)  # (n, V) each
    expected = (logp.exp() * (logp - logq)).sum(dim=-1)
    assert [r.kl for r in rows] == pytest.approx(expected.tolist(), rel=1e-3, abs=1e-9)
    assert min(r.kl for r in rows) > 1e-5  # the prompts differ, so the distributions do
    for row, step in zip(rows, trace.steps, strict=True):
        assert row.prob_a == pytest.approx(step.chosen.prob, abs=1e-5)  # A still reads its own prompt


def test_the_same_prompt_for_b_is_one_pass_and_changes_nothing(models, monkeypatch):
    import playground.engine.compare as compare

    a, _ = models
    cool = Settings(chat=False, max_new_tokens=6, strategy="sample", seed=2, temperature=0.7)
    hot = cool.replace(temperature=1.3)
    trace = run(a, PROMPT, cool)
    prompt_ids, tokens = trace.prompt.token_ids, trace.output.token_ids
    passes = []
    forward = compare.teacher_forced
    monkeypatch.setattr(compare, "teacher_forced", lambda *args: passes.append(1) or forward(*args))
    plain = compare_path(a, cool, a, hot, prompt_ids, tokens)
    same = compare_path(a, cool, a, hot, prompt_ids, tokens, b_prompt_ids=list(prompt_ids))
    assert len(passes) == 2 and plain == same  # one pass each
    compare_path(a, cool, a, hot, prompt_ids, tokens, b_prompt_ids=prompt_ids[1:])
    assert len(passes) == 4  # another prompt for B: a pass each
