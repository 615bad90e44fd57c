"""The page: which controls exist, where they sit, and which event they trigger.

The default model is loaded once here, when the page is built, and shared by every request; everything that
runs a model goes through one queue ("model") that runs one request at a time, because a loaded model serves
one run at a time.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import gradio as gr

from playground.models import DEFAULT_MODEL_ID, load_model
from playground.models.allowlist import allowed_models
from playground.settings import MAX_DRAFT_TOKENS, PRECISIONS, STRATEGIES, Settings
from playground.spaces import on_gpu, zero_gpu
from playground.ui.callbacks import (
    CONTROLS,
    PROMPT_FORMATS,
    STRATEGY_CHOICES,
    Runs,
    control_values,
    describe_model,
    draft_choices,
    summarize,
)
from playground.ui.explain import explain, explain_all
from playground.ui.files import export_trace, read_trace
from playground.ui.presets import presets
from playground.ui.tokens import LEGEND, trace_html
from playground.ui.views import Views, all_views, step_view

ASSETS = Path(__file__).resolve().parents[2] / "assets"
EXAMPLE_PROMPTS = [
    "Write a haiku about the sea.",
    "Explain in two sentences why the sky is blue.",
    "List three uses for a paperclip.",
]
KNOB_HELP = [name for name in CONTROLS if name not in ("prompt", "strategy")]  # listed under the controls
# A click on a token of the Output sends its step as a select event (index = 0-based step).
OUTPUT_JS = """
element.addEventListener('click', (event) => {
  const token = event.target.closest('[data-step]');
  if (token) trigger('select', {index: Number(token.dataset.step), value: token.textContent, selected: true});
});
"""


def launch_options() -> dict[str, Any]:
    """Keyword arguments for `demo.launch`: since Gradio 6 the theme and CSS are given there, not to Blocks."""
    theme = gr.themes.Soft(
        primary_hue="indigo",
        # System fonts: the page must look the same on a machine that cannot fetch web fonts.
        font=["ui-sans-serif", "system-ui", "sans-serif"],
        font_mono=["ui-monospace", "DejaVu Sans Mono", "monospace"],
    )
    return {"theme": theme, "css_paths": [ASSETS / "style.css"]}


def show_controls(strategy: str, do_sample: bool) -> tuple[Any, ...]:
    """Only the controls that matter to the chosen strategy show. Temperature, top-p and top-k stay in sight
    for every strategy (greyed where unused), so a person always sees the sampling pipeline's main knobs."""
    samples = strategy == "sample" or (strategy == "speculative" and bool(do_sample))
    beams = strategy in ("beam", "constrained")
    return (
        gr.update(visible=strategy == "constrained"),  # forced words, one of
        gr.update(visible=strategy == "speculative"),  # draft, draft tokens, sample
        gr.update(visible=samples),  # min-p, typical-p, seed
        gr.update(visible=beams),  # beams, length penalty, return sequences
        *(gr.update(interactive=samples) for _ in range(3)),  # temperature, top-p, top-k
        explain(f"strategy_{strategy}" if strategy in STRATEGIES else "strategy"),
    )


def load_trace(path: Any) -> tuple[Any, ...]:
    """An uploaded trace as (state, Output HTML, status line, *views), drawn at once so that a file the views
    cannot draw is refused with a message and nothing on the page changes."""
    trace = read_trace(path)
    try:
        return trace, trace_html(trace), f"Loaded trace: {summarize(trace)}", *all_views(trace)
    except Exception as exc:  # a well-typed file can still hold values no view can use
        message = f"The trace file's data cannot be shown: {type(exc).__name__}: {str(exc)[:200]}"
        raise gr.Error(html.escape(message, quote=False), print_exception=False) from exc


def select_step(trace: Any, event: gr.SelectData) -> tuple[Any, Any]:
    """A click on an Output token: that step in the Step slider, and the Token distributions tab in front."""
    if trace is None or not trace.steps or isinstance(event.index, bool) or not isinstance(event.index, int):
        return gr.update(), gr.update()  # nothing to show, or not an index the page's own script would send
    step = min(max(event.index + 1, 1), len(trace.steps))
    return gr.update(value=step), gr.Tabs(selected="distributions")


