"""The automatic draft on tiny models: whichever source drafts a round (prompt lookup, the suffix index, the Medusa
heads, or none), greedy output is plain greedy decoding's and sampling is distributed as the target's own."""

import pytest
import torch

from playground.engine import generate
from playground.engine.context import render_prompt
from playground.engine.forward import forward_tokens, new_cache
from playground.engine.speculative.auto import AutoDraft, AutoPlanner
from playground.engine.speculative.draft_tree import expected_length
from playground.engine.speculative.plans import Plan
from playground.models import load_model
from playground.settings import Settings
from playground.trace import DRAFT_SOURCES, Trace
from tests.chi_square import critical
from tests.engine.test_tree_speculative import train_tiny_heads
from tests.tiny import save_tiny_model

PROMPT = "the cat sat on the mat and the cat"
TEMPERATURE = 0.5


class AnswerIndex:
    """A stand-in for the suffix index that has read one answer: after the text's last two tokens, wherever they
    occur in the answer, it proposes what followed them there (chances 0.9 each)."""

    def __init__(self, answer: list[int]) -> None:
        self.answer = answer

    def propose(self, text: list[int], budget: int) -> tuple[list[int], list[float]]:
        tail = text[-2:]
        for start in range(len(self.answer) - 2, -1, -1):
            if self.answer[start : start + 2] == tail:
                follow = self.answer[start + 2 : start + 2 + budget]
                return follow, [0.9] * len(follow)
        return [], []


class FixedIndex:
    """Proposes the same tokens after any text: a draft that is right only as often as the target agrees."""

    def __init__(self, tokens: list[int]) -> None:
        self.tokens = tokens

    def propose(self, text: list[int], budget: int) -> tuple[list[int], list[float]]:
        return self.tokens[:budget], [0.9] * min(budget, len(self.tokens))


FLAT = [1.0] * 16  # a machine where a pass over 16 tokens costs what one token's does (a GPU, roughly)


@pytest.fixture(autouse=True)
def flat_cost(monkeypatch):
    """Rounds sized by a fixed curve, not by this machine's timings, so which source drafts does not depend on
    the load: every draft with a chance of being right is worth its pass. The rounds' own times are not read
    either (`pricing.py`: tested with given times)."""
    monkeypatch.setattr("playground.engine.speculative.auto.cost_curve", lambda loaded, ids: FLAT)
    monkeypatch.setattr("playground.engine.speculative.auto.AutoPlanner.timed", lambda self, plan, *times: None)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, tiny_tokenizer):
    """A sharpened tiny target, heads trained on its own text, and its plain greedy answer."""
    target = load_model(
        save_tiny_model(tmp_path_factory.mktemp("auto"), tiny_tokenizer, seed=2, eos_boost=1.0, sharpen=8.0), "fp32"
    )
    plain = generate(target, PROMPT, auto(draft_model=None, strategy="greedy"))
    heads = train_tiny_heads(target)
    # The held-out hit rates the automatic draft sizes the heads' tree by (a tiny model has no held-out text).
    heads.card.accuracy["by_rank"] = [[0.6 / (rank + 1) for rank in range(4)] for _ in range(heads.heads.num_heads)]
    return {"target": target, "heads": heads, "plain": plain}


def auto(**knobs) -> Settings:
    return Settings(**{"strategy": "speculative", "chat": True, "max_new_tokens": 40, **knobs})


def drafts(tiny, case: str) -> AutoDraft:
    """The automatic draft with one of its sources alone (prompt lookup, the suffix index, the heads), or all."""
    answer = AnswerIndex(render_prompt(tiny["target"].tokenizer, PROMPT, True)[1] + tiny["plain"].output.token_ids)
    heads = tiny["heads"] if case in ("heads", "all") else None
    return AutoDraft(heads=heads, index=answer if case in ("suffix", "all") else None, lookup=case in ("lookup", "all"))


@pytest.mark.parametrize("case", ["lookup", "suffix", "heads", "all"])
@pytest.mark.parametrize("knobs", [dict(), dict(repetition_penalty=1.3, no_repeat_ngram_size=3)], ids=str)
def test_greedy_output_equals_plain_greedy_whichever_source_drafts(tiny, case, knobs):
    target = tiny["target"]
    plain = generate(target, PROMPT, auto(draft_model=None, strategy="greedy", **knobs))
    trace = generate(target, PROMPT, auto(**knobs), draft=drafts(tiny, case))
    assert trace.output.token_ids == plain.output.token_ids
    assert trace.output.stop_reason == plain.output.stop_reason
    for step, plain_step in zip(trace.steps, plain.steps, strict=True):
        assert step.chosen.prob == pytest.approx(plain_step.chosen.prob, abs=1e-5)
    spec = trace.speculative
    assert spec.draft.source == "auto" and spec.cost_curve and spec.cost_curve[0] == 1.0
    sources = {r.source for r in spec.rounds}
    wanted = {"lookup": {"prompt-lookup"}, "suffix": {"suffix"}, "heads": {"medusa"}}.get(case, set(DRAFT_SOURCES))
    assert sources & wanted - {"none"}, f"no round drafted by {wanted}: {sources}"
    assert sources <= wanted | {"none"}
    assert sum(r.tokens for r in spec.rounds) == len(trace.output.token_ids)
    for r in spec.rounds:
        assert r.cost == spec.cost_curve[len(r.tree) - 1]
        assert (r.lookup is not None) == (r.source == "prompt-lookup")
        if r.source in ("prompt-lookup", "suffix"):  # a chain: one guess per depth
            assert [n.depth for n in r.tree] == list(range(len(r.tree)))
        if r.source == "none":
            assert len(r.tree) == 1


