"""The server's side of a run from the page or the API: which models it may serve, the Stop switch of each
browser session, and every failure turned into a message a person can read."""

from __future__ import annotations

import contextlib
import html
import json
import logging
import math
import threading
from collections.abc import Callable, Iterator
from typing import Any

import gradio as gr

from playground.characters import Characters
from playground.engine import generate, stream
from playground.engine.branch import branch_point
from playground.engine.compare import compare_path, first_difference
from playground.engine.mass import mass_tree
from playground.engine.speculative import load_draft
from playground.lease import START_SECONDS, Lease, lease_for
from playground.models import LoadedModel, ModelLoadError, load_model
from playground.models.allowlist import check_allowed
from playground.settings import MEDUSA, PRECISIONS, PROMPT_LOOKUP, Settings, SettingsError
from playground.spaces import on_gpu, zero_gpu
from playground.summary import summary
from playground.trace import Comparison, MassTree, Trace
from playground.ui.controls import control_label, control_values, make_settings, whole_number
from playground.ui.pump import batches
from playground.ui.status import status_line
from playground.ui.switches import Switch, Switches
from playground.ui.tokens import next_span, plain_text, trace_html

logger = logging.getLogger(__name__)
UPDATE_INTERVAL = 0.1  # seconds between Output updates while a run streams (the first comes at once)


def user_error(exc: Exception) -> gr.Error:
    """A SettingsError or ModelLoadError as the message a person sees, naming the control."""
    label = control_label(getattr(exc, "field", None))
    message = f"{label}: {exc}" if label else str(exc)
    # gr.Error renders its message as HTML, and the message quotes the value that was sent.
    return gr.Error(html.escape(message, quote=False), print_exception=False)


def failure(exc: Exception) -> gr.Error:
    """What a person sees when a run fails in a way no check foresaw: one line, the details in the server's
    log; the server keeps serving."""
    logger.exception("a run failed")
    message = f"The run failed: {type(exc).__name__}: {str(exc)[:200]}. The details are in the server's log."
    return gr.Error(html.escape(message, quote=False), print_exception=False)


@contextlib.contextmanager
def answered() -> Iterator[None]:
    """Every exception inside becomes a gr.Error a person can read: bad settings, prompts and models name the
    control (`user_error`), anything unforeseen is one line with the details logged (`failure`)."""
    try:
        yield
    except (SettingsError, ModelLoadError, TypeError) as exc:
        raise user_error(exc) from exc
    except gr.Error:
        raise
    except Exception as exc:
        raise failure(exc) from exc


