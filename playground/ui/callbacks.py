"""What the page's events do: turn the controls' values into Settings, stream the engine, format the lines.

No layout here (that is `page.py`), so these functions can be called and tested without a browser. The
controls are named by `CONTROLS`, which is also the order of the /generate endpoint's parameters.
"""

from __future__ import annotations

import contextlib
import html
import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

import gradio as gr

from playground.engine import stream
from playground.knobs import BY_NAME
from playground.models import LoadedModel, ModelLoadError, load_draft, load_model
from playground.models.allowlist import check_allowed
from playground.settings import PRECISIONS, PROMPT_LOOKUP, Settings, SettingsError
from playground.trace import Trace
from playground.ui.pump import batches
from playground.ui.tokens import plain_text, token_span, trace_html

logger = logging.getLogger(__name__)

# (label a person sees, value the event receives: Settings.strategy, so API callers use the same words as the
# CLI and the trace)
STRATEGY_CHOICES = [
    ("Greedy", "greedy"),
    ("Sampling", "sample"),
    ("Beam search", "beam"),
    ("Constrained beam search", "constrained"),
    ("Speculative decoding", "speculative"),
]
PROMPT_FORMATS = [("Chat", "chat"), ("Raw", "raw")]
# Speculative drafts offered on the page: the target's own weights at a cheaper precision, or prompt lookup;
# the page adds the host's other models (`draft_choices`), which are drafts only if they share the tokenizer.
DRAFT_CHOICES = [
    ("Same model, bf16", "bf16"),
    ("Same model, fp32", "fp32"),
    ("Same model, nf4", "nf4"),
    ("Prompt lookup (no model)", PROMPT_LOOKUP),
]
# Every control the generate event reads, in the order of its parameters (and of the /generate API's).
CONTROLS = (
    "model",
    "precision",
    "prompt",
    "prompt_format",
    "strategy",
    "temperature",
    "top_p",
    "top_k",
    "min_p",
    "typical_p",
    "repetition_penalty",
    "no_repeat_ngram_size",
    "max_new_tokens",
    "seed",
    "num_beams",
    "length_penalty",
    "num_return_sequences",
    "forced_words",
    "one_of",
    "draft",
    "num_draft_tokens",
    "do_sample",
    "measure_speedup",
    "stop_strings",
)
UPDATE_INTERVAL = 0.1  # seconds between Output updates while a run streams (the first comes at once)

STOP_REASON_TEXT = {
    "eos": "end of sequence",
    "max_new_tokens": "max new tokens reached",
    "stop_string": "stop string",
    "max_time": "time limit reached",
    "cancelled": "stopped by you",
}


DRAFT_MODEL = "model:"  # prefix of a Draft value naming another model of the allowlist, at bf16


def draft_choices(models: list[str]) -> list[tuple[str, str]]:
    """The Draft dropdown's choices on a page serving `models`."""
    return DRAFT_CHOICES + [(f"{model} (bf16)", DRAFT_MODEL + model) for model in models]


def make_settings(values: dict[str, Any]) -> Settings:
    """Settings from the raw control values (named as in `CONTROLS`; model, precision and prompt are not
    settings and are ignored); raises SettingsError naming the first bad field.

    A browser's number box sends whole numbers as floats (50.0); they count as whole numbers.
    """
    draft = values.get("draft", "bf16")
    prompt_format = values.get("prompt_format", "chat")
    if prompt_format not in ("chat", "raw"):
        raise SettingsError("chat", f"prompt format must be chat or raw, got {prompt_format!r}")
    return Settings(
        strategy=values.get("strategy", "greedy"),
        chat=prompt_format == "chat",
        temperature=values.get("temperature", 1.0),
        top_p=values.get("top_p", 1.0),
        top_k=_whole(values.get("top_k", 50)),
        min_p=values.get("min_p", 0.0),
        typical_p=values.get("typical_p", 1.0),
        repetition_penalty=values.get("repetition_penalty", 1.0),
        no_repeat_ngram_size=_whole(values.get("no_repeat_ngram_size", 0)),
        max_new_tokens=_whole(values.get("max_new_tokens", 64)),
        seed=_whole(values.get("seed", 0)),
        num_beams=_whole(values.get("num_beams", 4)),
        length_penalty=values.get("length_penalty", 1.0),
        num_return_sequences=_whole(values.get("num_return_sequences", 1)),
        force_words=split_phrases(values.get("forced_words", "")),
        force_one_of=split_sets(values.get("one_of", "")),
        draft_model=_draft_model(draft),
        draft_precision="bf16" if _draft_model(draft) else draft,
        num_draft_tokens=_whole(values.get("num_draft_tokens", 4)),
        do_sample=values.get("do_sample", False),
        measure_speedup=values.get("measure_speedup", False),
        stop=split_stops(values.get("stop_strings", "")),
    )


