"""XTC in a run on the tiny model: the coin is drawn from XTC's own generator, seeded from the run's seed, and the token
from the run's generator (both replayed here by hand), so a run with XTC takes the same tokens as the run without it
until the first step whose coin fires and excludes something (one run and Sample many); each step notes it and a fired
step's excluded tokens are marked as XTC's, the notes survive export and a branch, Sample many gives each sample its own
coin, and sampled first tokens follow the mixture (1 - q) * P(not fired) + q * P(fired) that Compare, the mass tree and
a branch's forced steps use, computed here by brute force from the definition (with a filter after XTC acting on each
outcome)."""

import dataclasses
import math

import pytest
import torch

from playground.engine import generate
from playground.engine.branch import branch_point
from playground.engine.compare import compare_path, distributions, staged_scores
from playground.engine.mass import mass_tree
from playground.engine.samplers.xtc import COIN_SEED_OFFSET
from playground.settings import Limits, Settings
from playground.trace import Trace
from tests.chi_square import assert_follows
from tests.engine.samplers.test_xtc import removed_by_definition

PROMPT = "the cat sat"
# At temperature 0.3 a few of the tiny model's 101 tokens reach 0.02 at most steps, so the coin has work to do.
XTC = dict(strategy="sample", chat=False, temperature=0.3, top_k=0, xtc_threshold=0.02, xtc_probability=0.5)


def raw_rows(loaded, prompt_ids: list[int], path: list[int]) -> list[torch.Tensor]:
    """The model's raw (V,) logits before each token of `path`, as the engine reads them."""
    return [staged[0][1][0] for (staged,) in staged_scores(loaded, [Settings(chat=False)], prompt_ids, path)]


def outcome(raw: torch.Tensor, fired: bool, top_k: int = 0) -> torch.Tensor:
    """One coin's distribution by hand, float64: raw / T, XTC's removal set from the definition if `fired`, then
    the `top_k` best of what is left (0: all)."""
    scores = raw.double() / XTC["temperature"]
    if fired:
        scores[sorted(removed_by_definition(scores.tolist(), XTC["xtc_threshold"]))] = -math.inf
    if top_k:
        scores[scores < torch.topk(scores, top_k).values[-1]] = -math.inf
    return torch.softmax(scores, dim=-1)


def mixture(raw: torch.Tensor, q: float = XTC["xtc_probability"], top_k: int = 0) -> torch.Tensor:
    """What a step samples from on average: (1 - q) * P(not fired) + q * P(fired), each through the rest."""
    return (1 - q) * outcome(raw, False, top_k) + q * outcome(raw, True, top_k)


def test_the_coin_is_xtcs_own_draw_and_the_token_the_runs_and_each_step_notes_it(tiny_loaded):
    settings = Settings(**XTC, seed=3, max_new_tokens=8, top_n=20)
    trace = generate(tiny_loaded, PROMPT, settings)
    raws = raw_rows(tiny_loaded, trace.prompt.token_ids, trace.output.token_ids)
    generator = torch.Generator().manual_seed(settings.seed)
    coins = torch.Generator().manual_seed(settings.seed + COIN_SEED_OFFSET)
    for step, raw in zip(trace.steps, raws, strict=True):
        note = step.notes["xtc"]
        fired = torch.rand(1, generator=coins).item() < settings.xtc_probability
        assert note["fired"] is fired
        excluded = removed_by_definition((raw / XTC["temperature"]).tolist(), XTC["xtc_threshold"])
        assert set(note["excluded"]) == (excluded if fired else set())
        assert note["excluded_some"] is (fired and bool(excluded))
        # Then the token, from the distribution the coin left (float32, as the engine draws).
        scores = raw / XTC["temperature"]
        if fired:
            scores = scores.masked_fill(torch.isin(torch.arange(len(raw)), torch.tensor(sorted(excluded))), -math.inf)
        drawn = torch.multinomial(torch.softmax(scores, dim=-1)[None], 1, generator=generator).item()
        assert drawn == step.chosen.id and drawn not in note["excluded"]
        marked = {c.id for c in step.candidates if c.removed_by == "xtc"}
        assert marked == set(note["excluded"]) & {c.id for c in step.candidates}
        assert "xtc" in step.candidates[0].probs
    notes = [s.notes["xtc"] for s in trace.steps]
    assert any(n["fired"] and n["excluded"] for n in notes) and not all(n["fired"] for n in notes)
    again = Trace.from_dict(trace.to_dict())
    assert [s.notes for s in again.steps] == [s.notes for s in trace.steps]
    assert generate(tiny_loaded, PROMPT, settings).to_dict()["steps"] == trace.to_dict()["steps"]  # a seed replays