def test_a_source_that_knows_the_answer_drafts_long_rounds(tiny):
    trace = generate(tiny["target"], PROMPT, auto(), draft=drafts(tiny, "suffix"))
    assert trace.speculative.tokens_per_round > 2.5
    assert trace.output.token_ids == tiny["plain"].output.token_ids


def test_the_trace_names_each_rounds_source_and_round_trips(tiny):
    trace = generate(tiny["target"], PROMPT, auto(max_new_tokens=16), draft=drafts(tiny, "all"))
    data = trace.to_dict()
    assert data["speculative"]["draft"]["source"] == "auto"
    assert all("source" in r and "cost" in r for r in data["speculative"]["rounds"])
    again = Trace.from_dict(data)
    again.validate()
    assert again == trace
    data["speculative"]["rounds"][0]["source"] = "oracle"
    with pytest.raises(ValueError, match=r"rounds\[0\].source must be one of"):
        Trace.from_dict(data).validate()


def test_sampled_pairs_follow_the_targets_distribution(tiny):
    """The first two tokens come out of one verified chain the index proposed before the first pass: accepted
    copies, or drawn from the residual after a copy was turned down. Over many seeds they are distributed as the
    target's own p(x1) p(x2 | x1) (chi-square, rare pairs pooled)."""
    target = tiny["target"]
    ids = render_prompt(target.tokenizer, PROMPT, True)[1]
    model, vocab, eos = target.model, target.info.vocab_size, target.tokenizer.eos_token_id
    logits = forward_tokens(model, ids, new_cache(model))[-1] / TEMPERATURE
    logits[eos] = -float("inf")  # min_new_tokens
    first = torch.softmax(logits, dim=-1)  # (V,)
    likely = int(first.argmax())
    rows = torch.tensor([[*ids, x] for x in range(vocab)])
    with torch.no_grad():
        logits = model(input_ids=rows).logits[:, -1].float() / TEMPERATURE  # (V, V): p(x2 | x1) for every x1
    logits[:, eos] = -float("inf")
    second = torch.softmax(logits, dim=-1)
    index = FixedIndex([likely, int(second[likely].argmax())])

    runs, counts, copied = 1200, torch.zeros(vocab * vocab), 0
    for seed in range(runs):
        settings = auto(do_sample=True, seed=seed, top_k=0, temperature=TEMPERATURE, max_new_tokens=3, min_new_tokens=2)
        trace = generate(target, PROMPT, settings, draft=AutoDraft(heads=None, index=index))
        a, b = trace.output.token_ids[:2]
        counts[a * vocab + b] += 1
        copied += trace.speculative.rounds[0].accepted_count()
    assert trace.speculative.rounds[0].source == "suffix"
    assert runs * 0.1 < copied < runs * 1.9, "some copies should be kept, some turned down"
    joint = (first[:, None] * second).flatten() * runs
    common = joint >= 5
    observed = torch.cat([counts[common], counts[~common].sum(dim=0, keepdim=True)])
    wanted = torch.cat([joint[common], joint[~common].sum(dim=0, keepdim=True)])
    assert float(counts[joint == 0].sum()) == 0
    stat = float(((observed - wanted) ** 2 / wanted).sum())
    assert stat < critical(len(observed) - 1)


def planner(curve: list[float], index=None) -> AutoPlanner:
    """A planner with prompt lookup over a 4-token prompt, all of it typed, and no heads."""
    return AutoPlanner(curve, (4, (0, 4)), index, None, torch.device("cpu"))


REPEATING = [5, 6, 7, 8, 9, 5, 6, 7]  # "5 6 7" was followed by "8 9 5 6 7" before: prompt lookup copies that


