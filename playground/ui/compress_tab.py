"""The "Compress the prompt" tab: its layout (the ratio, the part to compress, the words never dropped, Compress
and Stop; the prompt's tokens, both answers, the KL curve) and its events, and the /compress endpoint.

Compress compresses the Prompt box's text with the model and precision of the controls, then runs both prompts
with the controls' settings, streaming each stage; moving the ratio redraws the compression alone.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any, NamedTuple

import gradio as gr

from playground.compress.request import ALL_BUT_LAST, MAX_RATIO, MIN_RATIO, PARTS
from playground.spaces import zero_gpu
from playground.ui.compress_view import answers_html, compression_html, compression_line, kl_figure, prefill_line
from playground.ui.controls import CONTROLS, annotations, signature
from playground.ui.event_options import INSTANT, MODEL_QUEUE, PRIVATE
from playground.ui.explain import explain

WAITING = "Press Compress to run both prompts with the current settings."


class CompressParts(NamedTuple):
    """The tab's components, by name."""

    ratio: Any  # the share of the compressed part's tokens to keep
    part: Any  # which part of the prompt to compress (`request.PARTS`)
    force: Any  # words never dropped, separated by commas
    button: Any  # Compress (then both runs)
    stop: Any
    line: Any  # kept and dropped counts, the achieved ratio
    tokens: Any  # the prompt's tokens, coloured by loss, the dropped ones struck through
    answers: Any  # both answers side by side
    run_line: Any  # what the runs are doing; at the end, the prefill saved
    plot: Any  # KL(original || compressed) along the original's answer
    compression: Any  # the shown Compression (State)
    prompt: Any  # the prompt it compressed, marks removed (State)


def compress_tab() -> CompressParts:
    """Lays out the tab (inside its gr.Tab) and returns its parts."""
    gr.Markdown(explain("compress"))
    with gr.Row(equal_height=True):
        ratio = gr.Slider(MIN_RATIO, MAX_RATIO, value=0.5, step=0.05, label="Keep ratio", scale=2,
                          info="The share of the part's tokens to keep", elem_id="compress-ratio")  # fmt: skip
        part = gr.Radio(
            list(PARTS), value=ALL_BUT_LAST, label="Which part to compress", scale=3, elem_id="compress-part"
        )
        force = gr.Textbox(label="Never drop", placeholder="words, separated by commas: 1874, Ada", scale=2,
                           elem_id="compress-force")  # fmt: skip
    with gr.Row():
        button = gr.Button("Compress", variant="primary", scale=3, elem_id="compress")
        stop = gr.Button("Stop", variant="stop", scale=1, elem_id="compress-stop")
    line = gr.Markdown(elem_id="compress-line")
    tokens = gr.HTML("", elem_id="compress-tokens")
    answers = gr.HTML(answers_html(None, None), elem_id="compress-answers")
    run_line = gr.Markdown(WAITING, elem_id="compress-run-line")
    plot = gr.Plot(
        kl_figure(None), label="KL(original ‖ compressed) along the original's answer", elem_id="compress-plot"
    )
    return CompressParts(ratio, part, force, button, stop, line, tokens, answers, run_line, plot,
                         gr.State(None, time_to_live=7200), gr.State(None, time_to_live=7200))  # fmt: skip


def wire_compress(tab: CompressParts, controls: dict[str, Any], runs: Any) -> None:
    """Compress (the compression, then both runs, streamed), the ratio's redraw, Stop, and /compress."""
    inputs = [*(controls[name] for name in CONTROLS), tab.ratio, tab.force, tab.part]
    drawn = [tab.compression, tab.prompt, tab.line, tab.tokens, tab.answers, tab.run_line, tab.plot]

    def compress_shown(*args: Any) -> tuple[Any, ...]:
        *values, ratio, force, part, progress = args
        values = dict(zip(CONTROLS, values, strict=True))
        # Each segment scored moves the bar; a ZeroGPU worker, in another process, could not move this page's.
        shown = None if zero_gpu() else lambda share: progress(share, desc="Scoring the prompt, segment by segment")
        prompt, compression = runs.compressions.compress(values, ratio, force, part, shown)
        html, line = compression_html(compression), compression_line(compression)
        return compression, prompt, line, html, answers_html(None, None), WAITING, kl_figure(None)

    def run_both(*args: Any) -> Iterator[tuple[Any, Any, Any]]:
        *values, prompt, compression, request = args
        values = dict(zip(CONTROLS, values, strict=True))
        for stage in runs.compressions.run_both(values, prompt, compression, request.session_hash):
            both = stage.original is not None and stage.compressed is not None
            line = " · ".join([stage.note, prefill_line(stage.original, stage.compressed)] if both else [stage.note])
            plot = kl_figure(stage.result) if stage.result is not None else gr.update()
            yield answers_html(stage.original, stage.compressed), line, plot

    compress_shown.__signature__ = _with_progress(signature(("ratio", "force", "part")))
    run_both.__signature__ = signature(("compressed_prompt", "compression"))
    for fn in (compress_shown, run_both):
        fn.__annotations__ = annotations(fn.__signature__)
    options = dict(**PRIVATE, **MODEL_QUEUE, preprocess=False)
    tab.button.click(compress_shown, inputs=inputs, outputs=drawn, **options).success(
        run_both, inputs=[*(controls[name] for name in CONTROLS), tab.prompt, tab.compression],
        outputs=[tab.answers, tab.run_line, tab.plot], show_progress="minimal", **options,
    )  # fmt: skip
    tab.ratio.release(compress_shown, inputs=inputs, outputs=drawn, **options)

    def stop(request: gr.Request) -> None:
        runs.switches.stop(request.session_hash)

    tab.stop.click(stop, **INSTANT)

    def compress(payload: str) -> str:
        """Compresses a prompt (and, with "run": true, runs both prompts; see JsonApi.compress_json)."""
        return runs.api.compress_json(payload)

    gr.api(compress, api_name="compress", **MODEL_QUEUE)


def _with_progress(sig: inspect.Signature) -> inspect.Signature:
    """`sig` with its request parameter replaced by a progress tracker, which Gradio hands to the parameter whose
    default is a `gr.Progress`."""
    params = [p for p in sig.parameters.values() if p.annotation is not gr.Request]
    tracker = inspect.Parameter("progress", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=gr.Progress())
    return sig.replace(parameters=[*params, tracker])
