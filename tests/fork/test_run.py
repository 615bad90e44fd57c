"""The forking analysis on a tiny model built here: each branch's outcomes follow the exact outcome distribution
found by enumerating every continuation (chi-square), each sample is the many-from-prefix run with that prefix
and seed, o_t does not move where the model is deterministic, and Stop, the time limit, the budget and bad rules
are each handled by name."""

import dataclasses
import threading

import pytest
import torch

from playground.engine import generate
from playground.engine.compare import distributions
from playground.fork.fork_math import mixture
from playground.fork.outcome import OutcomeRule
from playground.fork.request import ForkRequest
from playground.fork.result import ForkAnalysis, ForkProgress
from playground.fork.run import continuation_settings, fork_analysis
from playground.settings import Limits, Settings, SettingsError
from tests.chi_square import assert_follows
from tests.tiny import make_tiny_model, wrap_loaded

PROMPT = "the cat"


@pytest.fixture(scope="module")
def tiny(tiny_tokenizer):
    return wrap_loaded(make_tiny_model(tiny_tokenizer, seed=3, eos_boost=5.0), tiny_tokenizer)


def analyse(loaded, trace, request, cancel=None):
    """The analysis's last item and its progress reports."""
    items = list(fork_analysis(loaded, trace, request, cancel))
    assert isinstance(items[-1], ForkAnalysis) and all(isinstance(i, ForkProgress) for i in items[:-1])
    return items[-1], items[:-1]


def exact_outcomes(loaded, settings, prompt_ids, prefix, depth, rule):
    """The outcome distribution of `depth`-token continuations of prompt + prefix, by enumerating every path with
    probability above 0 (a path ends early at end of sequence): independent of the analysis's sampling."""
    eos = loaded.tokenizer.eos_token_id
    outcomes: dict[str, float] = {}

    def walk(path, mass):
        ended = bool(path) and path[-1] == eos
        if ended or len(path) == depth:
            text = loaded.tokenizer.decode(prefix + path, skip_special_tokens=True)
            name = rule.apply(text) or "(none)"
            outcomes[name] = outcomes.get(name, 0.0) + mass
            return
        *_, (p,) = distributions(loaded, [settings], prompt_ids, prefix + path + [0])  # after prefix + path
        for token in torch.nonzero(p > 0)[:, 0].tolist():
            walk([*path, token], mass * float(p[token]))

    walk([], 1.0)
    return outcomes


def test_each_branchs_outcomes_follow_the_exact_distribution(tiny):
    run = generate(tiny, PROMPT, Settings(chat=False, strategy="sample", top_k=3, seed=4, max_new_tokens=3))
    limits = dataclasses.replace(Limits(), max_samples=400)
    request = ForkRequest(samples=400, alternatives=2, max_positions=2, max_new_tokens=2, rule="text", limits=limits)
    analysis, progress = analyse(tiny, run, request)
    settings = continuation_settings(run, request)
    tokens, prompt_ids = run.output.token_ids, run.prompt.token_ids
    assert [p.index for p in analysis.positions] == [0, 1][: len(tokens)] and analysis.stopped is None
    assert progress[-1].done == progress[-1].total == sum(len(p.branches) for p in analysis.positions)
    for position in analysis.positions:
        t = position.index
        (p,) = list(distributions(tiny, [settings], prompt_ids, tokens[: t + 1]))[t]  # before run[t]
        assert next(b.token_id for b in position.branches) == tokens[t]
        assert [b.prob for b in position.branches] == pytest.approx([float(p[b.token_id]) for b in position.branches])
        for branch in position.branches:
            exact = exact_outcomes(tiny, settings, prompt_ids, [*tokens[:t], branch.token_id], 2, OutcomeRule("text"))
            names = sorted(exact.keys() | set(branch.histogram()))
            counts = torch.tensor([branch.histogram().get(n, 0.0) * len(branch.samples) for n in names])
            assert_follows(counts.round(), torch.tensor([exact.get(n, 0.0) for n in names]))
        assert position.o == pytest.approx(mixture([b.weight for b in position.branches],
                                                   [b.histogram() for b in position.branches]))  # fmt: skip