def first_exclusion(trace: Trace) -> int:
    """The index of the first step whose coin fired and excluded something (the run's length if none did)."""
    excluded = (s.index for s in trace.steps if s.notes["xtc"]["fired"] and s.notes["xtc"]["excluded"])
    return next(excluded, len(trace.steps))


def test_a_run_with_xtc_is_the_run_without_it_until_the_coin_first_excludes_something(tiny_loaded):
    shared, idle_fires = 0, 0  # tokens before a first exclusion; coins that fired there and excluded nothing
    for seed in range(10):
        settings = Settings(**XTC, seed=seed, max_new_tokens=12)
        trace = generate(tiny_loaded, PROMPT, settings)
        plain = generate(tiny_loaded, PROMPT, settings.replace(xtc_probability=0.0))
        first = first_exclusion(trace)
        assert trace.output.token_ids[:first] == plain.output.token_ids[:first]
        shared += first
        idle_fires += sum(s.notes["xtc"]["fired"] for s in trace.steps[:first])
    assert shared >= 10 and idle_fires, "runs share tokens before XTC excludes, and a coin that fired on its own"


def test_each_sample_is_the_sample_without_xtc_until_its_coin_first_excludes_something(tiny_loaded):
    settings = Settings(**XTC, num_samples=8, seed=30, max_new_tokens=10)
    many = generate(tiny_loaded, PROMPT, settings).samples.samples
    plain = generate(tiny_loaded, PROMPT, settings.replace(xtc_probability=0.0)).samples.samples
    parted = 0
    for sample, without in zip(many, plain, strict=True):
        alone = generate(tiny_loaded, PROMPT, settings.replace(num_samples=1, seed=sample.seed))
        first = first_exclusion(alone)
        assert sample.token_ids[:first] == without.token_ids[:first]
        parted += first < len(alone.steps) and sample.token_ids != without.token_ids
    assert parted, "some sample's coin excluded something and its text went another way"


def test_a_branch_mixes_the_coin_at_its_forced_steps_then_draws_it(tiny_loaded):
    settings = Settings(**XTC, seed=3, max_new_tokens=6, top_n=20)
    parent = generate(tiny_loaded, PROMPT, settings)
    step = parent.steps[2]
    token = next(c.id for c in step.candidates if c.id != step.chosen.id and c.removed_by is None)
    child = generate(tiny_loaded, PROMPT, settings.replace(**branch_point(parent, 3, token)))
    assert child.output.token_ids[:3] == [*parent.output.token_ids[:2], token]
    raws = raw_rows(tiny_loaded, child.prompt.token_ids, child.output.token_ids[:3])
    for forced, raw in zip(child.steps[:3], raws, strict=True):
        assert forced.notes["xtc"]["mixed"] is True and "fired" not in forced.notes["xtc"]
        expected = mixture(raw)
        for c in forced.candidates:
            assert c.probs["final"] == pytest.approx(expected[c.id].item(), abs=1e-6)
            assert c.removed_by is None  # the mixture still gives each candidate its share
    assert all("fired" in s.notes["xtc"] for s in child.steps[3:])  # the strategy draws its coins again
    assert Trace.from_json(child.to_json()).to_dict() == child.to_dict()


def test_each_sample_flips_its_own_coin_as_its_single_run_does(tiny_loaded):
    settings = Settings(**XTC, num_samples=6, seed=20, max_new_tokens=6)
    trace = generate(tiny_loaded, PROMPT, settings)
    for sample in trace.samples.samples:
        alone = generate(tiny_loaded, PROMPT, settings.replace(num_samples=1, seed=sample.seed))
        assert sample.token_ids == alone.output.token_ids
        assert sample.probs == pytest.approx([s.chosen.prob for s in alone.steps], abs=1e-6)
    first = generate(tiny_loaded, PROMPT, settings.replace(num_samples=1))
    assert [s.notes for s in trace.steps] == [s.notes for s in first.steps]


