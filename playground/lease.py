"""How long a ZeroGPU lease a request asks for, sized from the request itself.

ZeroGPU lends a GPU per call for a duration the app states up front, charges that duration to the visitor's
daily quota, and ends the call when it runs out. A fixed duration either overruns (a comparison runs twice, a
second precision must load first) or charges a short run as a long one. So each request's lease is the sum of
what it will do: loads it may need, then each decoding pass it makes, each pass bounded by the run's max_time.
Each pass is also given that bound as its own max_time (`Lease.pass_seconds`), so a pass slower than estimated
ends as "max_time", its text kept, before the lease does.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from playground.settings import FREE_DRAFTS, Settings
from playground.speedup import timing_order

START_SECONDS = 5.0  # the worker's start and moving the model's tensors onto the GPU
LOAD_SECONDS = 20.0  # loading one more (model, precision) inside the lease
MIN_PASS_SECONDS = 10.0  # the first pass of a fresh worker also warms the GPU up: never bound a pass tighter
MASS_PASS_TOKENS = 4  # a mass tree's batched passes per depth cost about as much as a few decoding steps


@dataclass(frozen=True)
class Lease:
    """A request's GPU lease: its whole duration, and the max_time each of its decoding passes runs under."""

    seconds: int
    pass_seconds: float


def token_seconds() -> float:
    """Seconds one traced decoding step may take on the GPU, per row of up to four (PLAYGROUND_GPU_TOKEN_SECONDS).

    A generous bound, not a measurement: a step the bound is too short for ends the pass early as "max_time".
    """
    return float(os.environ.get("PLAYGROUND_GPU_TOKEN_SECONDS", "0.1"))


def max_lease_seconds() -> int:
    """The longest lease a request may ask for (PLAYGROUND_GPU_SECONDS): ZeroGPU refuses longer ones."""
    return int(os.environ.get("PLAYGROUND_GPU_SECONDS", "120"))


def rows(settings: Settings) -> int:
    """Sequences one decoding step of `settings` computes at once: beams, samples, or one."""
    if settings.strategy in ("beam", "constrained"):
        return settings.num_beams
    if settings.strategy == "sample":
        return settings.num_samples
    return 1


def pass_estimate(settings: Settings) -> float:
    """Seconds one decoding pass of `settings` may take: its tokens at `token_seconds` each, a step costing
    more once it carries more than four rows, at least MIN_PASS_SECONDS, never more than the run's max_time."""
    width = max(1.0, rows(settings) / 4)
    estimate = max(MIN_PASS_SECONDS, settings.max_new_tokens * token_seconds() * width)
    return min(settings.time_budget, estimate)


def passes(settings: Settings, kind: str) -> int:
    """Decoding passes a request of `kind` makes: "run" (Generate, a branch, Sample many), "compare" (B reads
    A's text, then writes its own) or "mass" (priced as one pass). Measuring the speed-up times plain and
    speculative decoding of as many tokens alternately, `speedup_pairs` times each, the run itself the first
    speculative timing (`playground.engine.speedup_timing`)."""
    count = 2 if kind == "compare" else 1
    if settings.strategy == "speculative" and settings.measure_speedup:
        count += len(timing_order(settings.speedup_pairs)) - 1
    return count


def loads(settings: Settings, served: bool) -> int:
    """Models a request may have to load inside its lease: its own (model, precision) unless it is the served
    one, placed at start; a draft model unless the target's heads or the prompt serve as draft."""
    count = 0 if served else 1
    if settings.strategy == "speculative" and settings.draft_model not in FREE_DRAFTS:
        count += 1
    return count


def lease_for(settings: Settings, kind: str = "run", served: bool = True) -> Lease:
    """The lease of one request: start, loads, then each pass. Where that exceeds `max_lease_seconds`, the passes
    share what is left, so the lease always covers them."""
    if kind == "mass":
        settings = settings.replace(max_new_tokens=MASS_PASS_TOKENS * settings.mass_depth, strategy="greedy")
    fixed = START_SECONDS + LOAD_SECONDS * loads(settings, served)
    count = passes(settings, kind)
    pass_seconds = pass_estimate(settings)
    room = (max_lease_seconds() - fixed) / count
    pass_seconds = max(1.0, min(pass_seconds, room))
    return Lease(seconds=math.ceil(fixed + count * pass_seconds), pass_seconds=pass_seconds)
