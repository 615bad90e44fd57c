"""The forking analysis's server side, for the page's tab and /fork: the request read from the tab's controls (or a
JSON object), checked; the analysis of a run with its own model and precision, streamed as it goes, under the tab's
Stop switch, keeping what was made. One GPU lease on ZeroGPU; problems become a `gr.Error` naming the control."""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Iterator
from typing import Any

import gradio as gr

from playground.fork.request import ForkRequest
from playground.fork.result import ForkAnalysis, ForkProgress
from playground.fork.run import continuation_settings, fork_analysis
from playground.settings import Settings, SettingsError
from playground.spaces import on_gpu
from playground.trace import Trace
from playground.ui.errors import answered
from playground.ui.gate import Gate
from playground.ui.leases import fork_seconds
from playground.ui.switches import Switch, Switches

# The request's fields as the tab labels its controls (and names them in a message), in the tab's order.
LABELS = {
    "samples": "Samples per branch",
    "alternatives": "Alternatives",
    "stride": "Every k-th position",
    "max_positions": "Max positions",
    "max_new_tokens": "Continuation length",
    "threshold": "Change-point threshold",
    "rule": "Outcome rule",
    "pattern": "Pattern",
}
FIELDS = tuple(LABELS)
# What a message names beside the fields: the rule's checks name outcome_rule and outcome_pattern, the budget its
# limit.
NAMED = {**LABELS, "outcome_rule": LABELS["rule"], "outcome_pattern": LABELS["pattern"], "max_fork_tokens": "Budget"}


def fork_request(values: dict[str, Any]) -> ForkRequest:
    """The ForkRequest the tab's controls or a /fork object (`values`, by field name; missing ones default) ask
    for; whole numbers a browser sends as floats become ints. SettingsError names a bad field."""
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        field = unknown[0]
        raise SettingsError(field, f"{field!r:.40} is not a field of the forking analysis (give {', '.join(FIELDS)})")
    defaults = {field.name: field.default for field in dataclasses.fields(ForkRequest)}
    given = {name: _whole(value, defaults.get(name)) for name, value in values.items() if value is not None}
    return ForkRequest(**given)


def _whole(value: Any, default: Any) -> Any:
    """A float that holds a whole number, where the field's default is an int (a browser's number box sends 8.0)."""
    if isinstance(default, int) and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def named(exc: SettingsError) -> gr.Error:
    """A problem with a request's field as the message a person sees, naming the tab's control."""
    field = getattr(exc, "field", "")
    message = f"{NAMED[field]} ({field}): {exc}" if field in NAMED else str(exc)
    return gr.Error(html.escape(message, quote=False), print_exception=False)


def forked(gate: Gate, trace: Trace, request: ForkRequest, cancel: Any) -> Iterator[ForkProgress | ForkAnalysis]:
    """The forking analysis of `trace` with its own model and precision (which `gate` must serve), as
    `fork_analysis` streams it; stopped by `cancel`, it ends with the partial analysis."""
    request.check_budget(len(trace.output.token_ids))  # refused by name before any model work
    gate.check(trace.model.id, trace.model.precision)
    loaded = gate.load(trace.model.id, trace.model.precision)
    yield from fork_analysis(loaded, trace, request, cancel)


def fork_work(model: Any, precision: Any, settings: Settings, count: int, request: ForkRequest) -> tuple[Any, ...]:
    """(model, precision, the continuations' settings, how many branches at most) of analysing a run of `count`
    tokens made with `settings`, for its lease: each branch is one batch of `request.samples` sampled rows of
    `request.max_new_tokens` tokens."""
    continuations = settings.replace(
        strategy="sample", num_samples=request.samples, max_new_tokens=request.max_new_tokens, prefix_ids=()
    )
    return model, precision, continuations, len(request.positions(count)) * (1 + request.alternatives)


def trace_request(trace: Trace, request: ForkRequest) -> tuple[Any, ...]:
    """`fork_work` of analysing the run `trace`, its continuations as the analysis samples them."""
    branches = len(request.positions(len(trace.output.token_ids))) * (1 + request.alternatives)
    return trace.model.id, trace.model.precision, continuation_settings(trace, request), branches


class Forks:
    """The tab's Run over the models `gate` lets a request name, Stop by `switches`."""

    def __init__(self, gate: Gate, switches: Switches) -> None:
        self.gate = gate
        self.switches = switches
        self._leased = on_gpu(
            self._task,
            duration=lambda trace, request, switch: fork_seconds(gate, lambda: trace_request(trace, request)),
        )

    def analyse(self, trace: Any, values: dict[str, Any], session: Any) -> Iterator[ForkProgress | ForkAnalysis]:
        """Streams the forking analysis of the shown run `trace` as the tab's controls (`values`) ask; a
        gr.Error when there is no run or a control is bad, naming it."""
        if not isinstance(trace, Trace) or not trace.steps:
            raise gr.Error("Generate a run first: the analysis forks the shown run's steps.", print_exception=False)
        try:
            request = fork_request(values)
        except SettingsError as exc:
            raise named(exc) from exc
        with self.switches.run(session) as switch:
            yield from self._leased(trace, request, switch)

    def _task(self, trace: Trace, request: ForkRequest, switch: Switch) -> Iterator[ForkProgress | ForkAnalysis]:
        """`analyse`'s model work, where the GPU is."""
        try:
            with answered():
                yield from forked(self.gate, trace, request, switch)
        except gr.Error as exc:
            cause = exc.__cause__
            if isinstance(cause, SettingsError) and cause.field in NAMED:
                raise named(cause) from cause
            raise
