"""Speculative decoding: a cheap draft proposes tokens, the target checks them all in one forward pass.

Draft sources: a model sharing the target's tokenizer (by default the target's own weights at another
precision), or prompt lookup (copying what followed an earlier occurrence of the latest n-gram). Greedy rounds
keep draft tokens while they are the target's argmax; sampling rounds use the speculative sampling rule
(`speculative_math`), so the output is distributed as the target's own sampling. The same logits processors
shape p and q. Both KV caches are rolled back to the accepted prefix after every round.

Cache bookkeeping: the target's cache holds all of the text but its last token; a round feeds that token and
the proposals x_1..x_g and reads g + 1 distributions, then rolls back to the text plus the accepted tokens.
A model draft keeps the tokens of the text it has not yet seen (`drafts.py`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Generator, Iterator

import torch

from playground.engine.context import RunContext, Update, make_trace
from playground.engine.forward import forward_tokens, new_cache, rollback
from playground.engine.processors import apply_stages_rows
from playground.engine.recording import RowSummary, summarize_rows, to_step
from playground.engine.speculative import math as sm
from playground.engine.speculative.drafts import ModelDraft, PromptLookupDraft
from playground.settings import PROMPT_LOOKUP, Settings, SettingsError
from playground.trace import (
    DraftInfo,
    Emitted,
    Proposal,
    Speculative,
    SpeculativeRound,
    Step,
    expected_tokens,
    round_verdicts,
)


def make_draft(ctx: RunContext, stages, generator) -> PromptLookupDraft | ModelDraft:
    """The run's draft: prompt lookup, or the draft model the caller loaded (`drafts.load_draft`).

    Raises:
        SettingsError: the draft model does not share the target's tokenizer.
        ValueError: a model draft is asked for but none was handed over (a caller's mistake).
    """
    settings, target, draft = ctx.settings, ctx.loaded, ctx.draft
    if settings.draft_model == PROMPT_LOOKUP:
        vocab = target.model.config.vocab_size
        return PromptLookupDraft(settings.prompt_lookup_ngram, vocab, ctx.device, len(ctx.prompt.token_ids), ctx.typed)
    if draft is None:
        raise ValueError("speculative decoding with a model draft needs the draft model: see load_draft")
    if draft.tokenizer.get_vocab() != target.tokenizer.get_vocab():
        raise SettingsError("draft_model", f"draft_model {draft.info.id!r} does not share the target's tokenizer")
    info = DraftInfo(source="model", id=draft.info.id, precision=draft.info.precision)
    return ModelDraft(draft, info, stages, ctx.context_ids, settings, generator, ctx.device)


def speculative_decode(ctx: RunContext) -> Iterator[Update]:
    """Runs speculative decoding, yielding an Update per emitted token, then the trace."""
    stages = ctx.stages()
    generator = torch.Generator(device=ctx.device).manual_seed(ctx.settings.seed) if ctx.settings.samples else None
    drafter = make_draft(ctx, stages, generator)
    draft = drafter.loaded
    # A draft that is another loaded model serves this run alone while it lasts, like the target.
    with draft.lock if draft is not None and draft is not ctx.loaded else contextlib.nullcontext():
        yield from _decode(ctx, drafter, stages, generator)


def _decode(ctx: RunContext, drafter, stages, generator) -> Iterator[Update]:
    settings, target = ctx.settings, ctx.loaded.model
    started = time.perf_counter()
    cache = new_cache(target)
    prompt = ctx.context_ids  # a branch's forced tokens are text the model has read, like the prompt
    if len(prompt) > 1:
        forward_tokens(target, prompt[:-1], cache)  # the target's cache holds all the text but its last token
    prefill_s = time.perf_counter() - started

    started = time.perf_counter()
    text, generated, steps, rounds = list(prompt), [], [], []
    gamma, target_calls, draft_s, verify_s = settings.num_draft_tokens, 0, 0.0, 0.0
    stop_reason = "max_new_tokens"
    while len(generated) < settings.max_new_tokens:
        tick = time.perf_counter()
        # The round also emits one token of the target's own, so it proposes at most one fewer than remain.
        proposed, q = drafter.propose(text, min(gamma, settings.max_new_tokens - len(generated) - 1))
        draft_s += time.perf_counter() - tick

        tick = time.perf_counter()
        logits = forward_tokens(target, [text[-1], *proposed], cache)  # (g + 1, V)
        target_calls += 1
        # Row j follows the text and the first j proposals.
        staged = apply_stages_rows(stages, [text + proposed[:j] for j in range(len(proposed) + 1)], logits)
        p = torch.softmax(staged[-1][1], dim=-1)  # (g + 1, V)
        q = q if proposed else p.new_zeros((0, p.shape[-1]))  # (g, V)
        if settings.samples:
            verdict = sm.verify_sampling(proposed, p, q, generator)
        else:
            verdict = sm.verify_greedy(proposed, staged[-1][1])
        verify_s += time.perf_counter() - tick

        emitted = [*proposed[: verdict.accepted], verdict.token]
        rollback(cache, len(text) + verdict.accepted)  # keep the text and the accepted tokens
        text = [*text, *emitted]
        drafter.keep(text)
        summary = summarize_rows(
            [(name, scores[: len(emitted)]) for name, scores in staged],
            logits[: len(emitted)],
            settings.top_n,
            must_include=torch.tensor(emitted, device=logits.device),
            also=round_figures(proposed, p, q, verdict),  # read with the round's record
        )
        start = len(generated)
        ended = yield from emit(ctx, emitted, summary, generated, steps)
        tokens = len(generated) - start
        rounds.append(record_round(ctx, start, proposed, *summary.also, verdict, tokens, drafter.found))
        gamma = drafter.next_gamma(gamma, verdict.accepted, len(proposed))
        if stopped := stop_after_round(ctx, ended, generated):
            stop_reason = stopped
            break
    decode_s = time.perf_counter() - started

    trace = make_trace(ctx, generated, stop_reason, steps, prefill_s, decode_s)
    trace.speculative = totals(settings, drafter, rounds, target_calls, draft_s, verify_s)
    yield Update(text=trace.output.text, trace=trace)


def emit(
    ctx: RunContext, emitted: list[int], summary: RowSummary, generated: list[int], steps: list[Step]
) -> Generator[Update, None, str | None]:
    """Appends a round's tokens one by one, yielding an Update for each; returns the stop reason ("eos" or
    "stop_string") if one of them ends the run, else None (the round's later tokens are then not emitted)."""
    for j, token in enumerate(emitted):
        step = to_step(len(generated), summary, j, token, ctx.texts, ctx.settings.top_n)
        steps.append(step)
        generated.append(token)
        text, hit_stop = ctx.visible_text(generated)
        yield Update(text=text, step=step)
        if token in ctx.eos_ids:
            return "eos"
        if hit_stop:
            return "stop_string"
    return None


def stop_after_round(ctx: RunContext, ended: str | None, generated: list[int]) -> str | None:
    """Why the run ends after a round: a token of it ended the run (`emit`'s answer), or time ran out (Stop, or
    the time limit) before max_new_tokens; None to go on."""
    if ended:
        return ended
    if ctx.deadline.passed() and len(generated) < ctx.settings.max_new_tokens:
        return ctx.deadline.reason
    return None


def round_figures(
    proposed: list[int], p: torch.Tensor, q: torch.Tensor, verdict: sm.Verdict
) -> tuple[torch.Tensor, ...]:
    """What a round's record reads from the device: alpha (0-dim), p_j(x_j) and q_j(x_j) ((g,) each), and the
    target's probability of its own token (0-dim).

    Args:
        p: (g + 1, V) target probabilities; q: (g, V) draft probabilities.
    """
    return sm.acceptance_alpha(p, q), *sm.proposal_probs(proposed, p, q), p[verdict.accepted, verdict.token]


def record_round(
    ctx: RunContext,
    start: int,
    proposed: list[int],
    alpha: float,
    p_x: list[float],
    q_x: list[float],
    p_token: float,
    verdict: sm.Verdict,
    tokens: int,
    lookup: str | None = None,
) -> SpeculativeRound:
    """The trace's record of one round: every proposal with its verdict (None for those after the first
    rejection, which the target never tested), and the target's own token with its p.

    Args:
        start: index of the round's first generated token.
        alpha, p_x, q_x, p_token: `round_figures`, read.
        tokens: how many of its tokens the round emitted.
        lookup: where prompt lookup found the proposals (`PromptLookupDraft.found`).
    """
    texts = ctx.texts([*proposed, verdict.token])
    verdicts = round_verdicts(verdict.accepted, len(proposed))
    return SpeculativeRound(
        start=start,
        num_draft_tokens=len(proposed),
        proposed=[
            Proposal(id=t, text=texts[j], q=q_x[j], p=p_x[j], accepted=verdicts[j]) for j, t in enumerate(proposed)
        ],
        emitted=Emitted(id=verdict.token, text=texts[-1], kind=verdict.kind, p=p_token),
        alpha=alpha,
        expected_tokens=expected_tokens(alpha, len(proposed)),
        tokens=tokens,
        lookup=lookup,
    )


def totals(
    settings: Settings,
    drafter: PromptLookupDraft | ModelDraft,
    rounds: list[SpeculativeRound],
    target_calls: int,
    draft_s: float,
    verify_s: float,
) -> Speculative:
    """The run's speculative part: its rounds and their totals."""
    proposed = sum(r.num_draft_tokens for r in rounds)
    accepted = sum(r.accepted_count() for r in rounds)
    emitted = sum(r.tokens for r in rounds)
    return Speculative(
        draft=drafter.info,
        num_draft_tokens=settings.num_draft_tokens,
        schedule=settings.draft_schedule,
        rounds=rounds,
        acceptance_rate=accepted / proposed if proposed else 0.0,
        mean_accepted_per_round=accepted / len(rounds) if rounds else 0.0,
        tokens_per_round=emitted / len(rounds) if rounds else 0.0,
        target_calls=target_calls,
        draft_calls=drafter.calls,
        draft_s=draft_s,
        verify_s=verify_s,
    )