class Runs:
    """The server's side of the page: which models it may serve, and a Stop switch per browser session.

    Stop cannot simply abandon the run's generator: the text made so far, its trace and its views are kept,
    so the run is asked to end at its next step (a `Switch`, which also reaches a run in a ZeroGPU worker) and
    finishes its trace as "cancelled".
    """

    def __init__(self, models: list[str], precision: str, default: LoadedModel) -> None:
        self.models = models  # the host's allowlist, the embedded default first
        self.precision = precision  # the served precision, the page's default
        self.default = default  # loaded at start, so the first run does not wait for a load
        self.switches = Switches()  # Stop switches by browser session, kept in this (the page's) process
        # What runs the model, each call a GPU lease of its own on ZeroGPU (in a forked worker process, whose
        # arguments, yielded values and result are pickled), the methods themselves elsewhere.
        # Each lease's duration is called with its task's arguments.
        self._stream_leased = on_gpu(
            self._stream_task, duration=lambda values, switch, branch: self._controls_seconds("run", values)
        )
        self._compare_leased = on_gpu(
            self._compare_task, duration=lambda values, parent: self._controls_seconds("compare", single(values))
        )
        self._mass_leased = on_gpu(
            self._mass_task, duration=lambda values: self._controls_seconds("mass", single(values))
        )
        self._json_leased = on_gpu(self._json_task, duration=self._json_seconds)

    def check(self, model: Any, precision: Any) -> None:
        """Raises ModelLoadError unless the host allows `model` and `precision` is known."""
        check_allowed(model, self.models)
        if precision not in PRECISIONS:
            raise ModelLoadError(f"precision {str(precision)[:40]!r} is unknown; choose one of {', '.join(PRECISIONS)}")

    def check_draft(self, draft: Any) -> None:
        """A draft model is a model too: the allowlist's, never a path. Prompt lookup, Medusa heads and None
        pass."""
        if draft not in (None, PROMPT_LOOKUP, MEDUSA):
            check_allowed(draft, self.models)

    def load(self, model: Any, precision: Any) -> LoadedModel:
        """The allowed model at the asked precision, loaded once and shared; ModelLoadError names the problem."""
        self.check(model, precision)
        if (model, precision) == (self.default.info.id, self.default.info.precision):
            return self.default
        return load_model(model, precision)

    def stream(
        self, model: Any, precision: Any, prompt: Any, settings: Settings, cancel: threading.Event | None = None
    ) -> Iterator[Any]:
        """The engine's stream over the allowed model and, for speculative decoding, its draft, both loaded here
        (the engine loads nothing)."""
        target = self.load(model, precision)
        return stream(target, prompt, settings, cancel=cancel, draft=load_draft(settings, target))

    def arm(self, session: str | None) -> None:
        """Called when a run's button is clicked, before the run waits in the queue (see `Switches.arm`)."""
        self.switches.arm(session)

    def stop(self, session: str | None) -> bool:
        """The session's Stop: its run ends at its next step; False when it has nothing waiting or going."""
        return self.switches.stop(session)

    def forget(self, session: str | None) -> None:
        """The tab was closed: stop its run, if any, and drop what was kept for it."""
        self.switches.forget(session)

    def generate(
        self,
        values: dict[str, Any],
        session: str | None = None,
        branch: tuple[Any, Any, Any] | None = None,
        many: bool = False,
    ) -> Iterator[tuple[str, str, Trace | None]]:
        """Streams one run as (Output HTML so far, status line, trace), the trace only in the last triple.

        `branch` (parent trace, 1-based step, token id) makes it a branch of that run (`Runs.branch`). Without
        `many`, one run whatever the Samples control says (Generate); with it, that many samples of the sampling
        settings in one batch (Sample many). Bad settings, prompts and models become a `gr.Error` naming the
        control.
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
        self, values: dict[str, Any], parent: Any, step: Any, token: Any, session: str | None = None
    ) -> Iterator[tuple[str, str, Trace | None]]:
        """`generate`, continuing `parent` (the run the page shows) from its 1-based `step` with `token` taken
        there: the parent's prompt, model and prompt format (the tokens belong to them), the controls' other
        settings and precision."""
        yield from self.generate(values, session, branch=(parent, step, token))

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

    def compare(self, values: dict[str, Any], parent: Any) -> Comparison:
        """Configuration B, the controls (model, precision, settings), against run A, the run the page shows:
        B reads A's text by teacher forcing, and writes its own from the same prompt. Problems become a
        `gr.Error`."""
        if not isinstance(parent, Trace) or not parent.steps:
            raise gr.Error("Generate a run first: it is A, and the current settings are B.", print_exception=False)
        return self._compare_leased(values, parent)

    def _compare_task(self, values: dict[str, Any], parent: Trace) -> Comparison:
        """`compare`'s model work, where the GPU is."""
        with answered():
            b_settings = make_settings(single(values)).replace(chat=parent.settings.get("chat"))
            return self._compare(parent, values.get("model"), values.get("precision"), b_settings)

    def mass(self, values: dict[str, Any]) -> MassTree:
        """Where the mass goes after the controls' prompt, under their model, precision and settings (the Depth
        and Threshold controls among them). Problems become a `gr.Error`."""
        return self._mass_leased(values)

    def _mass_task(self, values: dict[str, Any]) -> MassTree:
        """`mass`'s model work, where the GPU is."""
        with answered():
            settings = make_settings(single(values))
            loaded = self.load(values.get("model"), values.get("precision"))
            return mass_tree(loaded, values.get("prompt"), settings)

    def _controls_seconds(self, kind: str, values: dict[str, Any]) -> int:
        """The GPU lease, in seconds, of a request of `kind` from the page's controls."""
        return self._lease_seconds(kind, lambda: (values.get("model"), values.get("precision"), make_settings(values)))

    def _lease_seconds(self, kind: str, request: Callable[[], tuple[Any, Any, Settings]]) -> int:
        """The GPU lease, in seconds, of a request of `kind` for (model, precision, settings) = `request()`. A
        request that cannot be read gets the shortest lease: it fails at once inside it, with its message."""
        try:
            model, precision, settings = request()
        except Exception:
            return math.ceil(START_SECONDS)
        return self._lease(model, precision, settings, kind).seconds

    def _lease(self, model: Any, precision: Any, settings: Settings, kind: str) -> Lease:
        served = (model, precision) == (self.default.info.id, self.default.info.precision)
        return lease_for(settings, kind, served)

    def _leased(self, model: Any, precision: Any, settings: Settings, kind: str) -> Settings:
        """`settings` with each decoding pass bounded by its share of the GPU lease, on ZeroGPU: a pass slower
        than estimated ends as "max_time", keeping its text, before the lease ends (see playground/lease.py)."""
        if not zero_gpu():
            return settings
        bound = self._lease(model, precision, settings, kind).pass_seconds
        return settings.replace(max_time=min(settings.time_budget, bound))

    def _compare(self, a: Trace, model: Any, precision: Any, b_settings: Settings) -> Comparison:
        """Run A (a trace with steps) against B = `model` at `precision` with `b_settings`."""
        self.check(model, precision)
        self.check_draft(b_settings.draft_model)
        b_settings = self._leased(model, precision, b_settings, "compare")
        a_settings = Settings.from_dict(a.settings)
        a_model, b_model = self.load(a.model.id, a.model.precision), self.load(model, precision)
        steps = compare_path(a_model, a_settings, b_model, b_settings, a.prompt.token_ids, a.output.token_ids)
        own = generate(b_model, a.prompt.text, b_settings, draft=load_draft(b_settings, b_model))
        return Comparison(
            a_run=a.run_id,
            b_model=model,
            b_precision=precision,
            b_changes=changed_settings(a_settings, b_settings),
            steps=steps,
            b_token_ids=list(own.output.token_ids),
            b_texts=[step.chosen.text for step in own.steps],
            b_bytes=[step.chosen.bytes for step in own.steps],
            first_difference=first_difference(a.output.token_ids, own.output.token_ids),
        )

    def _stream(
        self, values: dict[str, Any], switch: Switch, branch: tuple[Any, Any, Any] | None = None
    ) -> Iterator[tuple[str, str, Trace | None]]:
        """`generate`'s run itself, `switch` being its Stop switch."""
        settings = make_settings(values)
        if branch is not None:
            values, settings = _branched(values, settings, *branch)
        model, precision = values.get("model"), values.get("precision")
        self.check(model, precision)
        self.check_draft(settings.draft_model)
        settings = self._leased(model, precision, settings, "run")
        if switch.is_set():
            yield "", "Stopped before it started.", None
            return
        shown: list[str] = []  # one span per decided token
        chars = Characters()  # joins a character's bytes split over tokens, as trace_html does
        count = 0
        prompt = values.get("prompt")

        def run() -> Iterator[Any]:
            # On the model thread: loading too, so a model is only ever touched there.
            return self.stream(model, precision, prompt, settings, cancel=switch)

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

    def run_json(self, payload: Any) -> str:
        """The headless endpoint: one JSON object of settings (the Settings/CLI names, plus "prompt", and
        optionally "model" and "precision" from the host's allowlist) in, the run's trace as JSON out.

        Keys that the chosen strategy does not use are accepted and ignored, as the page sends every control;
        an unknown key is an error naming it. Errors become a `gr.Error`.
        """
        return self._json_leased("run", json_object(payload, "payload"))

    def compare_json(self, payload: Any) -> str:
        """The headless Compare: {"prompt": ..., "a": {settings}, "b": {settings}} in, where "a" is run A's
        settings (as /run takes them, "model" and "precision" included) and "b" the settings in which B differs
        from A; out {"a": A's trace, "comparison": per step KL (null when infinite), JS, TV, top-1 agreement,
        A's token under B, both sides' candidates, and B's own text}. Errors become a `gr.Error`."""
        data = json_object(payload, "payload")
        unknown = sorted(set(data) - {"prompt", "a", "b"})
        if unknown:
            raise gr.Error(
                f'unknown key {html.escape(unknown[0])!r}: give "prompt", "a" and "b"', print_exception=False
            )
        a, b = json_object(data.get("a", {}), '"a"'), json_object(data.get("b", {}), '"b"')
        return self._json_leased("compare", {"a": {**a, "prompt": data.get("prompt")}, "b": b})

    def mass_json(self, payload: Any) -> str:
        """The headless "Where the mass goes": /run's JSON object of settings (mass_depth and mass_threshold
        among them) in, the tree as JSON out: nested nodes of token_id, text, prob, joint, other, ended and
        children."""
        return self._json_leased("mass", json_object(payload, "payload"))

    def _json_task(self, kind: str, data: dict[str, Any]) -> str:
        """The headless endpoints' model work, where the GPU is: a run, a comparison or a mass tree."""
        with answered():
            if kind == "compare":
                return self._compare_object(data["a"], data["b"])
            if kind == "mass":
                prompt, model, precision, fields = self._target(data)
                return mass_tree(self.load(model, precision), prompt, Settings.from_dict(fields)).to_json()
            return self._run_object(data).to_json()

    def _json_seconds(self, kind: str, data: dict[str, Any]) -> int:
        """The GPU lease of `_json_task`."""

        def request() -> tuple[Any, Any, Settings]:
            _, model, precision, fields = self._target(data["a"] if kind == "compare" else data)
            return model, precision, Settings.from_dict(fields)

        return self._lease_seconds(kind, request)

    def _compare_object(self, a: dict[str, Any], b: dict[str, Any]) -> str:
        """`compare_json`'s work: run A from its settings `a`, then B (`b`: what differs) along its text."""
        trace = self._run_object(a)
        if not trace.steps:
            raise SettingsError("max_new_tokens", "run A made no token: there is nothing to compare")
        b = dict(b)
        model, precision = b.pop("model", trace.model.id), b.pop("precision", trace.model.precision)
        b_settings = Settings.from_dict({**trace.settings, **b})
        comparison = self._compare(trace, model, precision, b_settings)
        return json.dumps({"a": trace.to_dict(), "comparison": comparison.to_dict()}, ensure_ascii=False)

    def _target(self, data: dict[str, Any]) -> tuple[Any, Any, Any, dict[str, Any]]:
        """/run's object split into (prompt, model, precision, the settings' fields); model and precision
        default to the served ones."""
        data = dict(data)
        return (
            data.pop("prompt", None),
            data.pop("model", self.default.info.id),
            data.pop("precision", self.precision),
            data,
        )

    def _run_object(self, data: dict[str, Any]) -> Trace:
        """One run from /run's object of settings (see `run_json`)."""
        prompt, model, precision, data = self._target(data)
        self.check(model, precision)
        self.check_draft(data.get("draft_model"))
        settings = self._leased(model, precision, Settings.from_dict(data), "run")
        trace = None
        run = lambda: self.stream(model, precision, prompt, settings)  # noqa: E731
        for batch in batches(run, threading.Event()):
            trace = batch[-1].trace
        return trace


