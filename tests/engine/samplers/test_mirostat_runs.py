"""Mirostat in the engine, on the tiny model: the stage recorded under its name with its notes, mu replayed here from
the recorded distributions and the tokens taken, the cut the reference's, a trace that survives export and import,
and the paths that carry mu on: a branch (its forced tokens, then the strategy), Sample many (rows that end
leave), the mass tree (each child from its parent's mu) and Compare (B follows A's path). Sampled first tokens
follow the cut distribution (chi-square)."""

import dataclasses
import math

import pytest
import torch

from playground.engine import generate
from playground.engine.branch import branch_point
from playground.engine.compare import staged_scores
from playground.engine.mass import mass_tree
from playground.plots import stage_figure
from playground.plots.stage_notes import note_series
from playground.settings import Limits, Settings
from playground.trace import Trace
from tests.chi_square import assert_follows
from tests.engine.samplers.test_mirostat import candidates, reference_k, reference_s, reference_v1, reference_v2
from tests.tiny import make_tiny_model, wrap_loaded

PROMPT = "the cat sat"
# The tiny model is nearly uniform (101 tokens of about 6.7 bits); temperature 0.25 spreads its surprises from
# about 4.5 to 15 bits, so a mu near 2 * 3.5 = 7 cuts some and keeps some.
TAU, ETA = 3.5, 0.3
MIROSTAT = dict(strategy="sample", chat=False, top_k=0, temperature=0.25, mirostat_tau=TAU, mirostat_eta=ETA)


def surprise(p: float) -> float:
    return -math.log2(p)


def replay(trace: Trace, before: str = "temperature") -> list[float]:
    """mu before each step and after the last, from 2 tau, each step moving it by the chosen token's surprise as
    the trace recorded it after the stage before mirostat."""
    mu = [2 * TAU]
    for step in trace.steps:
        chosen = next(c for c in step.candidates if c.id == step.chosen.id)
        mu.append(mu[-1] - ETA * (surprise(chosen.probs[before]) - TAU))
    return mu


def warmed_logits(loaded, settings: Settings, prompt_ids: list[int], tokens: list[int]) -> list[list[float]]:
    """The logits mirostat receives before each of `tokens` (the stages before it, mirostat off), read by
    teacher forcing."""
    plain = settings.replace(mirostat=0)
    return [staged[-1][1][0].double().tolist() for (staged,) in staged_scores(loaded, [plain], prompt_ids, tokens)]


@pytest.mark.parametrize("version", [1, 2])
def test_a_run_records_the_stage_and_notes_and_mu_replays_from_the_trace(tiny_loaded, version):
    settings = Settings(**MIROSTAT, mirostat=version, seed=4, max_new_tokens=10, top_n=100)
    trace = generate(tiny_loaded, PROMPT, settings)
    assert list(trace.steps[0].candidates[0].probs) == ["raw", "temperature", "mirostat", "final"]
    mu = replay(trace)
    logits = warmed_logits(tiny_loaded, settings, trace.prompt.token_ids, trace.output.token_ids)
    for index, step in enumerate(trace.steps):
        note = step.notes["mirostat"]
        assert note["mu"] == pytest.approx(mu[index], abs=1e-4) and note["mu_after"] == pytest.approx(mu[index + 1])
        chosen = next(c for c in step.candidates if c.id == step.chosen.id)
        assert note["surprise"] == pytest.approx(surprise(chosen.probs["temperature"]))
        if version == 2:
            expected = reference_v2(logits[index], note["mu"])
        else:
            assert note["s"] == pytest.approx(reference_s(logits[index]), rel=1e-6)
            assert note["k"] == max(int(reference_k(note["s"], note["mu"], len(logits[index]))), 1)
            expected = reference_v1(logits[index], note["k"])
        assert note["kept"] == len(expected)
        recorded = {c.id for c in step.candidates}  # 100 of the 101 tokens
        assert {c.id for c in step.candidates if c.removed_by is None} == expected & recorded
        assert step.chosen.id in expected
    assert any(s.notes["mirostat"]["kept"] < 101 for s in trace.steps), "the cut removes tokens"
    assert Trace.from_dict(trace.to_dict()).to_dict() == trace.to_dict()


def test_the_views_say_mu_and_draw_it_over_the_run(tiny_loaded):
    trace = generate(tiny_loaded, PROMPT, Settings(**MIROSTAT, mirostat=2, seed=1, max_new_tokens=6, min_new_tokens=6))
    note = trace.steps[0].notes["mirostat"]
    assert f"mirostat 2: mu 7.00 bits, kept {note['kept']} token" in stage_figure(trace, 0).layout.title.subtitle.text
    mu, surprises = note_series(trace)
    assert mu.values == [s.notes["mirostat"]["mu"] for s in trace.steps] and mu.steps == list(range(1, 7))
    assert surprises.values == [s.notes["mirostat"]["surprise"] for s in trace.steps]