def control_values(settings: Settings, prompt: str) -> dict[str, Any]:
    """What each control shows for `settings` and `prompt`: the inverse of `make_settings` (presets use it)."""
    if settings.draft_model not in (None, PROMPT_LOOKUP) and settings.draft_precision != "bf16":
        raise ValueError("the page offers other models as draft at bf16 only")
    return {
        "prompt": prompt,
        "prompt_format": "raw" if settings.chat is False else "chat",
        "strategy": settings.strategy,
        "temperature": settings.temperature,
        "top_p": settings.top_p,
        "top_k": settings.top_k,
        "min_p": settings.min_p,
        "typical_p": settings.typical_p,
        "repetition_penalty": settings.repetition_penalty,
        "no_repeat_ngram_size": settings.no_repeat_ngram_size,
        "max_new_tokens": settings.max_new_tokens,
        "seed": settings.seed,
        "num_beams": settings.num_beams,
        "length_penalty": settings.length_penalty,
        "num_return_sequences": settings.num_return_sequences,
        "forced_words": ", ".join(settings.force_words),
        "one_of": "\n".join(" | ".join(group) for group in settings.force_one_of),
        "draft": _draft_value(settings),
        "num_draft_tokens": settings.num_draft_tokens,
        "do_sample": settings.do_sample,
        "measure_speedup": settings.measure_speedup,
        "stop_strings": "\n".join(s.replace("\n", "\\n") for s in settings.stop),
    }


def split_phrases(text: Any) -> tuple[str, ...]:
    """ "umbrella, rainy day" or one per line -> ("umbrella", "rainy day"); blanks are dropped."""
    if not isinstance(text, str):
        return text or ()
    return tuple(p.strip() for line in text.splitlines() for p in line.split(",") if p.strip())


def split_sets(text: Any) -> tuple[tuple[str, ...], ...]:
    """ "red | blue | green" per line -> (("red", "blue", "green"),); blank lines are dropped.

    Empty options ("red || blue") are kept, so Settings can name the mistake instead of hiding it.
    """
    if not isinstance(text, str):
        return text or ()
    return tuple(tuple(o.strip() for o in line.split("|")) for line in text.splitlines() if line.strip())


def split_stops(text: Any) -> tuple[str, ...]:
    """One stop string per line, "\\n" written out standing for a line break; blank lines are dropped.

    Spaces are kept: " the" and "the" are different stop strings.
    """
    if not isinstance(text, str):
        return text or ()
    return tuple(line.replace("\\n", "\n") for line in text.splitlines() if line.strip())


def _draft_model(draft: Any) -> str | None:
    """The draft_model a Draft value names: None for the target's own weights."""
    if draft == PROMPT_LOOKUP:
        return PROMPT_LOOKUP
    if isinstance(draft, str) and draft.startswith(DRAFT_MODEL):
        return draft[len(DRAFT_MODEL) :]
    return None


def _draft_value(settings: Settings) -> str:
    """The Draft value for `settings`: the inverse of `_draft_model`."""
    if settings.draft_model is None:
        return settings.draft_precision
    return settings.draft_model if settings.draft_model == PROMPT_LOOKUP else DRAFT_MODEL + settings.draft_model


