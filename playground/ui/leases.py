"""The GPU lease of each request from the page or the API, on ZeroGPU: how long it asks for, and the bound it
puts on each decoding pass (see playground/lease.py). Off ZeroGPU the bound is left off."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from playground.lease import LOAD_SECONDS, START_SECONDS, Lease, lease_for, loads, max_lease_seconds, pass_estimate
from playground.settings import Settings
from playground.spaces import zero_gpu
from playground.ui.controls import make_settings
from playground.ui.gate import Gate


def lease(gate: Gate, model: Any, precision: Any, settings: Settings, kind: str) -> Lease:
    """The lease of a request of `kind` for `model` at `precision` with `settings`."""
    return lease_for(settings, kind, gate.served(model, precision))


def controls_seconds(gate: Gate, kind: str, values: dict[str, Any]) -> int:
    """The GPU lease, in seconds, of a request of `kind` from the page's controls."""
    return request_seconds(gate, kind, lambda: (values.get("model"), values.get("precision"), make_settings(values)))


def request_seconds(gate: Gate, kind: str, request: Callable[[], tuple[Any, Any, Settings]]) -> int:
    """The GPU lease, in seconds, of a request of `kind` for (model, precision, settings) = `request()`. A
    request that cannot be read gets the shortest lease: it fails at once inside it, with its message."""
    try:
        model, precision, settings = request()
    except Exception:
        return math.ceil(START_SECONDS)
    return lease(gate, model, precision, settings, kind).seconds


def bounded(gate: Gate, model: Any, precision: Any, settings: Settings, kind: str) -> Settings:
    """`settings` with each decoding pass bounded by its share of the GPU lease, on ZeroGPU: a pass slower
    than estimated ends as "max_time", keeping its text, before the lease ends (see playground/lease.py)."""
    if not zero_gpu():
        return settings
    bound = lease(gate, model, precision, settings, kind).pass_seconds
    return settings.replace(max_time=min(settings.time_budget, bound))


def fork_seconds(gate: Gate, request: Callable[[], tuple[Any, Any, Settings, int]]) -> int:
    """The GPU lease, in seconds, of a forking analysis: (model, precision, the continuations' settings, branches)
    = `request()`, each branch one batched pass of those settings, never longer than ZeroGPU allows. A request that
    cannot be read gets the shortest lease: it fails at once inside it, with its message."""
    try:
        model, precision, settings, branches = request()
    except Exception:
        return math.ceil(START_SECONDS)
    fixed = START_SECONDS + LOAD_SECONDS * loads(settings, gate.served(model, precision))
    return min(max_lease_seconds(), math.ceil(fixed + branches * pass_estimate(settings)))
