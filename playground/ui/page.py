"""The page: which controls exist, where they sit, and which event they trigger.

The model is loaded once here, when the page is built, and shared by every request; the generate event runs
one request at a time because a loaded model serves one run at a time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from playground.models import DEFAULT_MODEL_ID, load_model
from playground.settings import MAX_DRAFT_TOKENS, Settings
from playground.ui.callbacks import (
    DRAFT_CHOICES,
    STRATEGY_CHOICES,
    describe_model,
    run_generation,
    run_json,
    summarize,
)
from playground.ui.files import export_trace, read_trace
from playground.ui.views import all_views, step_view

ASSETS = Path(__file__).resolve().parents[2] / "assets"
EXAMPLE_PROMPTS = [
    "Write a haiku about the sea.",
    "Explain in two sentences why the sky is blue.",
    "List three uses for a paperclip.",
]


def launch_options() -> dict[str, Any]:
    """Keyword arguments for `demo.launch`: since Gradio 6 the theme and CSS are given there, not to Blocks."""
    theme = gr.themes.Soft(
        primary_hue="indigo",
        # System fonts: the page must look the same on a machine that cannot fetch web fonts.
        font=["ui-sans-serif", "system-ui", "sans-serif"],
        font_mono=["ui-monospace", "DejaVu Sans Mono", "monospace"],
    )
    return {"theme": theme, "css_paths": [ASSETS / "style.css"]}


def show_controls(strategy: str) -> tuple[Any, ...]:
    """Only the controls that matter to the chosen strategy can be moved; the others stay in sight, greyed, so
    a person sees every knob the pipeline has (and they keep their values)."""
    samples = strategy in ("sample", "speculative")  # speculative decoding samples when "Sample" is ticked
    beams = strategy in ("beam", "constrained")
    return (
        gr.Row(visible=strategy == "constrained"),
        gr.Row(visible=strategy == "speculative"),
        *(gr.update(interactive=samples) for _ in range(4)),  # temperature, top-p, top-k, seed
        gr.update(interactive=beams),
    )


def load_trace(path: Any) -> tuple[Any, str, str]:
    """An uploaded trace as (state, output text, status line)."""
    trace = read_trace(path)
    return trace, trace.output.text, f"Loaded trace: {summarize(trace)}"


def build_demo(model_id: str = DEFAULT_MODEL_ID, precision: str = "nf4") -> gr.Blocks:
    """Loads the model and lays out the playground page.

    Args:
        model_id: the bundled model's name, a Hugging Face model id or a local directory.
        precision: one of `playground.models.PRECISIONS`.
    """
    loaded = load_model(model_id, precision)
    defaults = Settings.within()  # slider defaults and ranges come from Settings and the server's limits
    limits = defaults.limits

    def generate(
        prompt: str,
        strategy: str,
        temperature: float,
        top_p: float,
        top_k: int,
        repetition_penalty: float,
        max_new_tokens: int,
        num_beams: int,
        seed: int,
        forced_words: str,
        one_of: str,
        draft: str,
        num_draft_tokens: int,
        do_sample: bool,
    ) -> Any:
        """Generates a continuation of `prompt`, streaming (output so far, status line)."""
        yield from run_generation(
            loaded,
            prompt,
            strategy,
            temperature,
            top_p,
            top_k,
            repetition_penalty,
            max_new_tokens,
            num_beams,
            seed,
            forced_words,
            one_of,
            draft,
            num_draft_tokens,
            do_sample,
        )

    with gr.Blocks(title="Decoding Playground", analytics_enabled=False) as demo:
        gr.Markdown("# Decoding Playground\nType a prompt, pick a strategy, and watch the tokens arrive.")
        gr.Markdown(describe_model(loaded), elem_id="model-info")
        with gr.Row():
            with gr.Column(scale=3):
                prompt = gr.Textbox(label="Prompt", value=EXAMPLE_PROMPTS[0], lines=3, max_lines=12)
                gr.Examples(EXAMPLE_PROMPTS, inputs=[prompt], label="Example prompts")
                strategy = gr.Radio(STRATEGY_CHOICES, value=defaults.strategy, label="Strategy")
                with gr.Row(visible=False) as constraint_row:
                    forced_words = gr.Textbox(
                        label="Forced words",
                        placeholder="umbrella, rainy day",
                        info="Phrases that must appear, separated by commas or lines",
                    )
                    one_of = gr.Textbox(
                        label="One of",
                        placeholder="red | blue | green",
                        info="At least one option must appear; one set per line",
                    )
                with gr.Row(visible=False) as speculative_row:
                    draft = gr.Dropdown(DRAFT_CHOICES, value=defaults.draft_precision, label="Draft")
                    num_draft_tokens = gr.Slider(
                        1, MAX_DRAFT_TOKENS, value=defaults.num_draft_tokens, step=1, label="Draft tokens per round"
                    )
                    do_sample = gr.Checkbox(value=False, label="Sample", info="Speculative sampling, else greedy")
                with gr.Row():
                    run_button = gr.Button("Generate", variant="primary", scale=3)
                    stop_button = gr.Button("Stop", variant="stop", scale=1)
                output = gr.Textbox(
                    label="Output", lines=8, max_lines=24, interactive=False, buttons=["copy"], elem_id="output"
                )
                status = gr.Markdown(elem_id="status")
            with gr.Column(scale=2):
                temperature = gr.Slider(
                    0.05,
                    2.0,
                    value=defaults.temperature,
                    step=0.05,
                    label="Temperature",
                    info="Sampling only",
                    interactive=False,
                )
                # Settings rejects top_p = 0 (it would keep no token), so the slider starts one step above it.
                top_p = gr.Slider(
                    0.01, 1.0, value=defaults.top_p, step=0.01, label="Top-p", info="Sampling only", interactive=False
                )
                top_k = gr.Slider(
                    0,
                    200,
                    value=defaults.top_k,
                    step=1,
                    label="Top-k",
                    info="Sampling only; 0 = off",
                    interactive=False,
                )
                repetition_penalty = gr.Slider(
                    1.0, 2.0, value=defaults.repetition_penalty, step=0.05, label="Repetition penalty"
                )
                # A Slider needs maximum > minimum, even where a host sets a limit of 1 (or 2 beams).
                max_new_tokens = gr.Slider(
                    1, max(limits.max_new_tokens, 2), value=defaults.max_new_tokens, step=1, label="Max new tokens"
                )
                num_beams = gr.Slider(
                    2,
                    max(limits.max_beams, 3),
                    value=defaults.num_beams,
                    step=1,
                    label="Number of beams",
                    info="Beam search and constrained beam search",
                    interactive=False,
                )
                seed = gr.Number(
                    value=defaults.seed, precision=0, minimum=0, label="Seed", info="Sampling only", interactive=False
                )
        last_trace = gr.State(None)  # this browser session's latest finished run
        with gr.Row():
            export_button = gr.DownloadButton("Export trace (JSON)", visible=False, scale=1)
            trace_file = gr.File(label="Load a trace", file_types=[".json"], type="filepath", scale=2, height=90)
        with gr.Tabs():
            with gr.Tab("Token distributions"):
                step = gr.Slider(1, 2, value=1, step=1, label="Step", info="Which generated token to inspect")
                step_plot = gr.Plot(label="Candidates at every stage", elem_id="step-plot")
                overview_plot = gr.Plot(label="All steps", elem_id="overview-plot")
            with gr.Tab("Beam tree"):
                beam_plot = gr.Plot(label="Beam tree", elem_id="beam-plot")
            with gr.Tab("Draft acceptance"):
                accept_plot = gr.Plot(label="Draft acceptance", elem_id="accept-plot")

        run_event = run_button.click(
            generate,
            inputs=[
                prompt,
                strategy,
                temperature,
                top_p,
                top_k,
                repetition_penalty,
                max_new_tokens,
                num_beams,
                seed,
                forced_words,
                one_of,
                draft,
                num_draft_tokens,
                do_sample,
            ],
            outputs=[output, status, last_trace],
            api_name="generate",
            concurrency_limit=1,
            concurrency_id="model",  # one queue for everything that runs the model
            # Values go to Settings unchecked: its messages name the field, where Gradio's own range check
            # ("Value 0 is less than minimum value 0.05.") would not, and the server limits live in Settings.
            preprocess=False,
            show_progress="minimal",
        )
        views = [step, step_plot, overview_plot, beam_plot, accept_plot]
        run_event.then(all_views, inputs=[last_trace], outputs=views, api_visibility="private").then(
            export_trace, inputs=[last_trace], outputs=[export_button], api_visibility="private"
        )
        trace_file.upload(
            load_trace, inputs=[trace_file], outputs=[last_trace, output, status], api_visibility="private"
        ).success(all_views, inputs=[last_trace], outputs=views, api_visibility="private")
        step.change(step_view, inputs=[last_trace, step], outputs=[step_plot], api_visibility="private")
        demo.load(all_views, inputs=[last_trace], outputs=views, api_visibility="private")

        def run(payload: str) -> str:
            """Runs one experiment from a JSON object of settings (plus "prompt") and returns its trace as JSON."""
            return run_json(loaded, payload)

        gr.api(run, api_name="run", concurrency_limit=1, concurrency_id="model")
        strategy.change(
            show_controls,
            inputs=[strategy],
            outputs=[constraint_row, speculative_row, temperature, top_p, top_k, seed, num_beams],
            queue=False,
            api_visibility="private",
        )
        stop_button.click(
            lambda: "Stopped.", outputs=[status], cancels=[run_event], queue=False, api_visibility="private"
        )
    return demo
