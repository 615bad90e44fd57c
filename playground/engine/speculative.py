"""Speculative decoding: a cheap draft proposes tokens, the target checks them all in one forward pass.

Draft sources: a model sharing the target's tokenizer (by default the target's own weights at another
precision), or prompt lookup (copying what followed an earlier occurrence of the latest n-gram). Greedy rounds
keep draft tokens while they are the target's argmax; sampling rounds use the speculative sampling rule
(`speculative_math`), so the output is distributed as the target's own sampling. The same logits processors
shape p and q. Both KV caches are rolled back to the accepted prefix after every round.

Cache bookkeeping: the target's cache holds everything but the last emitted token ("pending"); a round feeds
[pending, x_1..x_g] and reads g + 1 distributions. The draft keeps a list of tokens it has not yet seen.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator

import torch

from playground.engine import speculative_math as sm
from playground.engine.context import RunContext, Update, make_trace
from playground.engine.forward import new_cache
from playground.engine.placement import to_host
from playground.engine.processors import apply_stages
from playground.engine.recording import summarize_rows, to_step
from playground.engine.sampling import decode_tokens
from playground.settings import PROMPT_LOOKUP, SettingsError


@torch.no_grad()
def forward_tokens(model, tokens: list[int], cache) -> torch.Tensor:
    """Feeds tokens (extending `cache`) and returns float32 logits for each position. -> (len(tokens), V)"""
    ids = torch.tensor([tokens], dtype=torch.long, device=model.device)
    return model(input_ids=ids, cache=cache, use_cache=True).logits[0].float()


def rollback(cache, length: int) -> None:
    """Drops cached positions beyond `length`."""
    extra = cache.get_seq_length() - length
    if extra > 0:
        cache.crop(-extra)


def staged_rows(stages, context: list[int], tokens: list[int], logits: torch.Tensor):
    """Processed scores for each row of `logits`, row j seeing `context + tokens[:j]` as its past. (R, V)

    Penalties (repetition, no-repeat-ngram, min-new-tokens) depend on the tokens before each position, so
    rows are processed one by one, as a token-by-token run would have processed them.
    """
    ids = torch.tensor([context + tokens], dtype=torch.long, device=logits.device)  # (1, T + g)
    rows = []
    for j in range(logits.shape[0]):
        rows.append(apply_stages(stages, ids[:, : len(context) + j], logits[j : j + 1]))
    # [(stage, (R, V))] with the rows stacked, for the step records.
    return [(name, torch.cat([r[i][1] for r in rows])) for i, (name, _) in enumerate(rows[0])]


def resolve_draft(ctx: RunContext):
    """The draft LoadedModel (None for prompt lookup) and its description for the trace.

    Raises:
        SettingsError: the draft cannot be loaded or does not share the target's tokenizer.
    """
    from playground.models import ModelLoadError, load_model

    settings, target = ctx.settings, ctx.loaded
    if settings.draft_model == PROMPT_LOOKUP:
        return None, {"source": PROMPT_LOOKUP, "ngram": settings.prompt_lookup_ngram}
    draft_id = settings.draft_model or target.info.id
    try:
        draft = load_model(draft_id, settings.draft_precision, device=target.info.device)
    except ModelLoadError as exc:
        raise SettingsError("draft_model", f"draft_model cannot be loaded: {exc}") from exc
    if draft.tokenizer.get_vocab() != target.tokenizer.get_vocab():
        raise SettingsError("draft_model", f"draft_model {draft_id!r} does not share the target's tokenizer")
    return draft, {"source": "model", "id": draft_id, "precision": settings.draft_precision}


def speculative_decode(ctx: RunContext) -> Iterator[Update]:
    """Runs speculative decoding, yielding an Update per emitted token, then the trace."""
    draft, draft_info = resolve_draft(ctx)
    if draft is not None and draft is not ctx.loaded:
        with draft.lock:
            yield from _decode(ctx, draft, draft_info)
    else:
        yield from _decode(ctx, draft, draft_info)


def _decode(ctx: RunContext, draft, draft_info: dict) -> Iterator[Update]:
    settings, target = ctx.settings, ctx.loaded.model
    device = target.device
    prompt = ctx.prompt.token_ids
    stages = ctx.stages()
    generator = torch.Generator(device=device).manual_seed(settings.seed) if settings.samples else None
    gamma = settings.num_draft_tokens

    started = time.perf_counter()
    target_cache = new_cache(target)
    if len(prompt) > 1:
        forward_tokens(target, prompt[:-1], target_cache)
    draft_cache, draft_unseen = None, list(prompt)
    if draft is not None:
        draft_cache = new_cache(draft.model)
    prefill_s = time.perf_counter() - started

    started = time.perf_counter()
    context = list(prompt[:-1])  # tokens in the target's cache
    pending = prompt[-1]  # the last token, not yet fed to the target
    generated: list[int] = []
    steps, rounds = [], []
    target_calls = draft_calls = 0
    draft_s = verify_s = 0.0
    stop_reason = "max_new_tokens"
    while len(generated) < settings.max_new_tokens:
        remaining = settings.max_new_tokens - len(generated)
        budget = min(gamma, remaining - 1)  # the round also emits one target token
        # 1. Draft: propose up to `budget` tokens with their draft distributions q.
        tick = time.perf_counter()
        proposed: list[int] = []
        q_rows: list[torch.Tensor] = []
        if budget > 0 and draft is None:
            proposed = sm.prompt_lookup([*context, pending], settings.prompt_lookup_ngram, budget)
            copied = torch.tensor(proposed, dtype=torch.long, device=device)  # (g,)
            q_rows = list(torch.nn.functional.one_hot(copied, target.config.vocab_size).float())
        elif budget > 0:
            for _ in range(budget):
                logits = forward_tokens(draft.model, draft_unseen, draft_cache)[-1:]  # (1, V)
                draft_calls += 1
                staged = apply_stages(
                    stages, torch.tensor([[*context, pending, *proposed]], device=device), logits.to(device)
                )
                q = torch.softmax(staged[-1][1][0], dim=-1)
                token = int(torch.multinomial(q, 1, generator=generator)) if settings.samples else int(torch.argmax(q))
                proposed.append(token)
                q_rows.append(q)
                draft_unseen = [token]
                # Adaptive drafting also stops when the draft is unsure of its own guess, as transformers'
                # assisted generation does (assistant_confidence_threshold): such tokens are rarely accepted.
                if settings.draft_schedule == "adaptive" and float(q.max()) < sm.CONFIDENCE_THRESHOLD:
                    break
        draft_s += time.perf_counter() - tick

        # 2. Target: score pending + proposals in one pass -> p for g + 1 positions.
        tick = time.perf_counter()
        logits = forward_tokens(target, [pending, *proposed], target_cache)  # (g + 1, V)
        target_calls += 1
        staged = staged_rows(stages, [*context, pending], proposed, logits)
        p = torch.softmax(staged[-1][1], dim=-1)  # (g + 1, V)
        q = torch.stack(q_rows) if q_rows else p.new_zeros((0, p.shape[-1]))  # (g, V)
        if settings.samples:
            verdict = sm.verify_sampling(proposed, p, q, generator)
        else:
            verdict = sm.verify_greedy(proposed, staged[-1][1])
        verify_s += time.perf_counter() - tick

        # 3. Emit accepted + one, then roll both caches back to what was accepted.
        emitted = [*proposed[: verdict.accepted], verdict.token]
        summary = summarize_rows(
            [(name, scores[: len(emitted)]) for name, scores in staged],
            logits[: len(emitted)],
            settings.top_n,
            must_include=torch.tensor(emitted, device=logits.device),
        )
        context = [*context, pending, *proposed[: verdict.accepted]]
        rollback(target_cache, len(context))
        pending = verdict.token
        if draft is not None:
            # The draft saw context..proposed[-2]; keep what was accepted, queue what it has not seen.
            seen = draft_cache.get_seq_length()
            rollback(draft_cache, min(seen, len(context)))
            draft_unseen = [*context, pending][draft_cache.get_seq_length() :]
        alpha = sm.acceptance_alpha(p, q)
        p_x, q_x = (t.tolist() for t in to_host(*sm.proposal_probs(proposed, p, q)))
        rounds.append(
            {
                "start": len(generated),
                "num_draft_tokens": len(proposed),
                "proposed": [
                    {
                        "id": t,
                        "text": ctx.texts([t])[0],
                        "q": q_x[j],
                        "p": p_x[j],
                        "accepted": j < verdict.accepted,
                    }
                    for j, t in enumerate(proposed)
                ],
                "emitted": {"id": verdict.token, "text": ctx.texts([verdict.token])[0], "kind": verdict.kind},
                "alpha": alpha,
                "expected_tokens": sm.expected_tokens(alpha, len(proposed)),
                "tokens": len(emitted),
            }
        )
        if settings.draft_schedule == "adaptive" and draft is not None:
            gamma = sm.next_gamma(gamma, verdict.accepted, len(proposed))

        ended = False
        for j, token in enumerate(emitted):
            step = to_step(len(generated), summary, j, token, ctx.texts, settings.top_n)
            steps.append(step)
            generated.append(token)
            text, hit_stop = ctx.visible_text(generated)
            yield Update(text=text, step=step)
            if token in ctx.eos_ids:
                stop_reason, ended = "eos", True
            elif hit_stop:
                stop_reason, ended = "stop_string", True
            if ended:
                rounds[-1]["tokens"] = j + 1  # the round's later tokens were verified but not emitted
                break
        if ended:
            break
        if ctx.deadline.passed() and len(generated) < settings.max_new_tokens:
            stop_reason = ctx.deadline.reason
            break
    decode_s = time.perf_counter() - started

    proposed_total = sum(r["num_draft_tokens"] for r in rounds)
    accepted_total = sum(sum(t["accepted"] for t in r["proposed"]) for r in rounds)
    speculative = {
        "draft": draft_info,
        "num_draft_tokens": settings.num_draft_tokens,
        "schedule": settings.draft_schedule,
        "rounds": rounds,
        "acceptance_rate": accepted_total / proposed_total if proposed_total else 0.0,
        "mean_accepted_per_round": accepted_total / len(rounds) if rounds else 0.0,
        "tokens_per_round": len(generated) / len(rounds) if rounds else 0.0,
        "target_calls": target_calls,
        "draft_calls": draft_calls,
        "draft_s": draft_s,
        "verify_s": verify_s,
    }
    if settings.measure_speedup and generated and stop_reason not in ("cancelled", "max_time"):
        speculative.update(measure_plain(ctx, len(generated), len(generated) / decode_s if decode_s > 0 else 0.0))
    trace = make_trace(ctx, generated, stop_reason, steps, prefill_s, decode_s)
    trace.speculative = speculative
    yield Update(text=trace.output.text, trace=trace)


def measure_plain(ctx: RunContext, tokens: int, speculative_rate: float) -> dict:
    """Times plain decoding (greedy, or sampling when the run sampled) of `tokens` tokens with the target and
    the same filters and recording, and returns its rate and the speculative run's speed-up over it.

    EOS and stop strings are switched off so plain decoding makes as many tokens; the run's time limit and
    Stop still apply (then the rate is over the tokens it made).
    """
    settings = ctx.settings.replace(
        strategy="sample" if ctx.settings.do_sample else "greedy",
        max_new_tokens=tokens,
        min_new_tokens=tokens,
        stop=(),
    )
    trace = None
    for update in decode_tokens(dataclasses.replace(ctx, settings=settings)):
        trace = update.trace
    timing = trace.timing
    if trace.output.stop_reason == "cancelled" or timing.decode_s <= 0:
        return {}
    plain_rate = timing.new_tokens / timing.decode_s
    return {"plain_tokens_per_s": plain_rate, "speedup": speculative_rate / plain_rate}
