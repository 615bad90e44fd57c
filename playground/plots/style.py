"""Colours and labels shared by every figure: the palette (`playground/palette.py`, readable with every common
colour-vision deficiency), each stage's colour and name (from the stage registry), and a way to show tokens whose
text is whitespace or control characters."""

from typing import Any

from playground import stages
from playground.knobs import BY_NAME

# The palette, as the figures import it from here.
from playground.palette import BLACK, BLUE, GREEN, GREY, INDIGO, ORANGE, PURPLE, SKY, TEAL, VERMILLION, WINE, YELLOW  # noqa: F401

# One colour per processing stage, in pipeline order: each stage's own (the registry's), and the two ends.
STAGE_COLOURS = {stages.RAW: GREY, **{spec.name: spec.colour for spec in stages.CHAIN}, stages.FINAL: BLUE}


def stage_label(stage: str) -> str:
    """What the page calls a stage: its control's label ("top_k" -> "Top-k", "no_repeat_ngram" -> "No-repeat
    n-gram", named for its size), the registry's own label where that does not fit ("presence_frequency" ->
    "Presence/frequency penalty"), or the name itself for "raw" and "final", which no control sets."""
    spec = stages.BY_NAME.get(stage)
    return stage if spec is None else spec.label or BY_NAME[spec.knob].label


# The distribution after each stage, as a legend names it.
STAGE_LABELS = {stage: stage if stage in ("raw", "final") else f"after {stage_label(stage)}" for stage in STAGE_COLOURS}


def stage_setting(stage: str, settings: dict[str, Any]) -> str:
    """A stage named as the page's control for it, in lower case but for its acronyms, with the value `settings`
    give it: "top-k 50", "no-repeat n-gram 3", "epsilon cutoff 0.0003", "XTC 0.5", "top-H 0.4". A stage no control
    sets ("raw") is named as it is, and one with a label of its own, which no one control's value describes, by
    that label alone.

    Args:
        stage: a key of STAGE_COLOURS.
        settings: the run's settings as a dict (`Settings.to_dict`, a trace's `settings`).
    """
    # Each word's first letter only: "XTC" and "DRY" stay names, and Top-H's H is the entropy's letter.
    name = " ".join(word if word.isupper() else word[0].lower() + word[1:] for word in stage_label(stage).split())
    spec = stages.BY_NAME.get(stage)
    if spec is None or spec.label or settings.get(spec.knob) is None:
        return name
    return f"{name} {settings[spec.knob]:g}"


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
