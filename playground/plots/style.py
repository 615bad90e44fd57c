"""Colours and labels shared by every figure: Okabe-Ito, a palette readable with every common colour-vision
deficiency, and a way to show tokens whose text is whitespace or control characters."""

from typing import Any

from playground.knobs import KNOBS

BLUE = "#0072B2"
ORANGE = "#E69F00"
GREEN = "#009E73"
VERMILLION = "#D55E00"
SKY = "#56B4E9"
PURPLE = "#CC79A7"
YELLOW = "#F0E442"
GREY = "#999999"
BLACK = "#000000"
INDIGO = "#332288"  # from Paul Tol's colour-blind-safe palette, for the stages the first eight do not cover
WINE = "#882255"

# One colour per processing stage, in pipeline order.
STAGE_COLOURS = {
    "raw": GREY,
    "repetition_penalty": PURPLE,
    "no_repeat_ngram": YELLOW,
    "min_new_tokens": SKY,
    "temperature": ORANGE,
    "top_k": VERMILLION,
    "top_p": GREEN,
    "min_p": BLACK,
    "typical_p": SKY,
    "epsilon_cutoff": INDIGO,
    "eta_cutoff": WINE,
    "final": BLUE,
}
STAGE_LABELS = {
    "raw": "raw",
    "repetition_penalty": "after repetition penalty",
    "no_repeat_ngram": "after no-repeat n-gram",
    "min_new_tokens": "after min new tokens",
    "temperature": "after temperature",
    "top_k": "after top-k",
    "top_p": "after top-p",
    "min_p": "after min-p",
    "typical_p": "after typical-p",
    "epsilon_cutoff": "after epsilon cutoff",
    "eta_cutoff": "after eta cutoff",
    "final": "final",
}


def stage_setting(stage: str, settings: dict[str, Any]) -> str:
    """A stage named as the page's control for it, in lower case, with the value `settings` give it: "top-k 50",
    "no-repeat n-gram 3", "epsilon cutoff 0.0003". A stage no control sets ("raw") is named as STAGE_LABELS has it.

    Args:
        stage: a key of STAGE_LABELS.
        settings: the run's settings as a dict (`Settings.to_dict`, a trace's `settings`).
    """
    name = STAGE_LABELS[stage].removeprefix("after ")
    knob = next((k for k in KNOBS if k.label.lower() == name), None)  # the labels say "top-k" as the page does
    if knob is None or settings.get(knob.name) is None:
        return name
    return f"{name} {settings[knob.name]:g}"


def show_token(text: str) -> str:
    """A token's text made visible: leading/trailing spaces as '␣', newlines as '⏎', tabs as '⇥'."""
    shown = text.replace("\n", "⏎").replace("\t", "⇥")
    if shown and not shown.strip(" "):
        return "␣" * len(shown)  # only spaces: each one once (they are all leading, none trailing)
    if shown.strip(" ") != shown:
        core = shown.strip(" ")
        lead = len(shown) - len(shown.lstrip(" "))
        trail = len(shown) - len(shown.rstrip(" "))
        shown = "␣" * lead + core + "␣" * trail
    return shown or "∅"


def counted(n: int, noun: str) -> str:
    """ "1 candidate", "3 candidates"."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def spaced_hex(hex_bytes: str) -> str:
    """A token's bytes as hex, one byte at a time: "e697" -> "e6 97"."""
    return " ".join(hex_bytes[i : i + 2] for i in range(0, len(hex_bytes), 2))


def hover_escape(text: str) -> str:
    """Text for a Plotly hover label, which renders a small HTML subset: markup escaped, newlines shown as ⏎."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", "⏎")


def preview(text: str, size: int, newline: str = "⏎") -> str:
    """The start of a text on one line: newlines shown as `newline`, cut to `size` characters with "…"."""
    shown = text.replace("\n", newline)
    return shown if len(shown) <= size else shown[: size - 1] + "…"


def placeholder(message: str):
    """An empty figure that says why there is nothing to draw."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font=dict(size=15))
    fig.update_layout(xaxis=dict(visible=False), yaxis=dict(visible=False), height=260)
    return fig