def test_each_sample_is_the_many_from_prefix_run_with_that_prefix_and_seed(tiny):
    run = generate(tiny, PROMPT, Settings(chat=False, strategy="greedy", max_new_tokens=4))
    request = ForkRequest(samples=4, alternatives=1, stride=2, max_positions=2, max_new_tokens=3, rule="first_word")
    analysis, _ = analyse(tiny, run, request)
    settings = continuation_settings(run, request)
    assert settings.strategy == "sample" and settings.top_k == Settings().top_k  # the greedy run's sampler knobs
    for position in analysis.positions:
        for branch in position.branches:
            prefix = (*tuple(run.output.token_ids[: position.index]), branch.token_id)
            alone = generate(tiny, PROMPT, settings.replace(prefix_ids=prefix))
            assert [(s.seed, s.token_ids, s.text) for s in branch.samples] == [
                (s.seed, s.token_ids, s.text) for s in alone.samples.samples
            ]
            assert branch.outcomes == [OutcomeRule("first_word").apply(s.text) for s in alone.samples.samples]
    assert analysis.new_tokens == sum(
        len(s.token_ids) - p.index - 1 for p in analysis.positions for b in p.branches for s in b.samples
    )


def test_one_sample_per_branch_is_the_single_run(tiny):
    run = generate(tiny, PROMPT, Settings(chat=False, strategy="greedy", max_new_tokens=3))
    request = ForkRequest(samples=1, alternatives=1, max_positions=1, max_new_tokens=3)
    analysis, _ = analyse(tiny, run, request)
    for branch in analysis.positions[0].branches:
        settings = continuation_settings(run, request).replace(prefix_ids=(branch.token_id,))
        alone = generate(tiny, PROMPT, settings)
        (sample,) = branch.samples
        assert sample.seed == settings.seed and sample.token_ids == alone.output.token_ids
        assert sample.text == alone.output.text
        assert sample.probs == [step.chosen.prob for step in alone.steps]


def test_o_t_does_not_move_where_the_model_is_deterministic(tiny):
    # top_k 1: every continuation is the rest of the run (it ends at end of sequence, within max_new_tokens of
    # any position), and no alternative has probability above 0.
    run = generate(tiny, PROMPT, Settings(chat=False, strategy="sample", top_k=1, max_new_tokens=10))
    assert run.output.stop_reason == "eos" and len(run.output.token_ids) <= 5
    request = ForkRequest(samples=3, max_positions=5, max_new_tokens=4, rule="text", threshold=0.0)
    analysis, _ = analyse(tiny, run, request)
    assert len(analysis.positions) == len(run.output.token_ids) > 1
    assert all(len(p.branches) == 1 and p.branches[0].weight == 1.0 for p in analysis.positions)
    assert all(p.tv == 0.0 for p in analysis.positions) and analysis.change_points == []
    assert len(analysis.outcomes) == 1


def test_stop_keeps_the_positions_completed(tiny):
    run = generate(tiny, PROMPT, Settings(chat=False, strategy="greedy", max_new_tokens=6, min_new_tokens=6))
    request = ForkRequest(samples=2, alternatives=1, max_positions=3, max_new_tokens=4)
    cancel = threading.Event()
    items = []
    for item in fork_analysis(tiny, run, request, cancel):
        items.append(item)
        if isinstance(item, ForkProgress) and item.done == 4:
            cancel.set()  # as the page's Stop does, from another thread
    analysis = items[-1]
    assert analysis.stopped == "stopped"
    assert [p.index for p in analysis.positions] == [0, 1]  # the third position's branch was cut: dropped
    full, _ = analyse(tiny, run, request)
    assert full.stopped is None and len(full.positions) == 3
    assert [p.o for p in analysis.positions] == [p.o for p in full.positions[:2]]


def test_the_time_limit_stops_it_with_max_time(tiny):
    run = generate(tiny, PROMPT, Settings(chat=False, strategy="greedy", max_new_tokens=4))
    request = ForkRequest(samples=2, max_new_tokens=4, limits=dataclasses.replace(Limits(), max_time=1e-9))
    analysis, _ = analyse(tiny, run, request)
    assert analysis.stopped == "max_time" and analysis.positions == []


@pytest.mark.parametrize(
    ("knobs", "field"),
    [
        (dict(limits=dataclasses.replace(Limits(), max_fork_tokens=100)), "max_fork_tokens"),
        (dict(rule="regex", pattern="(a"), "outcome_pattern"),
        (dict(samples=1000), "samples"),
    ],
)
def test_bad_requests_are_refused_by_name_before_any_work(tiny, knobs, field):
    run = generate(tiny, PROMPT, Settings(chat=False, strategy="greedy", max_new_tokens=4))
    with pytest.raises(SettingsError) as refused:
        next(fork_analysis(tiny, run, ForkRequest(**knobs)))
    assert refused.value.field == field
