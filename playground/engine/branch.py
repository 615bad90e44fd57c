"""Branching: a run that starts with forced tokens (another run's tokens up to a step, then a token chosen
there) and lets its strategy decide the rest.

The forced tokens are recorded as steps like any other, their distributions computed under this run's settings
by teacher forcing (the model reads the forced tokens and gives its next-token distribution at every one), so
the step views show how unlikely the chosen token was. The strategy then runs from prompt + forced tokens
exactly as it would from a longer prompt: max_new_tokens and min_new_tokens count the tokens after them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import torch

from playground.engine.context import RunContext, Update, make_trace
from playground.engine.forward import teacher_forced
from playground.engine.many import finished_samples
from playground.engine.processors import after_choice, apply_stages, build_stages, stage_notes, start_stages
from playground.engine.recording import summarize_rows, to_step
from playground.settings import SettingsError
from playground.trace import Branch, Samples, Step, Trace


def branched(ctx: RunContext, strategy: Callable[[RunContext], Iterator[Update]]) -> Iterator[Update]:
    """Yields an Update per forced token, then the strategy's own, with their steps numbered after the forced
    ones; the final trace holds every token, forced ones first, and where the branch was taken."""
    forced = []
    prompt_len = ctx.input_ids.shape[1] - len(ctx.prefix)
    # min_new_tokens counts from the prompt here, as it did for the run the tokens came from.
    stages = build_stages(ctx.settings, prompt_len, ctx.eos_ids, ctx.device, ctx.loaded.tokenizer)
    for step in forced_steps(ctx, stages):
        forced.append(step)
        yield Update(text=ctx.decode(ctx.prefix[: len(forced)]), step=step)
    text, hit_stop = ctx.visible_text([])
    ended = ctx.prefix[-1] in ctx.eos_ids
    if ended or hit_stop:  # the chosen token ends the text: nothing is left to decide
        trace = make_trace(ctx, [], "eos" if ended else "stop_string", [], 0.0, 0.0)
        if ctx.settings.num_samples > 1:  # every sample is the forced text alone, as each seed's run is
            trace.samples = finished_samples(ctx, trace.output.stop_reason)
        yield Update(text=text, trace=graft(ctx, trace, forced))
        return
    ctx.earlier_stages = stages  # the strategy's chain carries on from the forced tokens' (`RunContext.stages`)
    for update in strategy(ctx):
        if update.trace is not None:
            yield Update(text=update.text, trace=graft(ctx, update.trace, forced))
        elif update.step is not None:
            yield Update(text=update.text, step=dataclasses.replace(update.step, index=update.step.index + len(forced)))
        else:
            yield update


def forced_steps(ctx: RunContext, stages: list) -> Iterator[Step]:
    """One Step per forced token: the distribution at its position under this run's `stages` (teacher forcing:
    prompt and earlier forced tokens as context), the forced token as the choice. The last is the branch
    point ("forced"); the ones before it are the parent's tokens ("inherited").

    Nothing is drawn here, so a random stage records what the step samples from on average (`start_stages` with
    no generators), and a stage that remembers takes each forced token as the one chosen."""
    prefix = ctx.prefix
    prompt_len = ctx.input_ids.shape[1] - len(prefix)
    start_stages(stages, None)
    read = teacher_forced(ctx.loaded.model, ctx.input_ids[:, :prompt_len], prefix)
    for index, (token, logits) in enumerate(zip(prefix, read, strict=True)):
        context = ctx.input_ids[:, : prompt_len + index]  # (1, T + index): what the penalties look at
        staged = apply_stages(stages, context, logits)
        chosen = torch.tensor([token], device=ctx.device)
        summary = summarize_rows(staged, logits, ctx.settings.top_n, must_include=chosen)
        after_choice(stages, chosen)
        step = to_step(index, summary, 0, token, ctx.texts, ctx.settings.top_n)
        step.notes = stage_notes(stages, 0)
        step.origin = "forced" if index == len(prefix) - 1 else "inherited"
        yield step


def graft(ctx: RunContext, trace: Trace, forced: list[Step]) -> Trace:
    """The strategy's trace of the tokens after the forced ones, made whole: forced tokens and steps first,
    every later step, beam tree node and speculative round numbered after them, and the branch recorded."""
    offset = len(forced)
    trace.output.token_ids = ctx.prefix + trace.output.token_ids
    trace.steps = forced + [dataclasses.replace(s, index=s.index + offset) for s in trace.steps]
    if trace.beams is not None:
        for node in trace.beams.nodes:
            node.step += offset
        for sequence in trace.beams.sequences:
            sequence.token_ids = ctx.prefix + sequence.token_ids
    if trace.speculative is not None:
        for spec_round in trace.speculative.rounds:
            spec_round.start += offset
    if trace.samples is not None:
        graft_samples(ctx, trace.samples, forced)
    last = forced[-1]
    probs = next(c.probs for c in last.candidates if c.id == last.chosen.id)
    trace.branch = Branch(
        parent=ctx.settings.parent_run,
        at=offset,
        token=dataclasses.replace(last.chosen),
        probs=dict(probs),
    )
    return trace


def graft_samples(ctx: RunContext, samples: Samples, forced: list[Step]) -> None:
    """Each sample made whole as its seed's single run records its output: the forced tokens first, with their
    probabilities from the forced steps (their texts already start with them)."""
    probs = [step.chosen.prob for step in forced]
    for sample in samples.samples:
        sample.token_ids = ctx.prefix + sample.token_ids
        sample.probs = probs + sample.probs
    missing = sorted({token for token in ctx.prefix if str(token) not in samples.texts})
    samples.texts.update({str(token): text for token, text in zip(missing, ctx.texts(missing), strict=True)})


def branch_point(parent: Trace, at: Any, token: Any) -> dict[str, Any]:
    """The settings that branch `parent` at its 1-based step `at` with `token` (an id) taken there:
    prefix_ids (the parent's tokens before `at`, then `token`) and parent_run. SettingsError names a bad value.
    `at` may be one past the parent's last step: the branch then continues it with `token`."""
    count = len(parent.output.token_ids)
    if isinstance(at, bool) or not isinstance(at, int) or not 1 <= at <= count + 1:
        raise SettingsError("at", f"the step to branch at must be 1 to {count + 1} for this run, got {at!r:.40}")
    if isinstance(token, bool) or not isinstance(token, int) or token < 0:
        raise SettingsError("token", f"the token to take must be a token id, got {token!r:.40}")
    return {"prefix_ids": (*parent.output.token_ids[: at - 1], token), "parent_run": parent.run_id}
