"""The page's runs: Generate, a branch of the shown run, Sample many and a sample opened alone, each streamed
into the Output as (Output HTML so far, status line, trace) under its tab's Stop switch.

Stop cannot simply abandon the run's generator: the text made so far, its trace and its views are kept, so the
run is asked to end at its next step (a `Switch`, which also reaches a run in a ZeroGPU worker) and finishes its
trace as "cancelled".
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gradio as gr

from playground.characters import Characters
from playground.engine.branch import branch_point
from playground.settings import Settings
from playground.spaces import on_gpu
from playground.summary import summary
from playground.trace import Trace
from playground.ui.controls import control_values, make_settings, single, whole_number
from playground.ui.errors import answered
from playground.ui.gate import Gate
from playground.ui.leases import bounded, controls_seconds
from playground.ui.pump import batches
from playground.ui.status import status_line
from playground.ui.switches import Switch, Switches
from playground.ui.tokens import next_span, plain_text, trace_html

UPDATE_INTERVAL = 0.1  # seconds between Output updates while a run streams (the first comes at once)


class PageRuns:
    """The runs a page streams into its Output, one at a time per browser session (`switches`)."""

    def __init__(self, gate: Gate, switches: Switches) -> None:
        self.gate = gate
        self.switches = switches  # kept in this (the page's) process, whatever process runs the model
        # The model's work, each call a GPU lease of its own on ZeroGPU (in a forked worker process, whose
        # arguments, yielded values and result are pickled); the lease is sized from the call's arguments.
        self._stream_leased = on_gpu(
            self._stream_task, duration=lambda values, switch, branch: controls_seconds(self.gate, "run", values)
        )

    def generate(
        self,
        values: dict[str, Any],
        session: str | None = None,
        branch: tuple[Any, Any, Any] | None = None,
        many: bool = False,
    ) -> Iterator[tuple[str, str, Trace | None]]:
        """Streams one run as (Output HTML so far, status line, trace), the trace only in the last triple.

        `branch` (parent trace, 1-based step, token id) makes it a branch of that run (`PageRuns.branch`).
        Without `many`, one run whatever the Samples control says (Generate); with it, that many samples of the
        sampling settings in one batch (Sample many). Bad settings, prompts and models become a `gr.Error`
        naming the control.
        """
        values = {**values, "strategy": "sample"} if many else single(values)
        with self.switches.run(session) as switch:  # in this process, whatever process runs the model
            yield from self._stream_leased(values, switch, branch)

    def _stream_task(
        self, values: dict[str, Any], switch: Switch, branch: tuple[Any, Any, Any] | None
    ) -> Iterator[tuple[str, str, Trace | None]]:
        """`generate`'s model work, where the GPU is (a ZeroGPU worker or this process)."""
        with answered():
            yield from self._stream(values, switch, branch)

    def branch(
        self,
        values: dict[str, Any],
        parent: Any,
        step: Any,
        token: Any,
        session: str | None = None,
        many: bool = False,
    ) -> Iterator[tuple[str, str, Trace | None]]:
        """`generate`, continuing `parent` (the run the page shows) from its 1-based `step` with `token` taken
        there: the parent's prompt, model and prompt format (the tokens belong to them), the controls' other
        settings and precision. With `many` ("Sample many from here"), the Samples control's number of samples
        of the sampling settings continue from there, in one batch."""
        yield from self.generate(values, session, branch=(parent, step, token), many=many)

    def open_sample(self, many: Any, seed: Any, session: str | None = None) -> Iterator[tuple[str, str, Trace | None]]:
        """Streams the sample of the many-sample run `many` with `seed` as a run of its own: its prompt, model
        and settings, one sample, that seed. It writes the sample's tokens again (the tests check that a
        sample is the run its seed gives), now with every candidate recorded."""
        if not isinstance(many, Trace) or many.samples is None:
            raise gr.Error('Press "Sample many" first: a sample opens from its run.', print_exception=False)
        seeds = [sample.seed for sample in many.samples.samples]
        if isinstance(seed, bool) or not isinstance(seed, int | float) or int(seed) not in seeds:
            raise gr.Error('Pick a sample under "Open a sample" first.', print_exception=False)
        settings = Settings.from_dict(many.settings).replace(num_samples=1, seed=int(seed))
        values = {
            **control_values(settings, many.prompt.text),
            "model": many.model.id,
            "precision": many.model.precision,
        }
        yield from self.generate(values, session)

    def _stream(
        self, values: dict[str, Any], switch: Switch, branch: tuple[Any, Any, Any] | None = None
    ) -> Iterator[tuple[str, str, Trace | None]]:
        """`generate`'s run itself, `switch` being its Stop switch."""
        settings = make_settings(values)
        if branch is not None:
            values, settings = _branched(values, settings, *branch)
        model, precision = values.get("model"), values.get("precision")
        self.gate.check(model, precision)
        self.gate.check_draft(settings.draft_model)
        settings = bounded(self.gate, model, precision, settings, "run")
        if switch.is_set():
            yield "", "Stopped before it started.", None
            return
        shown: list[str] = []  # one span per decided token
        chars = Characters()  # joins a character's bytes split over tokens, as trace_html does
        count = 0
        prompt = values.get("prompt")

        def run() -> Iterator[Any]:
            # On the model thread: loading too, so a model is only ever touched there.
            return self.gate.stream(model, precision, prompt, settings, cancel=switch)

        for batch in batches(run, switch, min_interval=UPDATE_INTERVAL):
            last = batch[-1]
            if last.trace is not None:
                yield trace_html(last.trace), status_line(summary(last.trace)), last.trace
                return
            count += sum(update.note is None for update in batch)
            shown += [next_span(chars, update.step) for update in batch if update.step is not None]
            if last.note is not None:  # the steps are done; the run says what it still does
                yield "".join(shown), last.note, None
                continue
            # Beam search reports no step: its running best beam changes as a whole.
            # Many samples show the first one's tokens, which stay when it ends before the others.
            text = "".join(shown) if last.step is not None or settings.num_samples > 1 else plain_text(last.text)
            yield text, f"Generating… step {count}", None


def _branched(values: dict[str, Any], settings: Settings, parent: Any, step: Any, token: Any) -> tuple[dict, Settings]:
    """The values and settings of a branch of `parent` at `step` taking `token` (see `PageRuns.branch`)."""
    if not isinstance(parent, Trace) or not parent.steps:
        raise gr.Error("Generate a run first: a branch continues the run shown.", print_exception=False)
    if token is None or token == "":
        raise gr.Error('Pick a token under "Take instead" first.', print_exception=False)
    if isinstance(token, str) and token.strip().isdigit():
        token = int(token)
    point = branch_point(parent, whole_number(step), token)
    values = {**values, "model": parent.model.id, "prompt": parent.prompt.text}
    return values, settings.replace(chat=parent.settings.get("chat"), **point)
