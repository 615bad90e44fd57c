"""The headless endpoints, /run, /compare, /mass, /compress, /lens, /probe and /fork: a JSON object of settings in (the
Settings/CLI names, plus "prompt", and optionally "model" and "precision" from the host's allowlist), JSON out. Each
request is one GPU lease on ZeroGPU; errors become a `gr.Error`."""

from __future__ import annotations

import html
import json
import threading
from typing import Any

import gradio as gr

from playground.engine.logit_lens import lens_step
from playground.engine.mass import mass_tree
from playground.settings import Settings, SettingsError
from playground.spaces import on_gpu
from playground.trace import Trace
from playground.ui.compressions import Ask, compressed, stages
from playground.ui.errors import answered
from playground.ui.experiments import compared
from playground.ui.forks import NAMED as FORK_NAMED
from playground.ui.forks import fork_request, fork_work, forked, named, trace_request
from playground.ui.gate import Gate
from playground.ui.leases import bounded, fork_seconds, request_seconds
from playground.ui.probes import probed
from playground.ui.pump import batches

COMPRESS_KEYS = ("ratio", "budget", "span", "force_tokens", "run")  # /compress's own keys beside /run's
LENS_KEYS = ("trace", "step")  # /lens's own keys beside /run's
PROBE_KEYS = ("word", "space")  # /probe's own keys beside a trace or /run's
FORK_KEYS = ("trace", "fork")  # /fork's own keys beside /run's
OWN_KEYS = {"compress": COMPRESS_KEYS, "lens": LENS_KEYS, "probe": PROBE_KEYS, "fork": FORK_KEYS}  # beside /run's
# The work an endpoint's lease is sized as: a compression is about a run (one pass a segment; with "run", a
# comparison's two runs and a pass), the lens a run and one pass over its text, the probe a run and its reading.
WORK = {"compress": "run", "lens": "run", "probe": "compare"}


def traced_request(value: Any) -> tuple[Any, Any, Settings]:
    """(model, precision, settings) of a trace a request gives."""
    trace = given_trace(value)
    return trace.model.id, trace.model.precision, Settings.from_dict(trace.settings)


