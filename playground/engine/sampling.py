"""Greedy decoding and multinomial sampling: one loop, two ways of choosing the next token."""

from __future__ import annotations

import time
from collections.abc import Iterator

import torch

from playground.engine.context import RunContext, Update, make_trace
from playground.engine.forward import decode_one_token, new_cache, prefill
from playground.engine.processors import after_choice, apply_stages, stage_notes, start_stages
from playground.engine.recording import summarize_rows, to_step


def choose_greedy(scores: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """The highest-scoring token of each row. (B, V) -> (B,)"""
    return torch.argmax(scores, dim=-1)


def choose_sample(scores: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """One draw per row from softmax(scores), as transformers' `generate` draws. (B, V) -> (B,)"""
    probs = torch.softmax(scores, dim=-1)
    return torch.multinomial(probs, num_samples=1, generator=generator).squeeze(1)


def decode_tokens(ctx: RunContext) -> Iterator[Update]:
    """Decodes token by token with greedy choice or sampling, yielding an Update per step, then the trace."""
    settings, model = ctx.settings, ctx.loaded.model
    sample = settings.strategy == "sample"
    choose = choose_sample if sample else choose_greedy
    # A private generator seeded like torch.manual_seed(seed): the same draws as `generate` after
    # torch.manual_seed(seed), without touching the global RNG other threads may use.
    generator = torch.Generator(device=ctx.device).manual_seed(settings.seed) if sample else None
    stages = ctx.stages()
    start_stages(stages, [generator] if sample else None)
    input_ids = ctx.input_ids
    cache = new_cache(model)

    started = time.perf_counter()
    logits = prefill(model, input_ids, cache)  # (1, V)
    prefill_s = time.perf_counter() - started
    started = time.perf_counter()
    steps, generated, stop_reason = [], [], "max_new_tokens"
    for index in range(settings.max_new_tokens):
        staged = apply_stages(stages, input_ids, logits)
        token = choose(staged[-1][1], generator)  # (1,) on the model's device
        after_choice(stages, token)
        # The step's one read from the device: the token comes to the host with its record.
        summary = summarize_rows(staged, logits, settings.top_n, must_include=token)
        token_id = summary.chosen[0]
        step = to_step(index, summary, 0, token_id, ctx.texts, settings.top_n)
        step.notes = stage_notes(stages, 0)
        steps.append(step)
        generated.append(token_id)
        input_ids = torch.cat([input_ids, token[:, None]], dim=-1)
        text, hit_stop = ctx.visible_text(generated)
        yield Update(text=text, step=step)
        if token_id in ctx.eos_ids:
            stop_reason = "eos"
        elif hit_stop:
            stop_reason = "stop_string"
        elif ctx.deadline.passed() and index + 1 < settings.max_new_tokens:
            stop_reason = ctx.deadline.reason
        elif index + 1 < settings.max_new_tokens:
            logits = decode_one_token(model, token[:, None], cache)
            continue
        break
    decode_s = time.perf_counter() - started
    trace = make_trace(ctx, generated, stop_reason, steps, prefill_s, decode_s)
    yield Update(text=trace.output.text, trace=trace)