def build_demo(model_id: str = DEFAULT_MODEL_ID, precision: str = "nf4", models: list[str] | None = None) -> gr.Blocks:
    """Loads the default model and lays out the playground page.

    Args:
        model_id: the model loaded at start: the bundled model's name, a Hugging Face model id or a directory.
        precision: one of `playground.models.PRECISIONS`, the page's default.
        models: the host's allowlist (default: `allowed_models()`, from PLAYGROUND_MODELS); `model_id` is
            added first if missing.
    """
    models = models or allowed_models()
    if model_id not in models:
        models = [model_id, *models]
    runs = Runs(models, precision, load_model(model_id, precision))
    defaults = Settings.within()  # slider defaults and ranges come from Settings and the server's limits
    limits = defaults.limits
    lessons = {preset.name: preset for preset in presets()}

    @on_gpu
    def generate(
        model: str,
        precision: str,
        prompt: str,
        prompt_format: str,
        strategy: str,
        temperature: float,
        top_p: float,
        top_k: int,
        min_p: float,
        typical_p: float,
        repetition_penalty: float,
        no_repeat_ngram_size: int,
        max_new_tokens: int,
        seed: int,
        num_beams: int,
        length_penalty: float,
        num_return_sequences: int,
        forced_words: str,
        one_of: str,
        draft: str,
        num_draft_tokens: int,
        do_sample: bool,
        measure_speedup: bool,
        stop_strings: str,
        request: gr.Request = None,
    ) -> Any:
        """Generates a continuation of `prompt`, streaming (Output HTML so far, status line, trace)."""
        values = dict(locals())
        yield from runs.generate({name: values[name] for name in CONTROLS}, request and request.session_hash)

    # delete_cache: files Gradio keeps for downloads and uploads go after an hour, checked every half hour.
    with gr.Blocks(title="Decoding Playground", analytics_enabled=False, delete_cache=(1800, 3600)) as demo:
        gr.Markdown(
            "# Decoding Playground\nType a prompt, pick a strategy, and see why every token was chosen. "
            "New here? Pick a preset."
        )
        # The model served at start; each run's status line names the model it ran on.
        gr.Markdown(describe_model(runs.default), elem_id="model-info")
        controls: dict[str, Any] = {}
        with gr.Row():
            with gr.Column(scale=3):
                with gr.Row():
                    controls["model"] = gr.Dropdown(models, value=model_id, label="Model", scale=3)
                    controls["precision"] = gr.Dropdown(list(PRECISIONS), value=precision, label="Precision", scale=1)
                    preset = gr.Dropdown(
                        list(lessons), value=None, label="Preset", info="Sets every control for one lesson", scale=3
                    )
                lesson = gr.Markdown(visible=False, elem_id="lesson")
                controls["prompt"] = gr.Textbox(label="Prompt", value=EXAMPLE_PROMPTS[0], lines=3, max_lines=12)
                with gr.Row():
                    controls["prompt_format"] = gr.Radio(PROMPT_FORMATS, value="chat", label="Prompt format", scale=1)
                    gr.Examples(EXAMPLE_PROMPTS, inputs=[controls["prompt"]], label="Example prompts")
                strategy = controls["strategy"] = gr.Radio(STRATEGY_CHOICES, value=defaults.strategy, label="Strategy")
                strategy_help = gr.Markdown(explain(f"strategy_{defaults.strategy}"), elem_id="strategy-help")
                with gr.Row(visible=False) as constraint_row:
                    controls["forced_words"] = gr.Textbox(
                        label="Forced words",
                        placeholder="umbrella, rainy day",
                        info="Phrases that must appear, separated by commas or lines",
                    )
                    controls["one_of"] = gr.Textbox(
                        label="One of",
                        placeholder="red | blue | green",
                        info="At least one option must appear; one set per line",
                    )
                with gr.Row(visible=False) as speculative_row:
                    controls["draft"] = gr.Dropdown(
                        draft_choices(models), value=defaults.draft_precision, label="Draft", min_width=220
                    )
                    controls["num_draft_tokens"] = gr.Slider(
                        1, MAX_DRAFT_TOKENS, value=defaults.num_draft_tokens, step=1, label="Draft tokens per round"
                    )
                    do_sample = controls["do_sample"] = gr.Checkbox(
                        value=False, label="Sample", info="Speculative sampling, else greedy"
                    )
                    controls["measure_speedup"] = gr.Checkbox(
                        value=True, label="Measure speed-up", info="Also time plain decoding (twice the wait)"
                    )
                with gr.Row():
                    run_button = gr.Button("Generate", variant="primary", scale=3)
                    stop_button = gr.Button("Stop", variant="stop", scale=1)
                output = gr.HTML(
                    "",
                    label="Output",
                    show_label=True,
                    html_template='<div class="tokens">${value}</div>' + LEGEND,
                    js_on_load=OUTPUT_JS,
                    container=True,
                    padding=True,
                    min_height=160,
                    elem_id="output",
                )
                status = gr.Markdown(elem_id="status")
            with gr.Column(scale=2):
                sampling_only = "Sampling only"
                controls["temperature"] = gr.Slider(
                    0.05, 2.0, value=defaults.temperature, step=0.05, label="Temperature", info=sampling_only,
                    interactive=False,
                )  # fmt: skip
                # Settings rejects top_p = 0 (it would keep no token), so the slider starts one step above it.
                controls["top_p"] = gr.Slider(
                    0.01, 1.0, value=defaults.top_p, step=0.01, label="Top-p", info=sampling_only, interactive=False
                )
                controls["top_k"] = gr.Slider(
                    0, 200, value=defaults.top_k, step=1, label="Top-k", info="Sampling only; 0 = off",
                    interactive=False,
                )  # fmt: skip
                with gr.Group(visible=False) as sampling_group:
                    controls["min_p"] = gr.Slider(0.0, 1.0, value=defaults.min_p, step=0.01, label="Min-p")
                    controls["typical_p"] = gr.Slider(0.01, 1.0, value=defaults.typical_p, step=0.01, label="Typical-p")
                    controls["seed"] = gr.Number(value=defaults.seed, precision=0, minimum=0, label="Seed")
                controls["repetition_penalty"] = gr.Slider(
                    1.0, 2.0, value=defaults.repetition_penalty, step=0.05, label="Repetition penalty"
                )
                controls["no_repeat_ngram_size"] = gr.Slider(
                    0, 10, value=defaults.no_repeat_ngram_size, step=1, label="No-repeat n-gram", info="0 = off"
                )
                # A Slider needs maximum > minimum, even where a host sets a limit of 1 (or 2 beams).
                controls["max_new_tokens"] = gr.Slider(
                    1, max(limits.max_new_tokens, 2), value=defaults.max_new_tokens, step=1, label="Max new tokens"
                )
                with gr.Group(visible=False) as beam_group:
                    controls["num_beams"] = gr.Slider(
                        2, max(limits.max_beams, 3), value=defaults.num_beams, step=1, label="Number of beams"
                    )
                    controls["length_penalty"] = gr.Slider(
                        -2.0, 3.0, value=defaults.length_penalty, step=0.1, label="Length penalty"
                    )
                    controls["num_return_sequences"] = gr.Slider(
                        1, max(limits.max_beams, 2), value=1, step=1, label="Return sequences"
                    )
                controls["stop_strings"] = gr.Textbox(
                    label="Stop strings", placeholder="one per line; \\n for a line break", lines=1, max_lines=4
                )
                with gr.Accordion("What each knob does", open=False):
                    gr.Markdown(explain_all(KNOB_HELP), elem_id="knob-help")
        # This browser session's latest finished run; dropped two hours after its last change (and when the tab
        # closes), so sessions that never say goodbye do not hold traces forever.
        last_trace = gr.State(None, time_to_live=7200)
        with gr.Row():
            export_button = gr.DownloadButton("Export trace (JSON)", visible=False, scale=1)
            trace_file = gr.File(label="Load a trace", file_types=[".json"], type="filepath", scale=2, height=130)
        with gr.Tabs() as tabs:
            with gr.Tab("Token distributions", id="distributions"):
                gr.Markdown(explain("token_distributions"))
                step = gr.Slider(1, 2, value=1, step=1, label="Step", info="Which generated token to inspect")
                step_plot = gr.Plot(label="Candidates at every stage", elem_id="step-plot")
                gr.Markdown(explain("overview"))
                overview_plot = gr.Plot(label="All steps", elem_id="overview-plot")
            with gr.Tab("Beam tree", id="beams"):
                gr.Markdown(explain("beam_tree"))
                beam_plot = gr.Plot(label="Beam tree", elem_id="beam-plot")
            with gr.Tab("Draft acceptance", id="acceptance"):
                gr.Markdown(explain("draft_acceptance"))
                accept_plot = gr.Plot(label="Draft acceptance", elem_id="accept-plot")
            with gr.Tab("About the Output", id="about"):
                gr.Markdown(explain("output"))

        def arm(request: gr.Request) -> None:
            runs.arm(request.session_hash)

        armed = run_button.click(arm, queue=False, api_visibility="private")
        run_event = armed.success(
            generate,
            inputs=[controls[name] for name in CONTROLS],
            outputs=[output, status, last_trace],
            api_name="generate",
            concurrency_limit=1,
            concurrency_id="model",  # one queue for everything that runs the model
            # Values go to Settings unchecked: its messages name the field, where Gradio's own range check
            # ("Value 0 is less than minimum value 0.05.") would not, and the server limits live in Settings.
            preprocess=False,
            show_progress="hidden",  # the status line counts the steps; an animated spinner costs CPU
        )
        # The components by name, so all_views' values land where their names say.
        views = list(
            Views(
                step=step,
                step_plot=step_plot,
                overview_plot=overview_plot,
                beam_plot=beam_plot,
                accept_plot=accept_plot,
            )
        )
        run_event.then(all_views, inputs=[last_trace], outputs=views, api_visibility="private").then(
            export_trace, inputs=[last_trace], outputs=[export_button], api_visibility="private"
        )
        trace_file.upload(
            load_trace, inputs=[trace_file], outputs=[last_trace, output, status, *views], api_visibility="private"
        )
        step.change(step_view, inputs=[last_trace, step], outputs=[step_plot], api_visibility="private")
        output.select(select_step, inputs=[last_trace], outputs=[step, tabs], api_visibility="private")
        demo.load(all_views, inputs=[last_trace], outputs=views, api_visibility="private")

        def forget(request: gr.Request) -> None:
            runs.forget(request.session_hash)

        demo.unload(forget)  # a closed tab stops its run and frees the model

        @on_gpu
        def run(payload: str) -> str:
            """Runs one experiment from a JSON object of settings (plus "prompt") and returns its trace as JSON."""
            return runs.run_json(payload)

        gr.api(run, api_name="run", concurrency_limit=1, concurrency_id="model")
        for trigger in (strategy.change, do_sample.change):
            trigger(
                show_controls,
                inputs=[strategy, do_sample],
                outputs=[
                    constraint_row,
                    speculative_row,
                    sampling_group,
                    beam_group,
                    controls["temperature"],
                    controls["top_p"],
                    controls["top_k"],
                    strategy_help,
                ],
                queue=False,
                api_visibility="private",
            )

        preset_fields = [name for name in CONTROLS if name not in ("model", "precision")]

        def apply_preset(name: str | None) -> tuple[Any, ...]:
            if name not in lessons:
                return (gr.update(visible=False), *(gr.update() for _ in preset_fields))
            chosen = lessons[name]
            values = control_values(chosen.settings, chosen.prompt)
            return (gr.update(value=f"**{name}.** {chosen.lesson}", visible=True), *(values[f] for f in preset_fields))

        preset.change(
            apply_preset,
            inputs=[preset],
            outputs=[lesson, *(controls[name] for name in preset_fields)],
            queue=False,
            api_visibility="private",
        )

        def stop(request: gr.Request) -> None:
            # Stop answers nothing: the status line is the run's alone. Were Stop to write "Stopping…" there, its
            # answer could arrive after the run's last one and hide the finished run's summary. It is not queued,
            # so a full queue cannot hold it up (and a toast, which needs the queue, cannot be shown).
            runs.stop(request.session_hash)

        # On ZeroGPU a run executes in another process, out of reach of the Stop switch: abandon it instead.
        stop_button.click(
            stop,
            queue=False,
            api_visibility="private",
            cancels=[run_event] if zero_gpu() else None,
        )
    # Requests beyond max_queue waiting are turned away with Gradio's "queue is full" message.
    demo.queue(max_size=limits.max_queue, default_concurrency_limit=1)
    return demo
