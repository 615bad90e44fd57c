"""Speculative decoding: a cheap draft proposes tokens, the target checks them all in one forward pass.

Draft sources: a model sharing the target's tokenizer (by default the target's own weights at another
precision), or prompt lookup (copying what followed an earlier occurrence of the latest n-gram). Greedy rounds
keep draft tokens while they are the target's argmax; sampling rounds use the speculative sampling rule
(`verification.py`), so the output is distributed as the target's own sampling. The same logits processors
shape p and q. Both KV caches are rolled back to the accepted prefix after every round.

Cache bookkeeping: the target's cache holds all of the text but its last token; a round feeds that token and
the proposals x_1..x_g and reads g + 1 distributions, then rolls back to the text plus the accepted tokens.
A model draft keeps the tokens of the text it has not yet seen (`drafts.py`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import torch

from playground.engine.context import RunContext, Update, make_trace
from playground.engine.forward import forward_tokens, new_cache, rollback
from playground.engine.processors import apply_stages_rows
from playground.engine.recording import summarize_rows
from playground.engine.speculative import math as sm
from playground.engine.speculative.drafts import ModelDraft, PromptLookupDraft
from playground.engine.speculative.rounds import RoundEnd, Work, emit, stop_after_round, totals
from playground.engine.speculative.verification import Verdict, verify_greedy, verify_sampling
from playground.settings import PROMPT_LOOKUP, SettingsError
from playground.trace import DraftInfo, Proposal, SpeculativeRound, expected_tokens, round_verdicts


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
    gamma, work = settings.num_draft_tokens, Work()
    stop_reason = "max_new_tokens"
    while len(generated) < settings.max_new_tokens:
        tick = time.perf_counter()
        # The round also emits one token of the target's own, so it proposes at most one fewer than remain.
        proposed, q = drafter.propose(text, min(gamma, settings.max_new_tokens - len(generated) - 1))
        work.draft_s += time.perf_counter() - tick

        tick = time.perf_counter()
        logits = forward_tokens(target, [text[-1], *proposed], cache)  # (g + 1, V)
        work.target_calls += 1
        # Row j follows the text and the first j proposals.
        staged = apply_stages_rows(stages, [text + proposed[:j] for j in range(len(proposed) + 1)], logits)
        p = torch.softmax(staged[-1][1], dim=-1)  # (g + 1, V)
        q = q if proposed else p.new_zeros((0, p.shape[-1]))  # (g, V)
        if settings.samples:
            verdict = verify_sampling(proposed, p, q, generator)
        else:
            verdict = verify_greedy(proposed, staged[-1][1])
        work.verify_s += time.perf_counter() - tick

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
        alpha, p_x, q_x, p_token = summary.also
        end = RoundEnd(start, len(generated) - start, verdict, p_token)
        rounds.append(record_round(ctx, end, proposed, alpha, p_x, q_x, drafter.found))
        gamma = drafter.next_gamma(gamma, verdict.accepted, len(proposed))
        if stopped := stop_after_round(ctx, ended, generated):
            stop_reason = stopped
            break
    decode_s = time.perf_counter() - started

    trace = make_trace(ctx, generated, stop_reason, steps, prefill_s, decode_s)
    work.draft_calls = drafter.calls
    trace.speculative = totals(drafter.info, settings.num_draft_tokens, settings.draft_schedule, rounds, work)
    yield Update(text=trace.output.text, trace=trace)


def round_figures(proposed: list[int], p: torch.Tensor, q: torch.Tensor, verdict: Verdict) -> tuple[torch.Tensor, ...]:
    """What a round's record reads from the device: alpha (0-dim), p_j(x_j) and q_j(x_j) ((g,) each), and the
    target's probability of its own token (0-dim).

    Args:
        p: (g + 1, V) target probabilities; q: (g, V) draft probabilities.
    """
    return sm.acceptance_alpha(p, q), *sm.proposal_probs(proposed, p, q), p[verdict.accepted, verdict.token]


def record_round(
    ctx: RunContext,
    end: RoundEnd,
    proposed: list[int],
    alpha: float,
    p_x: list[float],
    q_x: list[float],
    lookup: str | None = None,
) -> SpeculativeRound:
    """The trace's record of one round: every proposal with its verdict (None for those after the first
    rejection, which the target never tested), and the target's own token with its p.

    Args:
        end: how the round ended (its verdict a `Verdict`).
        alpha, p_x, q_x: `round_figures`, read.
        lookup: where prompt lookup found the proposals (`PromptLookupDraft.found`).
    """
    texts = ctx.texts([*proposed, end.verdict.token])
    verdicts = round_verdicts(end.verdict.accepted, len(proposed))
    return SpeculativeRound(
        start=end.start,
        num_draft_tokens=len(proposed),
        proposed=[
            Proposal(id=t, text=texts[j], q=q_x[j], p=p_x[j], accepted=verdicts[j]) for j, t in enumerate(proposed)
        ],
        emitted=end.emitted(texts[-1]),
        alpha=alpha,
        expected_tokens=expected_tokens(alpha, len(proposed)),
        tokens=end.tokens,
        lookup=lookup,
    )
