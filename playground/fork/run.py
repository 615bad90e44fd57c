"""The forking analysis of one run: at each analysed position t, `samples` continuations after the run's first t
tokens and each branch token w (the chosen one, then the top alternatives by probability), each continuation
turned into an outcome, and o_t = sum_w weight(w) x hist(outcome | w) with the weights p(w | run[:t])
renormalised over the branches sampled (Bigelow et al., "Forking Paths in Neural Text Generation", ICLR 2025).

A branch's continuations are one many-sample run from prompt + run[:t] + w (`engine.stream` with prefix_ids):
decoded as one batch, and each sample is the single run with that prefix and seed, by construction.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import torch

from playground.engine import stream
from playground.engine.compare import distributions
from playground.engine.stopping import Deadline
from playground.fork.fork_math import change_points, mixture, ranked_outcomes, successive_tv, weights
from playground.fork.outcome import OutcomeRule, resolve_rule
from playground.fork.request import ForkRequest
from playground.fork.result import ForkAnalysis, ForkBranch, ForkPosition, ForkProgress
from playground.settings import Settings
from playground.trace import Sample, Trace

if TYPE_CHECKING:
    from playground.models import LoadedModel

__all__ = ["ForkProgress", "continuation_settings", "fork_analysis"]

UNFINISHED = ("cancelled", "max_time")  # a continuation's stop_reason when the analysis was cut short


def continuation_settings(trace: Trace, request: ForkRequest) -> Settings:
    """The settings every continuation samples with: the run's own, as the sample strategy (a greedy, beam,
    constrained or speculative run's continuations sample with its sampler knobs, which those strategies leave
    unused), `request.samples` of them (seeds seed, seed + 1, ...), `request.max_new_tokens` long."""
    run = Settings.from_dict(trace.settings, limits=request.limits)
    return run.replace(
        strategy="sample",
        num_samples=request.samples,
        max_new_tokens=request.max_new_tokens,
        min_new_tokens=min(run.min_new_tokens, request.max_new_tokens),
        prefix_ids=(),
        parent_run=None,
        max_time=None,
    )


def fork_analysis(
    loaded: LoadedModel, trace: Trace, request: ForkRequest, cancel: threading.Event | None = None
) -> Iterator[ForkProgress | ForkAnalysis]:
    """Analyses `trace` (a run of `loaded` on its prompt): yields a ForkProgress before each branch is sampled
    and once all are, then the ForkAnalysis.

    The continuations sample with `continuation_settings` (a greedy or beam run's with strategy "sample" and its
    sampler knobs). Setting `cancel` (another thread, the page's Stop) or running past the server's max_time
    ends it between batches or inside one; the analysis then holds the positions completed, `stopped` saying why.

    Raises:
        SettingsError: the budget (`max_fork_tokens`), before any work; a bad outcome rule or pattern.
    """
    started = time.perf_counter()
    run = trace.output.token_ids
    request.check_budget(len(run))
    rule = resolve_rule(request.rule, request.pattern, trace.prompt.text)
    settings = continuation_settings(trace, request)
    deadline = Deadline(settings.limits.max_time, cancel)
    plan = branch_plan(loaded, settings, trace, request)
    total = sum(len(branches) for _, branches in plan)
    positions: list[ForkPosition] = []
    stopped, done, new_tokens = None, 0, 0
    for index, branches in plan:
        sampled = []
        for token, prob in branches:
            yield ForkProgress(done=done, total=total, index=index)
            samples = continuations(loaded, trace, settings, [*run[:index], token], deadline)
            if deadline.passed() or any(s.stop_reason in UNFINISHED for s in samples):
                stopped = "stopped" if deadline.cancelled else "max_time"
                break
            new_tokens += sum(len(s.token_ids) - index - 1 for s in samples)  # after the prefix and w
            sampled.append((token, prob, samples))
            done += 1
        if stopped is not None:
            break  # the position being sampled is incomplete: dropped
        positions.append(position(loaded, rule, index, run[index], sampled))
    yield ForkProgress(done=done, total=total, index=positions[-1].index if positions else 0)
    yield finish(rule, positions, request, new_tokens, time.perf_counter() - started, stopped)


def branch_plan(
    loaded: LoadedModel, settings: Settings, trace: Trace, request: ForkRequest
) -> list[tuple[int, list[tuple[int, float]]]]:
    """Per analysed position t: the branches to sample, (token, p(token | run[:t])), the run's own token first,
    then the top `request.alternatives` others with probability above 0, most likely first. The probabilities
    come from one teacher-forced read of the run under `settings` (what the continuations sample from)."""
    run = trace.output.token_ids
    wanted = set(request.positions(len(run)))
    plan = []
    read = distributions(loaded, [settings], trace.prompt.token_ids, run[: max(wanted, default=-1) + 1])
    for index, (p,) in enumerate(read):  # p: (V,) the final distribution before run[index]
        if index in wanted:
            plan.append((index, top_branches(p, run[index], request.alternatives)))
    return plan


def top_branches(p: torch.Tensor, chosen: int, alternatives: int) -> list[tuple[int, float]]:
    """(token, probability) for `chosen`, then the `alternatives` most likely other tokens of `p` (V,) that have
    probability above 0."""
    values, ids = torch.topk(p, min(alternatives + 1, p.shape[0]))  # one more, in case chosen is among them
    others = [(int(i), float(v)) for v, i in zip(values.tolist(), ids.tolist(), strict=True) if i != chosen and v > 0]
    return [(chosen, float(p[chosen])), *others[:alternatives]]


def continuations(
    loaded: LoadedModel, trace: Trace, settings: Settings, prefix: list[int], deadline: Deadline
) -> list[Sample]:
    """`settings.num_samples` continuations of the run's prompt + `prefix`, one many-sample run (one batch),
    given the analysis's remaining time and its Stop."""
    remaining = max(deadline.seconds - (time.perf_counter() - deadline.start), 1e-3)
    branch = settings.replace(prefix_ids=tuple(prefix), max_time=min(remaining, settings.limits.max_time))
    last = None
    for update in stream(loaded, trace.prompt.text, branch, cancel=deadline.cancel):
        last = update
    made = last.trace
    if made.samples is not None:
        return made.samples.samples
    # One sample is an ordinary run: its output is the sample.
    probs = [step.chosen.prob for step in made.steps]
    out = made.output
    return [Sample(seed=branch.seed, token_ids=out.token_ids, probs=probs, text=out.text, stop_reason=out.stop_reason)]


def position(
    loaded: LoadedModel, rule: OutcomeRule, index: int, chosen: int, sampled: list[tuple[int, float, list[Sample]]]
) -> ForkPosition:
    """The analysed position `index`: its branches with their samples' outcomes, and o_t (its tv is set by
    `finish`)."""
    shares = weights([prob for _, prob, _ in sampled])
    texts = loaded.tokenizer.batch_decode([[token] for token, _, _ in sampled])
    branches = [
        ForkBranch(token_id=token, text=text, prob=prob, weight=weight, samples=samples,
                   outcomes=[rule.apply(sample.text) for sample in samples])
        for (token, prob, samples), text, weight in zip(sampled, texts, shares, strict=True)
    ]  # fmt: skip
    o = mixture(shares, [branch.histogram() for branch in branches])
    return ForkPosition(index=index, chosen_id=chosen, branches=branches, o=o, tv=0.0)


def finish(
    rule: OutcomeRule,
    positions: list[ForkPosition],
    request: ForkRequest,
    new_tokens: int,
    seconds: float,
    stopped: str | None,
) -> ForkAnalysis:
    """The analysis of the positions completed: each one's TV distance from the one before, the change points
    above the request's threshold, and the outcomes in a stable order."""
    tvs = successive_tv([p.o for p in positions])
    for p, tv in zip(positions, tvs, strict=True):
        p.tv = tv
    return ForkAnalysis(
        rule=rule.describe(),
        outcomes=ranked_outcomes([p.o for p in positions]),
        positions=positions,
        change_points=change_points([p.index for p in positions], tvs, request.threshold),
        request=request,
        new_tokens=new_tokens,
        seconds=seconds,
        stopped=stopped,
    )