def test_a_draft_is_taken_only_where_it_is_worth_its_pass():
    # A pass over k tokens costing k one-token passes: no draft that can miss is worth it.
    assert planner([float(k) for k in range(1, 17)]).plan(REPEATING, None, 10).source == "none"
    # Passes of up to 16 tokens costing one: the whole copy, within the tokens left.
    plan = planner(FLAT).plan(REPEATING, None, 3)
    assert plan.source == "prompt-lookup" and plan.lookup == "prompt" and plan.guesses[:, 0].tolist() == [8, 9, 5]
    assert plan.expected == pytest.approx(1 + 0.5 + 0.25 + 0.125)  # the Beta(1, 1) prior: each copy kept at 1/2
    # Steps at every fourth token, as bitsandbytes' nf4 kernel makes them: at most 3 guesses per pass.
    steps = [0.92 + 0.24 * -(-k // 4) for k in range(1, 17)]
    assert planner([1.0, *steps[1:]]).plan(REPEATING, None, 10).shape.size == 4


def test_the_likeliest_source_wins_and_the_tallies_learn():
    sure = FixedIndex([8, 9, 5, 6])
    auto_plan = planner(FLAT, sure)
    plan = auto_plan.plan(REPEATING, None, 4)
    assert plan.source == "suffix"  # 0.9 per guess beats the copy's prior 1/2
    auto_plan.seen(plan, accepted=0)  # the first guess was turned down: one tested, none kept
    assert auto_plan.tallies["suffix"].tested == 1 and auto_plan.tallies["suffix"].kept == 0
    assert auto_plan.tallies["suffix"].calibration() == pytest.approx(1 / 1.9)
    assert auto_plan.plan(REPEATING, None, 4).source == "prompt-lookup"  # 0.9 / 1.9 per guess now loses


class EvenIndex(FixedIndex):
    """Proposes its tokens at even chances."""

    def propose(self, text: list[int], budget: int) -> tuple[list[int], list[float]]:
        return self.tokens[:budget], [0.5] * min(budget, len(self.tokens))


def test_a_kind_of_round_that_costs_more_than_its_pass_is_left_for_a_plain_step():
    auto_plan = planner([1.0] + [1.1] * 15, EvenIndex([8, 9, 5, 6]))
    auto_plan.lookup = None
    plan = auto_plan.plan(REPEATING, None, 4)
    assert plan.source == "suffix" and plan.shape.size == 5  # 1.94 tokens for a pass of 1.1
    unit = 0.010  # seconds of a one-token pass
    for _ in range(3):  # suffix rounds that took a whole pass more than c(k) says (planning, stages, records)
        auto_plan.costs.add("suffix", plan.shape.size, pass_s=1.1 * unit, round_s=1.1 * unit + 1.05 * unit)
    auto_plan.costs.add("none", 1, pass_s=unit, round_s=1.01 * unit)  # a plain step: 1% beyond its pass
    assert auto_plan.costs.overhead("suffix") == pytest.approx(1.0) and auto_plan.costs.overhead("none") < 0.02
    assert auto_plan.plan(REPEATING, None, 4).source == "none"  # 1.94 / 2.1 < 1 / 1.01
    auto_plan.lookup = (4, (0, 4))
    assert auto_plan.plan(REPEATING, None, 4).source == "prompt-lookup"  # a kind not slowed down: 1.94 / 1.11


class CardOnly:
    """Heads as the planner sizes their tree: a card's hit rates, no weights (the tree is not drafted here)."""

    def __init__(self, rates: list[list[float]]) -> None:
        self.draft = type("Draft", (), {"hit_rates": rates})()


def test_heads_that_miss_in_this_run_get_a_smaller_tree_then_none():
    steps = [1.0, 1.2, 1.2, 1.2, 1.4, 1.4, 1.4, 1.4, 1.6, 1.6, 1.6, 1.6, 1.8, 1.8, 1.8, 1.8]  # nf4-like steps
    rates = [[0.5, 0.2, 0.1], [0.4, 0.15, 0.1], [0.3, 0.1, 0.05]]
    auto_plan = AutoPlanner(steps, None, None, CardOnly(rates), torch.device("cpu"))
    first, _ = auto_plan.heads_tree()
    assert first is not None and first.size > 2
    plan = Plan(first, torch.zeros((3, 3), dtype=torch.long), None, 1.0, source="medusa")
    for _ in range(5):  # five rounds where the target kept none of the guesses
        auto_plan.seen(plan, accepted=0)
    tally = auto_plan.tallies["medusa"]
    predicted = 5 * (expected_length(first, rates) - 1)
    assert tally.predicted == pytest.approx(predicted) and tally.calibration() == pytest.approx(1 / (predicted + 1))
    later, scaled = auto_plan.heads_tree()
    assert later is None  # head 1 right a fifth as often as the card says: no tree is worth its pass
    assert scaled[0][0] == pytest.approx(0.5 * round(tally.calibration() * 20) / 20) and scaled[1:] == rates[1:]