def test_a_branch_replays_mu_along_its_forced_tokens_and_carries_on(tiny_loaded):
    settings = Settings(**MIROSTAT, mirostat=2, seed=3, max_new_tokens=8, top_n=100)
    parent = generate(tiny_loaded, PROMPT, settings)
    step = parent.steps[3]
    eos = tiny_loaded.tokenizer.eos_token_id
    cut = next(c for c in step.candidates if c.removed_by == "mirostat" and c.id != eos)  # ruled out there
    child = generate(tiny_loaded, PROMPT, settings.replace(**branch_point(parent, 4, cut.id)))
    notes = [s.notes["mirostat"] for s in child.steps]
    for mine, theirs in zip(notes[:3], parent.steps[:3], strict=True):  # the parent's tokens: the parent's mu
        assert mine == pytest.approx(theirs.notes["mirostat"], abs=1e-5)
    forced = notes[3]
    assert forced["mu"] == pytest.approx(parent.steps[3].notes["mirostat"]["mu"], abs=1e-5)
    assert forced["surprise"] == pytest.approx(surprise(cut.probs["temperature"]), abs=1e-4)  # finite though cut
    assert forced["mu_after"] == pytest.approx(forced["mu"] - ETA * (forced["surprise"] - TAU))
    assert notes[4]["mu"] == pytest.approx(forced["mu_after"])  # the strategy carries on from the forced tokens
    assert Trace.from_dict(child.to_dict()).steps[3].notes == child.steps[3].notes


@pytest.fixture(scope="module")
def ending(tiny_tokenizer):
    """EOS boosted: some samples end early, so rows leave the batch mid-run."""
    return wrap_loaded(make_tiny_model(tiny_tokenizer, seed=2, eos_boost=6.0), tiny_tokenizer)


@pytest.mark.parametrize("version", [1, 2])
def test_each_of_many_samples_is_the_single_run_of_its_seed(ending, version):
    settings = Settings(**{**MIROSTAT, "temperature": 0.5}, mirostat=version, num_samples=10, seed=7, max_new_tokens=12)
    trace = generate(ending, PROMPT, settings)
    lengths = [len(s.token_ids) for s in trace.samples.samples]
    assert min(lengths) < max(lengths), "rows leave the batch, and the others keep their own mu"
    for sample in trace.samples.samples:
        alone = generate(ending, PROMPT, settings.replace(num_samples=1, seed=sample.seed))
        assert sample.token_ids == alone.output.token_ids
    first = generate(ending, PROMPT, settings.replace(num_samples=1))
    assert len(trace.steps) == len(first.steps)
    for mine, alone in zip(trace.steps, first.steps, strict=True):  # the first sample's notes, as it runs alone
        assert mine.notes["mirostat"] == pytest.approx(alone.notes["mirostat"], abs=1e-5)  # a batch rounds apart


def cut_probs(logits: list[float], mu: float) -> dict[int, float]:
    """The v2 distribution: the reference's cut at `mu`, renormalised."""
    kept = reference_v2(logits, mu)
    mass = {i: p for i, p in candidates(logits) if i in kept}
    return {i: p / math.fsum(mass.values()) for i, p in mass.items()}


def test_the_mass_tree_gives_each_child_its_parents_mu_then_its_token(tiny_loaded):
    settings = Settings(**MIROSTAT, mirostat=2, mass_depth=2, mass_threshold=0.002)
    tree = mass_tree(tiny_loaded, PROMPT, settings)
    prompt_ids = tree.prompt.token_ids
    (first,) = warmed_logits(tiny_loaded, settings, prompt_ids, [0])
    top = cut_probs(first, 2 * TAU)
    assert {c.token_id for c in tree.root.children} == {t for t, p in top.items() if p >= settings.mass_threshold}
    parents = [c for c in tree.root.children if c.children]
    assert len(parents) >= 2
    for parent in parents:
        assert parent.prob == pytest.approx(top[parent.token_id], abs=1e-6)
        mu = 2 * TAU - ETA * (surprise(dict(candidates(first))[parent.token_id]) - TAU)
        second = warmed_logits(tiny_loaded, settings, prompt_ids, [parent.token_id, 0])[1]
        expected = cut_probs(second, mu)
        for child in parent.children:
            assert child.prob == pytest.approx(expected[child.token_id], abs=1e-6)


def test_compare_replays_bs_mu_along_as_path(tiny_loaded):
    a = Settings(chat=False, strategy="sample", seed=2, max_new_tokens=8)
    b = Settings(**MIROSTAT, mirostat=2)
    path = generate(tiny_loaded, PROMPT, a).output.token_ids
    prompt_ids = tiny_loaded.tokenizer(PROMPT)["input_ids"]
    logits = warmed_logits(tiny_loaded, b, prompt_ids, path)
    mu = 2 * TAU
    for i, (staged,) in enumerate(staged_scores(tiny_loaded, [b], prompt_ids, path)):
        assert [name for name, _ in staged] == ["raw", "temperature", "mirostat"]
        assert set(torch.isfinite(staged[-1][1][0]).nonzero().flatten().tolist()) == reference_v2(logits[i], mu)
        mu -= ETA * (surprise(dict(candidates(logits[i]))[path[i]]) - TAU)


def test_first_tokens_follow_the_cut_distribution(tiny_loaded):
    count = 2000
    limits = dataclasses.replace(Limits(), max_samples=count)
    settings = Settings(**MIROSTAT, mirostat=2, num_samples=count, seed=11, max_new_tokens=1, limits=limits)
    trace = generate(tiny_loaded, PROMPT, settings)
    counts = torch.zeros(tiny_loaded.info.vocab_size, dtype=torch.float64)
    for sample in trace.samples.samples:
        counts[sample.token_ids[0]] += 1
    (logits,) = warmed_logits(tiny_loaded, settings, trace.prompt.token_ids, [0])
    expected = cut_probs(logits, 2 * TAU)
    p = torch.zeros_like(counts)
    p[list(expected)] = torch.tensor(list(expected.values()), dtype=torch.float64)
    assert 2 < len(expected) < 0.8 * len(p), "mirostat removes a part of the tokens, not all"
    assert_follows(counts, p)  # a token mirostat removed is never drawn