class JsonApi:
    """The /run, /compare, /mass, /compress and /probe endpoints over the models `gate` lets a request name."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        # One GPU lease per request on ZeroGPU (arguments and result pickled), sized from the request.
        self._json_leased = on_gpu(self._json_task, duration=self._json_seconds)

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

    def compress_json(self, payload: Any) -> str:
        """The headless "Compress the prompt": /run's JSON object of settings plus "ratio" (default 0.5) or
        "budget" (tokens to keep), "span" ([start, end) characters of the prompt to compress; default all but the
        last sentence), "force_tokens" (words never dropped) and "run" (true: also run both prompts). Out:
        {"compression": the Compression as `python -m playground compress --json` prints it}, and with "run" both
        runs' answers and prefill ("original", "compressed"), "kl" (KL(original || compressed) per step of the
        original's answer, null when infinite), "first_difference", "prefill_tokens_saved" and
        "prefill_s_saved". Errors become a `gr.Error`."""
        return self._json_leased("compress", json_object(payload, "payload"))

    def lens_json(self, payload: Any) -> str:
        """The headless logit lens: {"trace": a trace (as /run or the export gives it), "step": K} or /run's JSON
        object of settings plus "step" (default 1; the run is made first). Out: the lens of step K as
        `python -m playground lens --json` prints it: every layer's top tokens, the chosen token's rank,
        probability and KL(layer || final), "first_top1_layer" (layers counted from 1; null if none), and the run's
        "output" text. Errors become a `gr.Error`."""
        return self._json_leased("lens", json_object(payload, "payload"))

    def probe_json(self, payload: Any) -> str:
        """The headless "Token probe": {"word": a word or a token id, "space": probe " word" (default true), and
        either "trace": a run's trace (as /run gives it) or /run's settings (the run is made first)}. Out:
        {"probe": what was probed (form, token_ids, pieces, note) and per step the probed token's probability and
        rank after every stage, the run's own token's probability, and a word's chain-rule probability
        ("word_probs", null for one token)}, and "trace" when the run was made here."""
        return self._json_leased("probe", json_object(payload, "payload"))

    def fork_json(self, payload: Any) -> str:
        """The headless forking analysis: {"trace": a trace (as /run or the export gives it)} or /run's JSON object
        of settings (the run is made first), plus "fork": the analysis' fields ("samples", "alternatives", "stride",
        "max_positions", "max_new_tokens" of each continuation, "threshold", "rule", "pattern"; each defaults as in
        the tab). Out: the analysis as `ForkAnalysis.to_dict` gives it (what `python -m playground fork --json`
        prints). Errors become a `gr.Error` naming the field."""
        return self._json_leased("fork", json_object(payload, "payload"))

    def _json_task(self, kind: str, data: dict[str, Any]) -> str:
        """The headless endpoints' model work, where the GPU is: a run, a comparison, a mass tree or a
        compression."""
        with answered():
            if kind == "compare":
                return self._compare_object(data["a"], data["b"])
            if kind == "compress":
                return self._compress_object(data)
            if kind == "lens":
                return self._lens_object(data)
            if kind == "probe":
                return self._probe_object(data)
            if kind == "fork":
                return self._fork_object(data)
            if kind == "mass":
                prompt, model, precision, fields = self._target(data)
                return mass_tree(self.gate.load(model, precision), prompt, Settings.from_dict(fields)).to_json()
            return self._run_object(data).to_json()

    def _json_seconds(self, kind: str, data: dict[str, Any]) -> int:
        """The GPU lease of `_json_task`: the run a request names (or the trace it gives), sized as the work it
        leads to (`WORK`)."""
        if kind == "fork":
            return fork_seconds(self.gate, lambda: self._fork_work(data))
        work = WORK.get(kind, kind)
        if kind == "compress" and data.get("run"):
            work = "compare"  # two runs and a teacher-forced pass
        if kind in ("lens", "probe") and "trace" in data:  # passes over a given run's text
            return request_seconds(self.gate, work, lambda: traced_request(data["trace"]))
        own = OWN_KEYS.get(kind, ())
        run = data["a"] if kind == "compare" else {k: v for k, v in data.items() if k not in own}

        def request() -> tuple[Any, Any, Settings]:
            _, model, precision, fields = self._target(run)
            return model, precision, Settings.from_dict(fields)

        return request_seconds(self.gate, work, request)

    def _fork_work(self, data: dict[str, Any]) -> tuple[Any, ...]:
        """`fork_work` of a /fork object: the given trace's, or, for a run made from settings, its tokens at most
        and one branch more for the run itself."""
        fork = fork_request(json_object(data.get("fork", {}), '"fork"'))
        if "trace" in data:
            return trace_request(given_trace(data["trace"]), fork)
        _, model, precision, fields = self._target({k: v for k, v in data.items() if k not in FORK_KEYS})
        settings = Settings.from_dict(fields)
        model, precision, continuations, branches = fork_work(model, precision, settings, settings.max_new_tokens, fork)
        return model, precision, continuations, branches + 1

    def _fork_object(self, data: dict[str, Any]) -> str:
        """`fork_json`'s work: the given trace, or a run from the settings, then its forking analysis."""
        try:
            fork = fork_request(json_object(data.get("fork", {}), '"fork"'))
        except SettingsError as exc:
            raise named(exc) from exc
        run = {k: v for k, v in data.items() if k not in FORK_KEYS}
        if "trace" in data:
            other = next((key for key in run), None)
            if other is not None:
                raise SettingsError("trace", f'give a "trace" or settings, not both (also {other!r})')
            trace = given_trace(data["trace"])
        else:
            trace = self._run_object(run)
        try:
            *_, analysis = forked(self.gate, trace, fork, threading.Event())
        except SettingsError as exc:
            raise (named(exc) if exc.field in FORK_NAMED else exc) from exc
        return json.dumps(analysis.to_dict(), ensure_ascii=False)

    def _compress_object(self, data: dict[str, Any]) -> str:
        """`compress_json`'s work: the compression, then, when asked, both prompts' runs and the KL."""
        knobs = {key: data[key] for key in COMPRESS_KEYS if key in data}
        prompt, model, precision, fields = self._target({k: v for k, v in data.items() if k not in COMPRESS_KEYS})
        if "ratio" in knobs and "budget" in knobs:
            raise SettingsError("budget", 'give "ratio" or "budget", not both')
        settings = Settings.from_dict(fields)
        self.gate.check(model, precision)
        ratio, budget, span = knobs.get("ratio", 0.5), knobs.get("budget"), knobs.get("span")
        force = knobs.get("force_tokens", ())
        text, compression = compressed(
            self.gate, model, precision, prompt, settings, Ask(ratio, budget, force=force, span=span)
        )
        answer = {"compression": compression.to_dict()}
        if knobs.get("run"):
            *_, done = stages(self.gate, model, precision, settings, text, compression, threading.Event())
            answer.update(done.result.to_dict())
        return json.dumps(answer, ensure_ascii=False)

    def _lens_object(self, data: dict[str, Any]) -> str:
        """`lens_json`'s work: the given trace, or a run from the settings, then the lens of its step."""
        if "trace" in data:
            extra = sorted(set(data) - set(LENS_KEYS))
            if extra:
                raise SettingsError(extra[0], f'with "trace", give only "step", not {extra[0]!r}')
            trace = given_trace(data["trace"])
        else:
            trace = self._run_object({k: v for k, v in data.items() if k not in LENS_KEYS})
        lens = lens_step(self.gate.load(trace.model.id, trace.model.precision), trace, data.get("step", 1))
        return json.dumps({"output": trace.output.text, **lens.to_dict()}, ensure_ascii=False)

    def _probe_object(self, data: dict[str, Any]) -> str:
        """`probe_json`'s work: the run given or made, then the probe along it."""
        word, space = data.get("word"), data.get("space", True)
        if not isinstance(word, str | int) or isinstance(word, bool) or not isinstance(space, bool):
            raise SettingsError("word", 'give "word" (a word or a token id) and, if at all, "space" as true or false')
        settings = {k: v for k, v in data.items() if k not in PROBE_KEYS}
        answer: dict[str, Any] = {}
        if "trace" in settings:
            other = next((key for key in settings if key != "trace"), None)
            if other is not None:
                raise SettingsError("trace", f'give a "trace" or settings, not both (also {other!r})')
            trace = Trace.from_dict(json_object(settings["trace"], '"trace"'))
        else:
            trace = self._run_object(settings)
            answer["trace"] = trace.to_dict()
        answer["probe"] = probed(self.gate, trace, str(word), space).to_dict()
        return json.dumps(answer, ensure_ascii=False)

    def _compare_object(self, a: dict[str, Any], b: dict[str, Any]) -> str:
        """`compare_json`'s work: run A from its settings `a`, then B (`b`: what differs) along its text."""
        trace = self._run_object(a)
        if not trace.steps:
            raise SettingsError("max_new_tokens", "run A made no token: there is nothing to compare")
        b = dict(b)
        model, precision = b.pop("model", trace.model.id), b.pop("precision", trace.model.precision)
        b_settings = Settings.from_dict({**trace.settings, **b})
        comparison = compared(self.gate, trace, model, precision, b_settings)
        return json.dumps({"a": trace.to_dict(), "comparison": comparison.to_dict()}, ensure_ascii=False)

    def _target(self, data: dict[str, Any]) -> tuple[Any, Any, Any, dict[str, Any]]:
        """/run's object split into (prompt, model, precision, the settings' fields); model and precision
        default to the served ones."""
        data = dict(data)
        return (
            data.pop("prompt", None),
            data.pop("model", self.gate.default.info.id),
            data.pop("precision", self.gate.precision),
            data,
        )

    def _run_object(self, data: dict[str, Any]) -> Trace:
        """One run from /run's object of settings (see `run_json`)."""
        prompt, model, precision, data = self._target(data)
        self.gate.check(model, precision)
        self.gate.check_draft(data.get("draft_model"))
        settings = bounded(self.gate, model, precision, Settings.from_dict(data), "run")
        trace = None
        run = lambda: self.gate.stream(model, precision, prompt, settings)  # noqa: E731
        for batch in batches(run, threading.Event()):
            trace = batch[-1].trace
        return trace


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


def given_trace(value: Any) -> Trace:
    """A trace sent to an endpoint (its JSON text or object), checked; SettingsError("trace") names a bad one."""
    try:
        trace = Trace.from_json(value) if isinstance(value, str) else Trace.from_dict(value)
        trace.validate()
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise SettingsError("trace", f"is not a trace: {str(exc)[:200]}") from exc
    return trace
