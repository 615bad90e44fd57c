"""The "Colour by" control and the coloured prompt: the control beside the Output (which mode the Output and the
prompt show, set in the browser, `colour_by.SET_MODE_JS`), and the prompt's tokens coloured by how predictable
each was given the tokens before it, from one teacher-forced pass (`engine.prompt_figures`).

The prompt's pass runs when a person asks for it ("Colour the prompt"), never as part of Generate, and is kept
per (model, precision, prompt tokens), so asking again for the same prompt re-runs nothing.
"""

from __future__ import annotations

import html
import threading
from collections import OrderedDict
from typing import Any, NamedTuple

import gradio as gr

from playground.characters import Characters
from playground.engine.prompt_figures import TokenFigures, prompt_figures
from playground.spaces import on_gpu
from playground.trace import Trace
from playground.ui.colour_by import MODES, PROBABILITY, SET_MODE_JS, colour_classes, figures_line, legends
from playground.ui.errors import answered
from playground.ui.event_options import INSTANT, MODEL_QUEUE, PRIVATE
from playground.ui.gate import Gate

KEPT = 16  # prompts whose figures are kept, the most recent
LEASE_S = 60  # a ZeroGPU lease for one prompt's pass: a prefill's work, in chunks
PROMPT_LEGEND = legends(
    " · by the model's own distribution (temperature 1, no sampling stage), given the tokens before each; the first "
    "token has nothing before it"
)
WAITING = '<span class="plain">Colour the prompt to see how predictable each of its tokens was to the model.</span>'


class ColourParts(NamedTuple):
    """The control and the coloured prompt's components."""

    mode: Any  # the "Colour by" radio
    button: Any  # Colour the prompt
    prompt: Any  # the prompt's tokens, coloured (HTML)


def colour_by_control() -> Any:
    """The "Colour by" radio, placed beside the Output."""
    return gr.Radio(
        list(MODES), value=PROBABILITY, label="Colour by", elem_id="colour-by",
        info="What the tokens' colours show; read from the run, nothing is run again",
    )  # fmt: skip


def prompt_colour_part() -> tuple[Any, Any]:
    """Colour the prompt and its coloured tokens (inside "What the model reads")."""
    button = gr.Button("Colour the prompt", size="sm", elem_id="colour-prompt")
    prompt = gr.HTML(
        WAITING, html_template=f'<div class="tokens">${{value}}</div>{PROMPT_LEGEND}', elem_id="prompt-colour"
    )  # fmt: skip
    return button, prompt


def figures_span(token: TokenFigures, shown: str) -> str:
    """One prompt token as a span: its band in every mode and a hover card with its figures."""
    classes = colour_classes(token.prob, token.rank, token.entropy)
    if token.prob is None:
        tip = "the first token: nothing comes before it"
    else:
        tip = f"p = {token.prob:.3f} · entropy {token.entropy:.2f} nats\n"
        tip += figures_line(token.prob, token.rank, token.entropy, token.varentropy)
    return f'<span class="tok {classes}" data-tip="{html.escape(tip, quote=True)}">{html.escape(shown)}</span>'


def prompt_html(figures: list[TokenFigures]) -> str:
    """The prompt's tokens as spans (a character split over tokens reads whole, as in the Output)."""
    shown = Characters.joined([(token.text, token.bytes) for token in figures])
    return "".join(figures_span(token, text) for token, text in zip(figures, shown, strict=True))


class PromptColours:
    """The prompt's figures of a run, from the model `gate` loads for it, kept for the `KEPT` latest prompts."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.kept: OrderedDict[tuple[Any, ...], list[TokenFigures]] = OrderedDict()
        self.guard = threading.Lock()
        self._leased = on_gpu(self._task, duration=lambda trace: LEASE_S)

    def figures(self, trace: Any) -> list[TokenFigures]:
        """The shown run's prompt figures, computed once per (model, precision, prompt tokens)."""
        if not isinstance(trace, Trace):
            raise gr.Error("Generate a run first: its prompt is the one coloured.", print_exception=False)
        key = (trace.model.id, trace.model.precision, tuple(trace.prompt.token_ids))
        with self.guard:
            if key in self.kept:
                self.kept.move_to_end(key)
                return self.kept[key]
        found = self._leased(trace)
        with self.guard:
            self.kept[key] = found
            while len(self.kept) > KEPT:
                self.kept.popitem(last=False)
        return found

    def _task(self, trace: Trace) -> list[TokenFigures]:
        """The pass, where the GPU is."""
        with answered():
            return prompt_figures(self.gate.load(trace.model.id, trace.model.precision), trace.prompt.token_ids)


def wire_colour(parts: ColourParts, last_trace: Any, reads: Any, colours: PromptColours) -> None:
    """The mode (in the browser alone), Colour the prompt (the shown run's prompt), and the coloured prompt put
    away when another run's prompt is shown (`reads`, the rendered prompt, changes with it)."""
    parts.mode.change(None, inputs=[parts.mode], js=SET_MODE_JS, **INSTANT)

    def colour(trace: Any) -> str:
        return prompt_html(colours.figures(trace))

    parts.button.click(colour, inputs=[last_trace], outputs=[parts.prompt], **MODEL_QUEUE, **PRIVATE)
    reads.change(lambda: WAITING, outputs=[parts.prompt], **INSTANT)
