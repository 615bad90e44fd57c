"""The token probe's model work for the page and /probe: the shown run (or one given) read again by teacher
forcing with its own model, precision and settings. One GPU lease on ZeroGPU; problems become a `gr.Error`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr

from playground.engine.probe import probe
from playground.settings import Settings
from playground.spaces import on_gpu
from playground.trace import Probe, Trace
from playground.ui.errors import answered
from playground.ui.gate import Gate
from playground.ui.leases import request_seconds


def probed(gate: Gate, trace: Trace, query: str, space: bool) -> Probe:
    """`query` (a word or a token id) probed at every step of `trace`, under the run's model, precision and
    settings, which `gate` must serve."""
    gate.check(trace.model.id, trace.model.precision)
    loaded = gate.load(trace.model.id, trace.model.precision)
    settings = Settings.from_dict(trace.settings)
    return probe(loaded, settings, trace.prompt.token_ids, trace.output.token_ids, query, space)


def probe_seconds(gate: Gate, trace: Callable[[], Trace]) -> int:
    """The GPU lease of probing the run `trace()` gives: about a comparison's (teacher-forced passes over its
    text); the shortest when `trace()` fails (the request then fails at once inside its lease, with its message)."""

    def request() -> tuple[Any, Any, Settings]:
        shown = trace()
        return shown.model.id, shown.model.precision, Settings.from_dict(shown.settings)

    return request_seconds(gate, "compare", request)


class Probes:
    """The page's Probe button over the models `gate` lets a request name."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self._leased = on_gpu(self._task, duration=lambda trace, query, space: probe_seconds(gate, lambda: trace))

    def probe(self, trace: Any, query: Any, space: bool) -> Probe:
        """`query` probed along the shown run `trace`; a gr.Error when there is no run or nothing typed."""
        if not isinstance(trace, Trace) or not trace.steps:
            raise gr.Error("Generate a run first: the probe reads its steps.", print_exception=False)
        return self._leased(trace, str(query or ""), space)

    def _task(self, trace: Trace, query: str, space: bool) -> Probe:
        """`probe`'s model work, where the GPU is."""
        with answered():
            return probed(self.gate, trace, query, space)
