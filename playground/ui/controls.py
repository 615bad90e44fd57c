"""The page's controls and the Settings they stand for: each control is a knob of `playground.knobs` (same name),
made from the knob's widget, and its value turns into the Settings value and back here.

`CONTROLS` is also the order of the /generate endpoint's parameters.
"""

from __future__ import annotations

import inspect
from typing import Any

import gradio as gr

from playground import stages
from playground.knobs import BY_NAME, PAGE_KNOBS, Knob
from playground.plots.style import stage_label
from playground.settings import AUTO, MEDUSA, PRECISIONS, PROMPT_LOOKUP, Settings, SettingsError
from playground.trace import Trace

# Every value the generate event reads, in the order of its parameters (and of the /generate API's).
CONTROLS = ("model", "precision", "prompt", *(knob.name for knob in PAGE_KNOBS))
# The names /generate took before every knob had one spelling, and the knob each is now. A caller that still
# sends them by keyword to `make_settings` (the page's values, /generate by position) keeps working.
OLD_NAMES = {
    "prompt_format": "chat",
    "forced_words": "force_words",
    "one_of": "force_one_of",
    "draft": "draft_model",
    "stop_strings": "stop",
}
OLD_DRAFT_MODEL = "model:"  # the old Draft value's prefix for another model of the allowlist

# (label a person sees, value the event receives: Settings.strategy, so API callers use the same words as the
# CLI and the trace)
STRATEGY_CHOICES = [
    ("Greedy", "greedy"),
    ("Sampling", "sample"),
    ("Beam search", "beam"),
    ("Constrained beam search", "constrained"),
    ("Speculative decoding", "speculative"),
]
SAME_WEIGHTS = ""  # the Draft value for the target's own weights (draft_model None)
# A stage as the Sampler order box takes it, in any case: its name ("top_k") or what the page calls it ("Top-k", as
# the picker and the Order line show it) -> its name.
STAGE_SPELLINGS = {word.casefold(): spec.name for spec in stages.CHAIN for word in (spec.name, stage_label(spec.name))}
# Speculative drafts offered on the page: the target's own weights (at the Draft precision), prompt lookup, or the
# target's Medusa heads (shipped for the embedded default);
# `choices` adds the host's other models, which are drafts only if they share the tokenizer.
DRAFT_CHOICES = [
    ("Automatic (whichever free draft pays)", AUTO),
    ("Same model", SAME_WEIGHTS),
    ("Prompt lookup (no model)", PROMPT_LOOKUP),
    ("Medusa heads (a draft tree)", MEDUSA),
]


def choices(knob: Knob, models: list[str]) -> list[Any]:
    """The choices of a radio or dropdown knob on a page serving `models`."""
    return {
        "strategies": STRATEGY_CHOICES,
        "drafts": DRAFT_CHOICES + list(models),
        "precisions": list(PRECISIONS),
    }[knob.widget.choices]


def make_control(knob: Knob, value: Any, limits: Any, models: list[str], visible: bool = True) -> gr.Component:
    """The Gradio component for `knob`, showing `value` (what `control_values` gives for the default Settings)."""
    widget = knob.widget
    common = dict(
        label=knob.label, info=widget.info, value=value, interactive=False if knob.greyed else None, visible=visible
    )
    if widget.kind == "slider":
        return gr.Slider(widget.minimum, widget.upper(limits), step=widget.step, **common)
    if widget.kind == "number":
        return gr.Number(precision=0 if knob.whole else None, minimum=widget.minimum, **common)
    if widget.kind == "checkbox":
        return gr.Checkbox(**common)
    if widget.kind == "radio":
        return gr.Radio(choices(knob, models), **common)
    if widget.kind == "dropdown":
        return gr.Dropdown(choices(knob, models), min_width=200, **common)
    if widget.kind == "text":
        return gr.Textbox(placeholder=widget.placeholder, lines=1, max_lines=4, **common)
    raise ValueError(f"knob {knob.name}: unknown widget kind {widget.kind!r}")


def signature(extra: tuple[str, ...] = ()) -> inspect.Signature:
    """The generate event's signature: one parameter per control, named as in `CONTROLS`, then `extra`, then
    the request. Gradio names the /generate endpoint's parameters after it, and hands the request to the
    parameter annotated for it (`annotations`)."""
    params = [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for name in (*CONTROLS, *extra)]
    request = inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation=gr.Request)
    return inspect.Signature([*params, request])


def annotations(sig: inspect.Signature) -> dict[str, Any]:
    """The `__annotations__` Gradio reads (`typing.get_type_hints`) to find a signature's special parameters."""
    return {p.name: p.annotation for p in sig.parameters.values() if p.annotation is not inspect.Parameter.empty}


def make_settings(values: dict[str, Any]) -> Settings:
    """Settings from the raw control values (named as in `CONTROLS`; model, precision and prompt are not
    settings and are ignored); raises SettingsError naming the first bad field. Controls left out keep
    Settings' defaults.

    A browser's number box sends whole numbers as floats (50.0); they count as whole numbers.
    """
    values = upgrade(values)
    return Settings(**{knob.name: read(knob, values[knob.name]) for knob in PAGE_KNOBS if knob.name in values})