def test_first_tokens_follow_the_mixture(tiny_loaded):
    count = 2000
    limits = dataclasses.replace(Limits(), max_samples=count)
    settings = Settings(**XTC, num_samples=count, seed=11, max_new_tokens=1, limits=limits)
    trace = generate(tiny_loaded, PROMPT, settings)
    counts = torch.zeros(tiny_loaded.info.vocab_size, dtype=torch.float64)
    for sample in trace.samples.samples:
        counts[sample.token_ids[0]] += 1
    (raw,) = raw_rows(tiny_loaded, trace.prompt.token_ids, [0])
    p = mixture(raw)
    excluded = removed_by_definition((raw / XTC["temperature"]).tolist(), XTC["xtc_threshold"])
    assert len(excluded) >= 2
    assert_follows(counts, p)
    # And not the distribution of either outcome alone. The outcomes part on the tokens a fired coin excludes (here
    # a few tokens near 2% each), so they are told apart on those tokens pooled against the rest: their share is
    # (1 - q) of the unfired one, which only the mixture's q gets right.
    gone = torch.zeros(len(p), dtype=torch.bool)
    gone[sorted(excluded)] = True
    pooled = lambda v: torch.stack([v[gone].sum(), v[~gone].sum()])  # noqa: E731
    assert_follows(pooled(counts), pooled(p))
    for q in (0.0, 1.0):
        with pytest.raises(AssertionError):
            assert_follows(pooled(counts), pooled(mixture(raw, q=q)))


def test_compare_reads_the_mixture_with_a_filter_after_xtc_acting_on_each_outcome(tiny_loaded):
    a = Settings(chat=False, strategy="sample", temperature=0.3, top_k=0, seed=1, max_new_tokens=5)
    path = generate(tiny_loaded, PROMPT, a).output.token_ids
    prompt_ids = tiny_loaded.tokenizer(PROMPT)["input_ids"]
    b = Settings(**XTC, sampler_order=("temperature", "xtc", "top_k")).replace(top_k=3)
    raws = raw_rows(tiny_loaded, prompt_ids, path)
    for (got,), raw in zip(distributions(tiny_loaded, [b], prompt_ids, path), raws, strict=True):
        torch.testing.assert_close(got.double(), mixture(raw, top_k=3), atol=1e-6, rtol=0)
    # XTC alone rules nothing out: what it excludes when it fires keeps its share when it does not.
    rows = compare_path(tiny_loaded, a, tiny_loaded, Settings(**XTC), prompt_ids, path)
    assert all(r.removed_by is None and math.isfinite(r.kl) for r in rows)
    for row, raw in zip(rows, raws, strict=True):
        assert row.prob_b == pytest.approx(mixture(raw)[row.token_id].item(), abs=1e-6)
    # At q = 1 the coin always fires: a token it excludes is impossible, and XTC is named for it.
    always = compare_path(tiny_loaded, a, tiny_loaded, Settings(**{**XTC, "xtc_probability": 1.0}), prompt_ids, path)
    assert any(r.removed_by == "xtc" and math.isinf(r.kl) for r in always)


def test_the_mass_tree_gives_each_continuation_its_mixture_probability(tiny_loaded):
    settings = Settings(**XTC, mass_depth=1, mass_threshold=0.01)
    tree = mass_tree(tiny_loaded, PROMPT, settings)
    (raw,) = raw_rows(tiny_loaded, tree.prompt.token_ids, [0])
    expected = mixture(raw)
    assert len(tree.root.children) >= 2
    for child in tree.root.children:
        assert child.prob == pytest.approx(expected[child.token_id].item(), abs=1e-6)  # mixed in float32
    shown = {c.token_id for c in tree.root.children}
    above = lambda bar: set((expected >= bar).nonzero().flatten().tolist())  # noqa: E731
    assert above(0.01 + 1e-6) <= shown <= above(0.01 - 1e-6)