def _whole(value: Any) -> Any:
    # A browser's number box and JSON clients may send 50.0 for 50; Settings wants an int and will name the
    # field if a genuine fraction such as 50.5 arrives.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def control_label(field: Any) -> str | None:
    """The label of the control that sets `field`, where it does not simply say the field's name (an error
    about force_words names "Forced words" too, one about temperature needs no more)."""
    knob = BY_NAME.get(field) if isinstance(field, str) else None
    if knob is None or knob.label.lower().replace(" ", "_").replace("-", "_") == field:
        return None
    return knob.label


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
    so the run is asked to end at its next step (`threading.Event`) and finishes its trace as "cancelled".
    """

    def __init__(self, models: list[str], precision: str, default: LoadedModel) -> None:
        self.models = models  # the host's allowlist, the embedded default first
        self.precision = precision  # the served precision, the page's default
        self.default = default  # loaded at start, so the first run does not wait for a load
        # Stop switches by browser session: clicked but still queued, and running.
        self._armed: dict[str | None, threading.Event] = {}
        self._running: dict[str | None, threading.Event] = {}
        self._guard = threading.Lock()

    def check(self, model: Any, precision: Any) -> None:
        """Raises ModelLoadError unless the host allows `model` and `precision` is known."""
        check_allowed(model, self.models)
        if precision not in PRECISIONS:
            raise ModelLoadError(f"precision {str(precision)[:40]!r} is unknown; choose one of {', '.join(PRECISIONS)}")

    def check_draft(self, draft: Any) -> None:
        """A draft model is a model too: the allowlist's, never a path. Prompt lookup and None pass."""
        if draft not in (None, PROMPT_LOOKUP):
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
        """Called when Generate is clicked, before the run waits in the queue: a fresh Stop switch. A tab
        gets one run at a time, so one visitor cannot fill the queue; a second click is refused."""
        with self._guard:
            if session in self._armed or session in self._running:
                raise gr.Error(
                    "This tab already has a run waiting or going: wait for it, or press Stop.", print_exception=False
                )
            self._armed[session] = threading.Event()

    def stop(self, session: str | None) -> bool:
        """Flips the session's Stop switch; its run ends at its next step (or never starts, if still queued).
        False when the session has nothing waiting or going."""
        with self._guard:
            switches = [s for s in (self._armed.get(session), self._running.get(session)) if s is not None]
        for switch in switches:
            switch.set()
        return bool(switches)

    def forget(self, session: str | None) -> None:
        """The tab was closed: stop its run, if any, and drop what was kept for it."""
        self.stop(session)
        with self._guard:
            self._armed.pop(session, None)

    def generate(self, values: dict[str, Any], session: str | None = None) -> Iterator[tuple[str, str, Trace | None]]:
        """Streams one run as (Output HTML so far, status line, trace), the trace only in the last triple.

        Bad settings, prompts and models become a `gr.Error` naming the control.
        """
        with self._guard:
            # The switch armed by the click, or a new one for an API call that did not click.
            switch = self._armed.pop(session, None) or threading.Event()
            self._running[session] = switch
        try:
            with answered():
                yield from self._stream(values, switch)
        finally:
            with self._guard:
                if self._running.get(session) is switch:
                    del self._running[session]

    def _stream(self, values: dict[str, Any], switch: threading.Event) -> Iterator[tuple[str, str, Trace | None]]:
        """`generate`'s run itself, `switch` being its Stop switch."""
        settings = make_settings(values)
        model, precision = values.get("model"), values.get("precision")
        self.check(model, precision)
        self.check_draft(settings.draft_model)
        if switch.is_set():
            yield "", "Stopped before it started.", None
            return
        shown: list[str] = []  # one span per decided token
        count = 0
        prompt = values.get("prompt")

        def run() -> Iterator[Any]:
            # On the model thread: loading too, so a model is only ever touched there.
            return self.stream(model, precision, prompt, settings, cancel=switch)

        for batch in batches(run, switch, min_interval=UPDATE_INTERVAL):
            last = batch[-1]
            if last.trace is not None:
                yield trace_html(last.trace), summarize(last.trace), last.trace
                return
            count += len(batch)
            shown += [token_span(update.step) for update in batch if update.step is not None]
            # Beam search reports no step: its running best beam changes as a whole.
            text = "".join(shown) if last.step is not None else plain_text(last.text)
            yield text, f"Generating… step {count}", None

    def run_json(self, payload: Any) -> str:
        """The headless endpoint: one JSON object of settings (the Settings/CLI names, plus "prompt", and
        optionally "model" and "precision" from the host's allowlist) in, the run's trace as JSON out.

        Keys that the chosen strategy does not use are accepted and ignored, as the page sends every control;
        an unknown key is an error naming it. Errors become a `gr.Error`.
        """
        try:
            data = json.loads(payload) if isinstance(payload, str) else payload
        except json.JSONDecodeError as exc:
            raise gr.Error(
                f"payload is not valid JSON: {html.escape(exc.msg)} at position {exc.pos}", print_exception=False
            ) from exc
        if not isinstance(data, dict):
            raise gr.Error("payload must be a JSON object of settings", print_exception=False)
        data = dict(data)
        prompt = data.pop("prompt", None)
        model = data.pop("model", self.default.info.id)
        precision = data.pop("precision", self.precision)
        with answered():
            self.check(model, precision)
            self.check_draft(data.get("draft_model"))
            settings = Settings.from_dict(data)
            trace = None
            run = lambda: self.stream(model, precision, prompt, settings)  # noqa: E731
            for batch in batches(run, threading.Event()):
                trace = batch[-1].trace
        return trace.to_json()


def summarize(trace: Trace) -> str:
    """One status line from a finished run: model, tokens, speed, time and why it stopped."""
    timing = trace.timing
    reason = STOP_REASON_TEXT.get(trace.output.stop_reason, trace.output.stop_reason)
    line = (
        f"{trace.model.id} {trace.model.precision} · {timing.new_tokens} tokens · {timing.tokens_per_s:.1f} tokens/s"
        f" · {timing.total_s:.2f} s · stopped: {reason}"
    )
    if trace.beams is not None and trace.beams.constraints:
        met = bool(trace.beams.sequences) and trace.beams.sequences[0].satisfies_constraints
        line += " · constraints met" if met else " · constraints NOT met: try more max new tokens or beams"
    if trace.speculative:
        spec = trace.speculative
        line += (
            f" · {spec.acceptance_rate:.0%} of draft tokens accepted, "
            f"{spec.tokens_per_round:.2f} tokens per target pass"
        )
        if spec.speedup:
            line += f" · {spec.speedup:.2f}× plain decoding"
    return line


def describe_model(loaded: LoadedModel) -> str:
    """One line saying which model serves the page, at what precision, where, and how big it is."""
    info = loaded.info
    return (
        f"**Model** `{info.id}` · {info.precision} · {info.device} · {info.memory_mb:.0f} MB · "
        f"loaded in {loaded.load_s:.1f} s"
    )
