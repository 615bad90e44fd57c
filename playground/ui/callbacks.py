"""What the page's events do: turn the controls' values into Settings, stream the engine, format the lines.

No layout here (that is `page.py`), so these functions can be called and tested without a browser.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from typing import Any

import gradio as gr

from playground.engine import stream
from playground.models import LoadedModel
from playground.settings import PROMPT_LOOKUP, Settings, SettingsError
from playground.trace import Trace

# (label a person sees, value the event receives: Settings.strategy, so API callers use the same words as the
# CLI and the trace)
STRATEGY_CHOICES = [
    ("Greedy", "greedy"),
    ("Sampling", "sample"),
    ("Beam search", "beam"),
    ("Constrained beam search", "constrained"),
    ("Speculative decoding", "speculative"),
]
# Speculative drafts offered on the page: the target's own weights at a cheaper precision, or prompt lookup.
DRAFT_CHOICES = [
    ("Same model, bf16", "bf16"),
    ("Same model, fp32", "fp32"),
    ("Same model, nf4", "nf4"),
    ("Prompt lookup (no model)", PROMPT_LOOKUP),
]
# Settings fields a person sets through a control with another name: errors name the control too.
FIELD_LABELS = {
    "force_words": "Forced words",
    "force_one_of": "One of",
    "draft_model": "Draft",
    "draft_precision": "Draft",
    "num_draft_tokens": "Draft tokens per round",
}

STOP_REASON_TEXT = {
    "eos": "end of sequence",
    "max_new_tokens": "max new tokens reached",
    "stop_string": "stop string",
    "max_time": "time limit reached",
    "cancelled": "cancelled",
}


def make_settings(
    strategy: Any,
    temperature: Any,
    top_p: Any,
    top_k: Any,
    repetition_penalty: Any,
    max_new_tokens: Any,
    num_beams: Any,
    seed: Any,
    forced_words: Any = "",
    one_of: Any = "",
    draft: Any = "bf16",
    num_draft_tokens: Any = 4,
    do_sample: Any = False,
) -> Settings:
    """Settings from the raw control values; raises SettingsError naming the first bad field.

    Args:
        strategy: "greedy", "sample" or "beam".
        temperature, top_p, top_k, repetition_penalty: the filters (sampling only, except the penalty).
        max_new_tokens, num_beams, seed: whole numbers; 50.0 counts as 50.
        forced_words: phrases that must appear, one per line or separated by commas (constrained only).
        one_of: one set per line, its options separated by "|" (constrained only).
        draft: a precision for the target's own weights as draft, or "prompt-lookup" (speculative only).
        num_draft_tokens: tokens the draft proposes per round; do_sample: speculative sampling, else greedy.
    """
    return Settings(
        strategy=strategy,
        temperature=temperature,
        top_p=top_p,
        top_k=_whole(top_k),
        repetition_penalty=repetition_penalty,
        max_new_tokens=_whole(max_new_tokens),
        num_beams=_whole(num_beams),
        seed=_whole(seed),
        force_words=split_phrases(forced_words),
        force_one_of=split_sets(one_of),
        draft_model=PROMPT_LOOKUP if draft == PROMPT_LOOKUP else None,
        draft_precision="bf16" if draft == PROMPT_LOOKUP else draft,
        num_draft_tokens=_whole(num_draft_tokens),
        do_sample=do_sample,
    )


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


def _whole(value: Any) -> Any:
    # A browser's number box and JSON clients may send 50.0 for 50; Settings wants an int and will name the
    # field if a genuine fraction such as 50.5 arrives.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def run_generation(loaded: LoadedModel, prompt: Any, *controls: Any) -> Iterator[tuple[str, str, Trace | None]]:
    """Streams one run as (output text so far, status line, trace) triples, the trace only in the last one;
    a bad setting becomes a `gr.Error`.

    Args:
        loaded: the model shared by every request.
        prompt: what the person typed.
        controls: the values `make_settings` takes, in its order.
    """
    try:
        settings = make_settings(*controls)
        for count, update in enumerate(stream(loaded, prompt, settings), start=1):
            if update.trace is None:
                yield update.text, f"Generating… step {count}", None
            else:
                yield update.trace.output.text, summarize(update.trace), update.trace
    except SettingsError as exc:
        label = FIELD_LABELS.get(exc.field)
        message = f"{label}: {exc}" if label else str(exc)
        # gr.Error renders its message as HTML, and the message quotes the value that was sent.
        raise gr.Error(html.escape(message, quote=False), print_exception=False) from exc


def summarize(trace: Trace) -> str:
    """One status line from a finished run: tokens, speed, time and why it stopped."""
    timing = trace.timing
    reason = STOP_REASON_TEXT.get(trace.output.stop_reason, trace.output.stop_reason)
    line = (
        f"{timing.new_tokens} tokens · {timing.tokens_per_s:.1f} tokens/s · {timing.total_s:.2f} s · stopped: {reason}"
    )
    if trace.beams is not None and trace.beams.constraints:
        met = bool(trace.beams.sequences) and trace.beams.sequences[0].satisfies_constraints
        line += " · constraints met" if met else " · constraints NOT met: try more max new tokens or beams"
    if trace.speculative:
        spec = trace.speculative
        line += (
            f" · {spec['acceptance_rate']:.0%} of draft tokens accepted, "
            f"{spec['tokens_per_round']:.2f} tokens per target pass"
        )
    return line


def describe_model(loaded: LoadedModel) -> str:
    """One line saying which model serves the page, at what precision, where, and how big it is."""
    info = loaded.info
    return (
        f"**Model** `{info.id}` · {info.precision} · {info.device} · {info.memory_mb:.0f} MB · "
        f"loaded in {loaded.load_s:.1f} s"
    )


def run_json(loaded: LoadedModel, payload: Any) -> str:
    """The headless endpoint: one JSON object of settings (the Settings/CLI names, plus "prompt", and "model" if
    given must be the served one) in, the run's trace as JSON out. Errors become a `gr.Error` naming the key.

    Keys that the chosen strategy does not use are accepted and ignored, as the page sends every control.
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
    model = data.pop("model", None)
    if model is not None and model != loaded.info.id:
        message = f"model {model!r} is not served here; this server serves {loaded.info.id!r}"
        raise gr.Error(html.escape(message, quote=False), print_exception=False)
    try:
        settings = Settings.from_dict(data)
        trace = None
        for update in stream(loaded, prompt, settings):
            trace = update.trace
    except (SettingsError, TypeError) as exc:
        raise gr.Error(html.escape(str(exc), quote=False), print_exception=False) from exc
    return trace.to_json()
