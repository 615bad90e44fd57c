"""The "Logit lens" tab: its layout (the step, the sentence naming the first top-1 layer, the layers x top-k
heatmap, the chosen token's rank and probability per layer, KL(layer || final)) and its events.

The lens follows the step: the tab's Step follows the Token distributions' step (a click on the Output sets it),
and the lens is drawn only while the tab is shown, so a run or a step moved elsewhere costs no pass. The first
step drawn for a run makes one pass over its text; every other step of that run is read from the cache.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import gradio as gr

from playground.engine.logit_lens import lens_step
from playground.plots.logit_lens import chosen_figure, kl_figure, lens_heatmap, top1_sentence
from playground.plots.style import placeholder
from playground.spaces import on_gpu
from playground.ui.errors import answered
from playground.ui.event_options import INSTANT, MODEL_QUEUE, PRIVATE
from playground.ui.explain import explain

TAB_ID = "lens"
LABEL = "Logit lens"
EMPTY = "Generate, then open this tab: the lens of the step chosen here (or clicked in the Output) is drawn."
VIEWS = ("step", "line", "heatmap", "chosen", "kl")  # what `lens_views` gives, in order
LENS_SECONDS = 60  # a ZeroGPU lease: one pass over the run's text at most


class LensParts(NamedTuple):
    """The tab's components, by name."""

    step: Any  # the step looked inside (follows the Token distributions' step)
    line: Any  # the first layer where the chosen token is top-1
    heatmap: Any  # layers x top-k, token text in the cells, probability as colour
    chosen: Any  # the chosen token's rank and probability per layer
    kl: Any  # KL(layer || final) per layer
    shown: Any  # whether the tab is in front (State), so the lens is drawn only where it is seen


def lens_tab() -> LensParts:
    """Lays out the tab (inside its gr.Tab) and returns its parts."""
    gr.Markdown(explain("logit_lens"))
    step = gr.Slider(
        1, 2, value=1, step=1, label="Look inside step", elem_id="lens-step",
        info="Which generated token (it follows the Token distributions step)",
    )  # fmt: skip
    line = gr.Markdown(EMPTY, elem_id="lens-line")
    heatmap = gr.Plot(label="Each layer's most likely tokens", elem_id="lens-heatmap")
    chosen = gr.Plot(label="The chosen token at every layer", elem_id="lens-chosen")
    kl = gr.Plot(label="KL(layer ‖ final)", elem_id="lens-kl")
    return LensParts(step, line, heatmap, chosen, kl, gr.State(False))


def lens_views(gate: Any, trace: Any, step: Any) -> tuple[Any, ...]:
    """(the step slider's update, the sentence, the heatmap, the chosen token's figure, the KL figure) for `step`
    of the shown run, its model loaded through `gate`."""
    if trace is None or not trace.steps:
        empty = placeholder("No run with generated steps to look inside")
        return gr.update(), EMPTY, empty, empty, empty
    count = len(trace.output.token_ids)
    step = min(max(int(step or 1), 1), count)
    with answered():
        lens = lens_step(gate.load(trace.model.id, trace.model.precision), trace, step)
    slider = gr.update(maximum=max(count, 2), value=step, interactive=count > 1)
    return slider, top1_sentence(lens), lens_heatmap(lens), chosen_figure(lens), kl_figure(lens)


def if_shown(draw: Any, shown: bool, trace: Any, step: Any) -> tuple[Any, ...]:
    """`draw(trace, step)` (the tab's five views) while the tab is in front; otherwise no update and no pass."""
    return draw(trace, step) if shown else tuple(gr.update() for _ in range(len(VIEWS)))


def wire_lens(tab: LensParts, tabs: Any, output: Any, trace: Any, step: Any, runs: Any) -> None:
    """The tab drawn when it comes to the front, and while it is in front when its step moves or another run is
    shown; its step follows the Token distributions' `step`; `tabs`' selections tell it whether it is in front (a
    click on the `output` opens the Token distributions tab, so it is not). Also the /lens endpoint."""
    gate = runs.gate
    drawn = [getattr(tab, name) for name in VIEWS]
    leased = on_gpu(lambda shown_trace, at: lens_views(gate, shown_trace, at), duration=lambda *_: LENS_SECONDS)

    def in_front(event: gr.SelectData) -> bool:
        return event.value == LABEL

    def drawn_if_shown(shown: bool, shown_trace: Any, at: Any) -> tuple[Any, ...]:
        return if_shown(leased, shown, shown_trace, at)

    options = dict(inputs=[tab.shown, trace, tab.step], outputs=drawn, **PRIVATE, **MODEL_QUEUE)
    tabs.select(in_front, outputs=[tab.shown], **INSTANT).then(drawn_if_shown, **options)
    output.select(lambda: False, outputs=[tab.shown], **INSTANT)
    step.change(lambda at: at, inputs=[step], outputs=[tab.step], **INSTANT)
    tab.step.change(drawn_if_shown, **options)
    trace.change(drawn_if_shown, **options)

    def lens(payload: str) -> str:
        """The logit lens of one step of a given trace, or of a run made from settings (see JsonApi.lens_json)."""
        return runs.api.lens_json(payload)

    gr.api(lens, api_name="lens", **MODEL_QUEUE)
