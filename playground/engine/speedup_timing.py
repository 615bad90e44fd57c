"""Measure speed-up: after a speculative run, plain and speculative decoding of as many tokens are timed
alternately, `speedup_pairs` times each (the run itself is the first speculative timing), and the pairs, their
median speed-up and plain decoding's median rate go into the trace (`playground.speedup` has the arithmetic)."""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Callable, Iterator

from playground.engine.context import RunContext, Update
from playground.engine.sampling import decode_tokens
from playground.engine.stopping import Deadline
from playground.speedup import PLAIN, median_range, pair_up, timing_order
from playground.trace import Trace

Strategy = Callable[[RunContext], Iterator[Update]]


def with_speedup(strategy: Strategy) -> Strategy:
    """`strategy` (a speculative loop) whose trace, before it is handed on, gets the measured speed-up."""

    def measured(ctx: RunContext) -> Iterator[Update]:
        final = None
        for update in strategy(ctx):
            if update.trace is None:
                yield update
            else:
                final = update
        # The run's generator has ended, so what it held while it ran (a draft model's lock) is free again: the
        # timings run the strategy anew, and would wait for that lock forever.
        if final is not None:
            for note in add_speedup(ctx, final.trace, strategy):
                yield Update(text=final.text, note=note)  # the timings take a while: say what runs
            yield final

    return measured


def add_speedup(ctx: RunContext, trace: Trace, strategy: Strategy) -> Iterator[str]:
    """Times the pairs and records them in `trace.speculative`, saying before each timing which it is ("timing
    plain decoding, 2 of 6"); not for a run that was stopped or ran out of time, whose rate says nothing. Pairs cut
    short by Stop are left out; none left, nothing is recorded."""
    tokens, decode_s = trace.timing.new_tokens, trace.timing.decode_s
    if not tokens or decode_s <= 0 or trace.output.stop_reason in ("cancelled", "max_time"):
        return
    rates = [tokens / decode_s]
    order = timing_order(ctx.settings.speedup_pairs)
    for number, kind in enumerate(order[1:], start=2):
        yield f"Measuring the speed-up: timing {kind} decoding, {number} of {len(order)}"
        rate = timed_rate(decode_tokens if kind == PLAIN else strategy, timing_context(ctx, tokens, kind))
        if rate is None:
            break
        rates.append(rate)
    pairs = pair_up(rates)
    if pairs:
        spec = trace.speculative
        spec.speedup_pairs = pairs
        spec.speedup = median_range(pairs)[0]
        spec.plain_tokens_per_s = statistics.median(pair.plain_tokens_per_s for pair in pairs)


def timing_context(ctx: RunContext, tokens: int, kind: str) -> RunContext:
    """The run's context for one timing of `tokens` tokens: plain decoding (greedy, or sampling when the run
    sampled) or the speculative run again, both with the same filters and recording.

    EOS and stop strings are switched off so every timing makes as many tokens. Each timing is one decoding pass
    with the run's time limit of its own (as the ZeroGPU lease counts it, `playground.lease`); Stop still ends it.
    """
    settings = ctx.settings.replace(max_new_tokens=tokens, min_new_tokens=tokens, stop=(), measure_speedup=False)
    if kind == PLAIN:
        settings = settings.replace(strategy="sample" if settings.do_sample else "greedy")
    deadline = Deadline(settings.time_budget, ctx.deadline.cancel)
    return dataclasses.replace(ctx, settings=settings, deadline=deadline)


def timed_rate(strategy: Strategy, ctx: RunContext) -> float | None:
    """Tokens per second of decoding with `strategy` in `ctx`; None if it was stopped."""
    trace = None
    for update in strategy(ctx):
        trace = update.trace
    timing = trace.timing
    if trace.output.stop_reason == "cancelled" or timing.decode_s <= 0 or not timing.new_tokens:
        return None
    return timing.new_tokens / timing.decode_s