def single(values: dict[str, Any]) -> dict[str, Any]:
    """The controls' values for one run: the Samples control is Sample many's alone (Generate, Compare and the
    mass tree make or read one run, whatever it says)."""
    return {**values, "num_samples": 1}


def json_object(payload: Any, name: str) -> dict[str, Any]:
    """`payload` (a JSON text or an already parsed value) as a dict; a gr.Error naming `name` otherwise."""
    try:
        data = json.loads(payload) if isinstance(payload, str) else payload
    except json.JSONDecodeError as exc:
        raise gr.Error(
            f"{name} is not valid JSON: {html.escape(exc.msg)} at position {exc.pos}", print_exception=False
        ) from exc
    if not isinstance(data, dict):
        raise gr.Error(f"{name} must be a JSON object of settings", print_exception=False)
    return data


def _branched(values: dict[str, Any], settings: Settings, parent: Any, step: Any, token: Any) -> tuple[dict, Settings]:
    """The values and settings of a branch of `parent` at `step` taking `token` (see `Runs.branch`)."""
    if not isinstance(parent, Trace) or not parent.steps:
        raise gr.Error("Generate a run first: a branch continues the run shown.", print_exception=False)
    if token is None or token == "":
        raise gr.Error('Pick a token under "Take instead" first.', print_exception=False)
    if isinstance(token, str) and token.strip().isdigit():
        token = int(token)
    point = branch_point(parent, whole_number(step), token)
    values = {**values, "model": parent.model.id, "prompt": parent.prompt.text}
    return values, settings.replace(chat=parent.settings.get("chat"), **point)


def changed_settings(a: Settings, b: Settings) -> dict[str, Any]:
    """The settings in which B differs from A (a branch's forced tokens left out: B runs from the prompt)."""
    a_values, b_values = a.to_dict(), b.to_dict()
    return {k: v for k, v in b_values.items() if a_values[k] != v and k not in ("prefix_ids", "parent_run")}
