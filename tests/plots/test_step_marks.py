"""The step view's marks stay legible over its bars: a filter's "✂" label stands on a light ground where the bars
under it are tall and dark (XTC removes the likeliest tokens), and top-p's cumulative line shares no colour with a
stage's bars (temperature's amber, which it once had)."""

from playground.plots import stage_figure
from playground.plots.style import STAGE_COLOURS
from tests.plots.hand_built import hand_trace

TIED = [3.0, 2.5, 2.0, 1.5, 1.0, 1.0, 0.5, 0.0, -0.5, -1.0, -1.5, -2.0]


def with_temperature():
    """A hand-built step through temperature (at 1: the raw numbers), top-k 5 and top-p 0.9."""
    trace = hand_trace(TIED, k=5, top_p=0.9)
    for candidate in trace.steps[0].candidates:
        candidate.probs["temperature"] = candidate.probs["raw"]
    return trace


def lightness(colour: str, under: float) -> float:
    """How light (0 black, 1 white; luma weights, no gamma) "#rrggbb" or "rgba(r, g, b, a)" is, drawn over a
    grey of lightness `under`."""
    if colour.startswith("#"):
        r, g, b, alpha = *(int(colour[i : i + 2], 16) for i in (1, 3, 5)), 1.0
    else:
        *rgb, alpha = (float(x) for x in colour[colour.index("(") + 1 : -1].split(","))
        r, g, b = rgb
    channels = [alpha * c / 255 + (1 - alpha) * under for c in (r, g, b)]
    return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]


def test_the_cumulative_line_shares_no_colour_with_the_bars_under_it():
    fig = stage_figure(with_temperature(), 0)
    bars = {bar.name: bar.marker.color for bar in fig.data if bar.type == "bar"}
    assert bars["after Temperature"] == STAGE_COLOURS["temperature"]
    (cumulative,) = [t for t in fig.data if t.type == "scatter" and t.name.startswith("cumulative")]
    assert cumulative.line.dash == "dot" and cumulative.line.color not in bars.values()
    assert cumulative.line.color not in STAGE_COLOURS.values()  # nor any other stage's, whatever the run applies


def test_a_cut_label_stands_on_a_light_ground():
    fig = stage_figure(with_temperature(), 0)
    cuts = [a for a in fig.layout.annotations if a.text.startswith("✂")]
    assert cuts, "top-k 5 cut some of the twelve"
    for cut in cuts:
        # Over a black bar (min-p's), the label's ground is still near white: its vermillion text reads on it.
        assert cut.bgcolor is not None
        assert lightness(cut.bgcolor, under=0.0) >= 0.8 > lightness(cut.font.color, under=0.0) + 0.3
