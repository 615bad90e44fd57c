"""Colours and labels shared by every figure: Okabe-Ito, a palette readable with every common colour-vision
deficiency, and a way to show tokens whose text is whitespace or control characters."""

from typing import Any

from playground.knobs import BY_NAME

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
# A stage is named on the page as the control that sets it is (its knob's label): "Top-k", not "top_k". The
# n-gram ban's control is named for its size; "raw" and "final" have no control and keep their names.
STAGE_KNOBS = {"no_repeat_ngram": "no_repeat_ngram_size"}


def stage_label(stage: str) -> str:
    """What the page calls a stage: its control's label ("top_k" -> "Top-k"), or the name itself ("raw")."""
    knob = BY_NAME.get(STAGE_KNOBS.get(stage, stage))
    return stage if knob is None else knob.label


# The distribution after each stage, as a legend names it.
STAGE_LABELS = {stage: stage if stage in ("raw", "final") else f"after {stage_label(stage)}" for stage in STAGE_COLOURS}


def stage_setting(stage: str, settings: dict[str, Any]) -> str:
    """A stage named as the page's control for it, in lower case, with the value `settings` give it: "top-k 50",
    "no-repeat n-gram 3", "epsilon cutoff 0.0003". A stage no control sets ("raw") is named as it is.

    Args:
        stage: a key of STAGE_COLOURS.
        settings: the run's settings as a dict (`Settings.to_dict`, a trace's `settings`).
    """
    name = stage_label(stage).lower()
    knob = STAGE_KNOBS.get(stage, stage)
    if knob not in BY_NAME or settings.get(knob) is None:
        return name
    return f"{name} {settings[knob]:g}"


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
