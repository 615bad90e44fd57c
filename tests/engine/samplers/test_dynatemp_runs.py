"""Dynamic temperature in a run: the T each step recorded is the formula's on that step's own distribution (every
token recorded, so the test computes H over the whole vocabulary), the step samples from the raw logits divided by
it, the notes survive export and import and a branch, and sampled first tokens follow that distribution."""

import dataclasses
import math

import pytest
import torch

from playground.engine import generate
from playground.engine.branch import branch_point
from playground.plots.distributions import overview_figure, stage_figure
from playground.settings import Limits, Settings
from playground.trace import Trace
from tests.chi_square import assert_follows
from tests.engine.samplers.test_dynatemp import probs_at, temperature_by_formula
from tests.engine.samplers.test_runs import raw_logits

PROMPT = "the cat sat"
# The tiny model's logits lie close together: a low centre lets its T (0.01 to 0.29) change what is drawn.
DYNATEMP = dict(strategy="sample", chat=False, temperature=0.15, dynatemp_range=0.14, dynatemp_exponent=0.6, top_k=0)
WHOLE = dataclasses.replace(Limits(), max_top_n=128)  # the tiny vocabulary's 101 tokens all recorded


def logits_of(step, stage: str) -> list[float]:
    """The step's distribution after `stage` as log-probabilities, over the whole vocabulary (every token is a
    candidate), indexed by token id: a shift of the logits, which the formula and softmax do not see."""
    out = [-math.inf] * len(step.candidates)
    for c in step.candidates:
        out[c.id] = math.log(c.probs[stage]) if c.probs[stage] > 0 else -math.inf
    return out


def assert_step_follows_the_formula(step, before: str, settings: Settings) -> None:
    logits = logits_of(step, before)
    t = temperature_by_formula(logits, settings.temperature, settings.dynatemp_range, settings.dynatemp_exponent)
    note = step.notes["dynatemp"]
    assert note["N"] == sum(x != -math.inf for x in logits)
    assert note["T"] == pytest.approx(t, rel=1e-4)
    expected = probs_at(logits, note["T"])
    for c in step.candidates:
        assert c.probs["dynatemp"] == pytest.approx(expected[c.id], rel=1e-3, abs=1e-7)


def test_each_step_records_the_formulas_t_and_samples_at_it(tiny_loaded):
    settings = Settings(**DYNATEMP, max_new_tokens=8, seed=5, top_n=128, limits=WHOLE)
    trace = generate(tiny_loaded, PROMPT, settings)
    assert len(trace.steps) >= 4
    for step in trace.steps:
        assert list(step.candidates[0].probs) == ["raw", "dynatemp", "final"]  # no plain temperature besides
        assert_step_follows_the_formula(step, "raw", settings)
    ts = [s.notes["dynatemp"]["T"] for s in trace.steps]
    assert len(set(ts)) == len(ts) and all(0.01 <= t <= 0.29 for t in ts)  # a T of its own at every step
    assert Trace.from_dict(trace.to_dict()).to_dict() == trace.to_dict()


def test_after_a_filter_n_counts_the_tokens_it_kept(tiny_loaded):
    settings = Settings(**DYNATEMP | dict(top_k=12), temperature_last=True, max_new_tokens=3, seed=1, top_n=128,
                        limits=WHOLE)  # fmt: skip
    trace = generate(tiny_loaded, PROMPT, settings)
    for step in trace.steps:
        assert list(step.candidates[0].probs) == ["raw", "top_k", "dynatemp", "final"]
        assert step.notes["dynatemp"]["N"] == 12
        assert_step_follows_the_formula(step, "top_k", settings)


def test_a_branch_notes_its_forced_steps_and_goes_on_as_its_parent_would(tiny_loaded):
    settings = Settings(**DYNATEMP, max_new_tokens=6, seed=3, top_n=128, limits=WHOLE)
    parent = generate(tiny_loaded, PROMPT, settings)
    step = parent.steps[2]
    token = next(c.id for c in step.candidates if c.id != step.chosen.id)
    child = generate(tiny_loaded, PROMPT, settings.replace(**branch_point(parent, 3, token)))
    assert child.output.token_ids[:3] == [*parent.output.token_ids[:2], token]
    for mine, theirs in zip(child.steps[:3], parent.steps[:3], strict=True):  # the forced steps: what it saw there
        assert mine.notes["dynatemp"]["T"] == pytest.approx(theirs.notes["dynatemp"]["T"], rel=1e-5)
    for step in child.steps:
        assert_step_follows_the_formula(step, "raw", settings)


def test_first_tokens_follow_the_final_distribution(tiny_loaded):
    count = 2000
    limits = dataclasses.replace(Limits(), max_samples=count)
    settings = Settings(**DYNATEMP, num_samples=count, seed=11, max_new_tokens=1, limits=limits)
    trace = generate(tiny_loaded, PROMPT, settings)
    counts = torch.zeros(tiny_loaded.info.vocab_size, dtype=torch.float64)
    for sample in trace.samples.samples:
        counts[sample.token_ids[0]] += 1
    raw = raw_logits(tiny_loaded, settings, trace.prompt.token_ids)
    t = temperature_by_formula(raw, settings.temperature, settings.dynatemp_range, settings.dynatemp_exponent)
    assert t == pytest.approx(trace.steps[0].notes["dynatemp"]["T"], rel=1e-5)
    p = torch.tensor(probs_at(raw, t), dtype=torch.float64)
    plain = torch.tensor(probs_at(raw, settings.temperature), dtype=torch.float64)
    assert_follows(counts, p)
    with pytest.raises(AssertionError, match="chi-square"):  # T = 0.29 here: the centre's 0.15 is told apart
        assert_follows(counts, plain)


def test_the_step_view_says_t_and_the_overview_draws_it(tiny_loaded):
    settings = Settings(**DYNATEMP, max_new_tokens=8, seed=5)
    trace = generate(tiny_loaded, PROMPT, settings)
    note = trace.steps[1].notes["dynatemp"]
    sentence = f"dynamic temperature: T = {note['T']:.2f} (entropy {note['H']:.1f} of at most {math.log(101):.1f} nats)"
    assert sentence in stage_figure(trace, 1).layout.title.subtitle.text
    fig = overview_figure(trace)
    mean = sum(s.notes["dynatemp"]["T"] for s in trace.steps) / len(trace.steps)
    low, high = max(0.0, settings.temperature - settings.dynatemp_range), settings.temperature + settings.dynatemp_range
    titles = [f"Dynamic temperature: T used · mean {mean:.2f}", f"lowest T {low:g}", f"highest T {high:g}"]
    assert [a.text for a in fig.layout.annotations][2:] == titles
    line = fig.data[2]
    assert list(line.x) == [s.index + 1 for s in trace.steps]
    assert list(line.y) == [s.notes["dynatemp"]["T"] for s in trace.steps]
