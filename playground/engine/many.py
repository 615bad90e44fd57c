"""Many samples at once: `num_samples` continuations of one prompt with the sampling settings, decoded as one
batch. The prompt is read once; each step is one forward pass over the rows still going, and a row that ends
(end of sequence, a stop string) leaves the batch, so finished samples stop costing.

Sample i draws with its own generator seeded seed + i, exactly as a single run with that seed draws (one
multinomial draw per step from the same final distribution), so each sample is the run its seed gives alone,
up to the rounding of a batched forward pass against a single one.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from playground.engine.context import RunContext, Update, make_trace
from playground.engine.forward import decode_one_token, new_cache, prefill
from playground.engine.placement import read_values
from playground.engine.processors import after_choice, apply_stages, keep_rows, stage_notes, start_stages
from playground.engine.recording import summarize_rows, to_step
from playground.trace import Sample, Samples, Step, Trace


@dataclass
class _Draws:
    """What each sample has drawn so far, on the host, indexed by sample."""

    tokens: list[list[int]]  # the token ids drawn
    probs: list[list[float]]  # each one's probability in its row's final distribution
    reasons: list[str | None]  # why the sample ended after its latest token; None while it goes on

    @classmethod
    def empty(cls, count: int) -> _Draws:
        return cls([[] for _ in range(count)], [[] for _ in range(count)], [None] * count)

    def add(self, ctx: RunContext, going: list[int], ids: list[int], chosen: list[float]) -> None:
        """Appends row i's token `ids[i]` and its probability `chosen[i]` to sample `going[i]`, and notes whether
        that sample ends there (`_ended`)."""
        for row, s in enumerate(going):
            self.tokens[s].append(ids[row])
            self.probs[s].append(chosen[row])
            self.reasons[s] = _ended(ctx, self.tokens[s])


def sample_many(ctx: RunContext) -> Iterator[Update]:
    """Decodes every sample, yielding an Update per step (the first sample's text and step, while it runs),
    then the trace: the first sample with every candidate recorded, and all of them, compactly, in `samples`."""
    settings, model = ctx.settings, ctx.loaded.model
    count = settings.num_samples
    generators = [torch.Generator(device=ctx.device).manual_seed(settings.seed + i) for i in range(count)]
    stages = ctx.stages()
    start_stages(stages, generators)  # row r draws with generators[r] until rows leave the batch (`keep_rows`)
    cache = new_cache(model)
    started = time.perf_counter()
    logits = prefill(model, ctx.input_ids, cache)  # (1, V): the prompt is read once
    prefill_s = time.perf_counter() - started
    started = time.perf_counter()
    cache.reorder_cache(torch.zeros(count, dtype=torch.long, device=ctx.device))  # one copy per sample
    logits = logits.expand(count, -1)  # (n, V); the processors never write into their input
    input_ids = ctx.input_ids.expand(count, -1)  # (n, T)
    going = list(range(count))  # the sample each row decodes
    draws = _Draws.empty(count)
    steps: list[Step] = []  # the first sample's, with their candidates
    passes = 1
    for index in range(settings.max_new_tokens):
        staged = apply_stages(stages, input_ids, logits)
        drawn, picks = _draw(staged, generators, going)
        after_choice(stages, drawn[:, 0])
        if going[0] == 0:  # the first sample is still going: record its step in full, the draws read with it
            step, (ids, chosen) = _first_step(ctx, index, staged, logits, picks)
            step.notes = stage_notes(stages, 0)
            steps.append(step)
        else:
            ids, chosen = read_values(*picks)  # the step's one read
        draws.add(ctx, going, ids, chosen)
        yield Update(text=ctx.visible_text(draws.tokens[0])[0], step=steps[-1] if going[0] == 0 else None)
        keep = [row for row, s in enumerate(going) if draws.reasons[s] is None]
        if not keep or index + 1 == settings.max_new_tokens or ctx.deadline.passed():
            break
        if len(keep) < len(going):  # finished rows leave the batch
            rows = torch.tensor(keep, dtype=torch.long, device=ctx.device)
            cache.reorder_cache(rows)
            input_ids, drawn = input_ids[rows], drawn[rows]
            keep_rows(stages, keep)
            going = [going[row] for row in keep]
        input_ids = torch.cat([input_ids, drawn], dim=-1)
        logits = decode_one_token(model, drawn, cache)  # (n, V)
        passes += 1
    decode_s = time.perf_counter() - started
    trace = _batch_trace(ctx, draws, steps, prefill_s, decode_s, passes)
    yield Update(text=trace.output.text, trace=trace)


def _draw(
    staged: list[tuple[str, torch.Tensor]], generators: list[torch.Generator], going: list[int]
) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """One draw per row from the final distribution with its sample's own generator, as `choose_sample` draws for
    a single run. Returns the (n, 1) tokens drawn, and ((n,) those tokens, (n,) their probabilities) to read."""
    final = torch.softmax(staged[-1][1], dim=-1)  # (n, V)
    drawn = torch.cat(
        [torch.multinomial(final[row : row + 1], 1, generator=generators[s]) for row, s in enumerate(going)]
    )  # (n, 1)
    return drawn, (drawn[:, 0], final.gather(1, drawn)[:, 0])


def _batch_trace(
    ctx: RunContext, draws: _Draws, steps: list[Step], prefill_s: float, decode_s: float, passes: int
) -> Trace:
    """The trace of the first sample, with every sample in `samples` and the batch's tokens and speed in `timing`.
    A sample that did not end on its own ended for the run's reason: its time ran out, or max_new_tokens."""
    settings, tokens = ctx.settings, draws.tokens
    timed_out = ctx.deadline.reason if ctx.deadline.passed() else "max_new_tokens"
    reasons = [reason or (timed_out if len(tokens[s]) < settings.max_new_tokens else "max_new_tokens")
               for s, reason in enumerate(draws.reasons)]  # fmt: skip
    samples = [
        Sample(seed=settings.seed + s, token_ids=tokens[s], probs=draws.probs[s], text=ctx.visible_text(tokens[s])[0],
               stop_reason=reasons[s])
        for s in range(settings.num_samples)
    ]  # fmt: skip
    trace = make_trace(ctx, tokens[0], reasons[0], steps, prefill_s, decode_s)
    total = sum(len(t) for t in tokens)
    trace.timing.new_tokens = total  # the batch's tokens, and its speed
    trace.timing.tokens_per_s = total / (prefill_s + decode_s) if prefill_s + decode_s > 0 else 0.0
    used = sorted({token for sample in tokens for token in sample})
    texts = {str(token): text for token, text in zip(used, ctx.texts(used), strict=True)}
    trace.samples = Samples(samples=samples, texts=texts, forward_passes=passes, batch_s=decode_s)
    return trace


def finished_samples(ctx: RunContext, reason: str) -> Samples:
    """The samples of a run that ends before drawing anything (a branch's forced token ends the text): each one
    empty, ended for `reason`, its text the visible text so far."""
    text = ctx.visible_text([])[0]
    samples = [Sample(seed=ctx.settings.seed + s, token_ids=[], probs=[], text=text, stop_reason=reason)
               for s in range(ctx.settings.num_samples)]  # fmt: skip
    return Samples(samples=samples, texts={}, forward_passes=0, batch_s=0.0)


def _first_step(
    ctx: RunContext,
    index: int,
    staged: list[tuple[str, torch.Tensor]],
    logits: torch.Tensor,
    picks: tuple[torch.Tensor, ...],
) -> tuple[Step, list]:
    """The first sample's step (row 0 of the batch) with its candidates at every stage, as a single run
    records it, and the values of `picks` (every row's draw), read from the device with it."""
    row = [(name, scores[:1]) for name, scores in staged]  # (1, V) each
    summary = summarize_rows(row, logits[:1], ctx.settings.top_n, must_include=picks[0][:1], also=picks)
    return to_step(index, summary, 0, summary.chosen[0], ctx.texts, ctx.settings.top_n), summary.also


def _ended(ctx: RunContext, tokens: list[int]) -> str | None:
    """Why a sample ends after its latest token, or None if it goes on."""
    if tokens[-1] in ctx.eos_ids:
        return "eos"
    if ctx.settings.stop and ctx.visible_text(tokens)[1]:
        return "stop_string"
    return None