def single(values: dict[str, Any]) -> dict[str, Any]:
    """The controls' values for one run: the Samples control is Sample many's alone (Generate, Compare and the
    mass tree make or read one run, whatever it says)."""
    return {**values, "num_samples": 1}


def control_values(settings: Settings, prompt: str) -> dict[str, Any]:
    """What each control shows for `settings` and `prompt`: the inverse of `make_settings` (presets use it)."""
    return {"prompt": prompt, **{knob.name: show(knob, getattr(settings, knob.name)) for knob in PAGE_KNOBS}}


def page_defaults() -> dict[str, Any]:
    """What each knob's control shows when the page opens, by knob name: its widget's own default where it has one,
    else the default Settings' value on this server (`control_values`)."""
    shown = control_values(Settings.within(), "")
    return {knob.name: shown[knob.name] if knob.widget.value is None else knob.widget.value for knob in PAGE_KNOBS}


def run_controls(trace: Trace, models: list[str]) -> tuple[dict[str, Any], list[str]]:
    """What the controls show for the run `trace`, so that what the page shows is what runs next: its model,
    precision, prompt and settings by control name (`control_values`), and what was left as it is, in words.

    Left as they are: a model or draft model that this page does not serve (`models`, the host's allowlist), and
    Samples unless the run drew many samples (Generate records one sample whatever the control says). Settings
    beyond this server's limits leave every control as it is.
    """
    try:
        settings = Settings.from_dict(trace.settings)
    except SettingsError as exc:
        return {}, [f"every control ({exc})"]
    model = {"model": trace.model.id, "precision": trace.model.precision}
    values = {**model, **control_values(settings, trace.prompt.text)}
    offered = {
        "model": models,
        "precision": PRECISIONS,
        "draft_model": [value for _, value in DRAFT_CHOICES] + list(models),
    }
    kept = []
    for name, choices in offered.items():
        if values[name] not in choices:
            label = BY_NAME[name].label if name in BY_NAME else name.capitalize()
            kept.append(f"{label} ({values.pop(name)} is not served here)")
    if settings.num_samples == 1:
        del values["num_samples"]
    return values, kept


def upgrade(values: dict[str, Any]) -> dict[str, Any]:
    """`values` with the old /generate names and Draft values in today's spelling."""
    values = {OLD_NAMES.get(name, name): value for name, value in values.items()}
    draft = values.get("draft_model")
    if draft in PRECISIONS:  # the old Draft "bf16": the target's own weights at that precision
        values["draft_model"], values["draft_precision"] = SAME_WEIGHTS, draft
    elif isinstance(draft, str) and draft.startswith(OLD_DRAFT_MODEL):  # the old "model:<id>", which ran at bf16
        values["draft_model"], values["draft_precision"] = draft[len(OLD_DRAFT_MODEL) :], "bf16"
    if values.get("chat") in ("chat", "raw"):  # the old Prompt format radio
        values["chat"] = values["chat"] == "chat"
    return values


def read(knob: Knob, value: Any) -> Any:
    """One control's value as the Settings value of its knob."""
    if knob.whole:
        return whole_number(value)
    text = knob.widget.text
    if text == "phrases":
        return split_phrases(value)
    if text == "sets":
        return split_sets(value)
    if text == "lines":
        return split_stops(value)
    if text == "order":
        return split_order(value)
    if knob.name == "draft_model" and value in (SAME_WEIGHTS, None):
        return None
    return value


def show(knob: Knob, value: Any) -> Any:
    """What `knob`'s control shows for the Settings value: the inverse of `read`."""
    text = knob.widget.text
    if text == "phrases":
        return ", ".join(value)
    if text == "sets":
        return "\n".join(" | ".join(group) for group in value)
    if text == "lines":
        return "\n".join(s.replace("\n", "\\n") for s in value)
    if text == "order":
        return ";".join(value)
    if knob.name == "draft_model" and value is None:
        return SAME_WEIGHTS
    if knob.name == "chat" and value is None:  # the checkbox has no "when the model has one"
        return True
    return value


def split_phrases(text: Any) -> tuple[str, ...]:
    """ "umbrella, rainy day" or one per line -> ("umbrella", "rainy day"); blanks are dropped."""
    if not isinstance(text, str):
        return text or ()
    return tuple(p.strip() for line in text.splitlines() for p in line.split(",") if p.strip())


def split_order(text: Any) -> Any:
    """ "Top-k; temperature" -> ("top_k", "temperature"): the Sampler order box's stages, each written as its name or
    its page label in any case, as their names (`STAGE_SPELLINGS`); blanks are dropped and a word that is neither is
    kept as typed, for the registry to name. A value that is not text (a list, from the API) is read item by item."""
    words = text.split(";") if isinstance(text, str) else text
    if not isinstance(words, (list, tuple)):
        return text  # Settings names what it is
    return tuple(STAGE_SPELLINGS.get(w.strip().casefold(), w.strip()) if isinstance(w, str) else w
                 for w in words if not isinstance(w, str) or w.strip())  # fmt: skip


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


def whole_number(value: Any) -> Any:
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
