"""The page: where the controls, the Output, the files and the views sit, and which event each triggers.

The controls are the knob table's (`playground.knobs`), made and read by `controls.py`; runs go through
`runs.Runs`. The default model is loaded once here, when the page is built, and shared by every request;
everything that runs a model goes through one queue ("model") that runs one request at a time, because a
loaded model serves one run at a time.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr

from playground.knobs import BY_NAME, PAGE_KNOBS, Knob
from playground.models import DEFAULT_MODEL_ID, LoadedModel, load_model
from playground.models.allowlist import allowed_models
from playground.run_tree import RunTree
from playground.settings import PRECISIONS, STRATEGIES, Limits, Settings
from playground.spaces import on_gpu, zero_gpu
from playground.ui.compare_view import CompareViews, compare_views, compared_step
from playground.ui.controls import CONTROLS, annotations, control_values, make_control, signature
from playground.ui.explain import explain, explain_all
from playground.ui.files import export_runs, export_trace
from playground.ui.presets import Preset, presets
from playground.ui.run_views import PLOTLY_JS, TREE_JS, load_file, remember, show_run, tree_value
from playground.ui.runs import Runs
from playground.ui.tokens import LEGEND
from playground.ui.views import Views, all_views, step_view

ASSETS = Path(__file__).resolve().parents[2] / "assets"
EXAMPLE_PROMPTS = [
    "Write a haiku about the sea.",
    "Explain in two sentences why the sky is blue.",
    "List three uses for a paperclip.",
]
# Listed under the controls in "What each knob does" (the strategy has its own line beside its radio).
KNOB_HELP = ["model", "precision", *(knob.name for knob in PAGE_KNOBS if knob.name != "strategy")]
PRESET_FIELDS = CONTROLS[2:]  # a preset sets every control but the model (and the precision, where it says)
# A click on a token of the Output sends its step as a select event (index = 0-based step), and pins a card
# under it with a button per alternative; a click on one sends a submit event {step: 1-based, token: id},
# which starts a branch of the shown run there. Escape or a click elsewhere closes the card.
OUTPUT_JS = """
const close = () => element.querySelectorAll('.take-card').forEach((card) => card.remove());
document.addEventListener('keydown', (event) => { if (event.key === 'Escape') close(); });
element.addEventListener('click', (event) => {
  const take = event.target.closest('[data-take]');
  if (take) {
    trigger('submit', {step: Number(take.dataset.at), token: Number(take.dataset.take)});
    close();
    return;
  }
  if (event.target.closest('.take-card')) return;
  close();
  const token = event.target.closest('.tokens [data-step]');
  if (!token) return;
  const step = Number(token.dataset.step);
  trigger('select', {index: step, value: token.textContent, selected: true});
  const alternatives = JSON.parse(token.dataset.alts || '[]');
  if (!alternatives.length) return;
  const card = document.createElement('div');
  card.className = 'take-card';
  const title = document.createElement('div');
  title.className = 'take-title';
  title.textContent = `Step ${step + 1}: continue with another token`;
  card.append(title);
  for (const [id, text, prob] of alternatives) {
    const button = document.createElement('button');
    button.dataset.take = id;
    button.dataset.at = step + 1;
    button.textContent = `${text}  ${prob.toFixed(3)}`;
    card.append(button);
  }
  const box = element.getBoundingClientRect();
  const place = token.getBoundingClientRect();
  card.style.left = `${Math.max(0, Math.min(place.left - box.left, box.width - 220))}px`;
  card.style.top = `${place.bottom - box.top + 4}px`;
  element.append(card);
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


@dataclass
class Parts:
    """The page's components by name, handed from the builders that make them to `wire`, which connects them."""

    controls: dict[str, Any] = field(default_factory=dict)  # by CONTROLS name
    # The knobs only some strategies use, one container per set of strategies, shown while one of them is chosen.
    groups: list[tuple[Knob, Any]] = field(default_factory=list)  # (a knob of the group, its container)
    strategy_help: Any = None
    preset: Any = None
    lesson: Any = None
    run_button: Any = None
    stop_button: Any = None
    branch_button: Any = None
    compare_button: Any = None
    comparison: Any = None  # the session's last comparison, for the step slider
    compare: CompareViews | None = None
    output: Any = None
    status: Any = None
    last_trace: Any = None
    run_tree: Any = None  # the session's runs (RunTree)
    tree_view: Any = None
    export_runs_button: Any = None
    export_button: Any = None
    trace_file: Any = None
    tabs: Any = None
    views: Views | None = None


def show_controls(groups: list[Knob], strategy: str, do_sample: bool) -> tuple[Any, ...]:
    """Only the controls that matter to the chosen strategy show, as (one update per group, given by one of
    its knobs, one per greyed knob, the strategy's explanation). The greyed knobs (temperature, top-p, top-k)
    stay in sight for every strategy, so a person always sees the sampling pipeline's main knobs."""
    shown = [gr.update(visible=knob.used(strategy, do_sample)) for knob in groups]
    greyed = [gr.update(interactive=knob.used(strategy, do_sample)) for knob in PAGE_KNOBS if knob.greyed]
    return (*shown, *greyed, explain(f"strategy_{strategy}" if strategy in STRATEGIES else "strategy"))


def group_key(knob: Knob) -> tuple[bool, tuple[str, ...]] | None:
    """Which container a knob sits in: None for the knobs every strategy shows, else (column, strategies)."""
    if knob.greyed or knob.strategies == STRATEGIES:
        return None
    return knob.widget.side, knob.strategies


def select_step(trace: Any, event: gr.SelectData) -> tuple[Any, Any]:
    """A click on an Output token: that step in the Step slider, and the Token distributions tab in front."""
    if trace is None or not trace.steps or isinstance(event.index, bool) or not isinstance(event.index, int):
        return gr.update(), gr.update()  # nothing to show, or not an index the page's own script would send
    step = min(max(event.index + 1, 1), len(trace.steps))
    return gr.update(value=step), gr.Tabs(selected="distributions")


def describe_model(loaded: LoadedModel) -> str:
    """One line saying which model serves the page, at what precision, where, and how big it is."""
    info = loaded.info
    return (
        f"**Model** `{info.id}` · {info.precision} · {info.device} · {info.memory_mb:.0f} MB · "
        f"loaded in {loaded.load_s:.1f} s"
    )


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
    gr.set_static_paths([PLOTLY_JS])  # the Runs tab's script draws its tree with it
    lessons = {preset.name: preset for preset in presets()}
    parts = Parts()
    # delete_cache: files Gradio keeps for downloads and uploads go after an hour, checked every half hour.
    with gr.Blocks(title="Decoding Playground", analytics_enabled=False, delete_cache=(1800, 3600)) as demo:
        gr.Markdown(
            "# Decoding Playground\nType a prompt, pick a strategy, and see why every token was chosen. "
            "New here? Pick a preset."
        )
        # The model served at start; each run's status line names the model it ran on.
        gr.Markdown(describe_model(runs.default), elem_id="model-info")
        with gr.Row():
            with gr.Column(scale=3):
                build_prompt(parts, models, model_id, precision, lessons)
                build_output(parts)
            with gr.Column(scale=2):
                build_knobs(parts, models)
        build_files(parts)
        build_views(parts)
        wire(demo, parts, runs, lessons)
    # Requests beyond max_queue waiting are turned away with Gradio's "queue is full" message.
    demo.queue(max_size=Settings.within().limits.max_queue, default_concurrency_limit=1)
    return demo


def knob_controls(parts: Parts, knobs: list[Knob], models: list[str]) -> None:
    """Makes the controls of `knobs` in table order; the knobs only some strategies use go in one container per
    group (where its first knob is), hidden until a strategy that uses them is chosen."""
    defaults = Settings.within()  # the controls' values and ranges come from Settings and the server's limits
    shown = control_values(defaults, "")
    made: set[Any] = set()
    for knob in knobs:
        key = group_key(knob)
        if key is None:
            parts.controls[knob.name] = _control(knob, shown, defaults, models)
            continue
        if key in made:
            continue  # made with the first of its group
        made.add(key)
        members = [other for other in knobs if group_key(other) == key]
        if key[0]:  # the side column: one box
            with gr.Group(visible=False) as container:
                for member in members:
                    parts.controls[member.name] = _control(member, shown, defaults, models)
        else:  # beside the prompt: a row of the group's values, then one of its switches, so neither is squeezed
            with gr.Column(visible=False) as container:
                for switches in (False, True):
                    with gr.Row():
                        for member in members:
                            if (member.widget.kind == "checkbox") == switches:
                                parts.controls[member.name] = _control(member, shown, defaults, models)
        parts.groups.append((members[0], container))


def _control(knob: Knob, shown: dict[str, Any], defaults: Settings, models: list[str]) -> Any:
    value = knob.widget.value if knob.widget.value is not None else shown[knob.name]
    return make_control(knob, value, defaults.limits, models)


def build_prompt(parts: Parts, models: list[str], model_id: str, precision: str, lessons: dict[str, Preset]) -> None:
    """The main column's top: model, precision and preset; the prompt; the strategy and the knobs only some
    strategies use (forced words, drafts)."""
    controls = parts.controls
    with gr.Row():
        controls["model"] = gr.Dropdown(models, value=model_id, label="Model", scale=3)
        controls["precision"] = gr.Dropdown(list(PRECISIONS), value=precision, label="Precision", scale=1)
        parts.preset = gr.Dropdown(
            list(lessons), value=None, label="Preset", info="Sets every control for one lesson", scale=3
        )
    parts.lesson = gr.Markdown(visible=False, elem_id="lesson")
    controls["prompt"] = gr.Textbox(label="Prompt", value=EXAMPLE_PROMPTS[0], lines=3, max_lines=12)
    with gr.Row():
        knob_controls(parts, [BY_NAME["chat"]], models)
        gr.Examples(EXAMPLE_PROMPTS, inputs=[controls["prompt"]], label="Example prompts")
    knob_controls(parts, [BY_NAME["strategy"]], models)
    parts.strategy_help = gr.Markdown(explain(f"strategy_{Settings().strategy}"), elem_id="strategy-help")
    beside = [knob for knob in PAGE_KNOBS if not knob.widget.side and knob.name not in ("chat", "strategy")]
    knob_controls(parts, beside, models)


def build_output(parts: Parts) -> None:
    """Generate and Stop, the Output (one span per token, a click opens its step) and the status line."""
    with gr.Row():
        parts.run_button = gr.Button("Generate", variant="primary", scale=3)
        parts.stop_button = gr.Button("Stop", variant="stop", scale=1)
    parts.output = gr.HTML(
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
    parts.status = gr.Markdown(elem_id="status")


def build_knobs(parts: Parts, models: list[str]) -> None:
    """The side column: every knob of the table that sits there, then what each knob does."""
    knob_controls(parts, [knob for knob in PAGE_KNOBS if knob.widget.side], models)
    with gr.Accordion("What each knob does", open=False):
        gr.Markdown(explain_all(KNOB_HELP), elem_id="knob-help")


def build_files(parts: Parts) -> None:
    """The session's last trace, and the buttons that export it and load one."""
    # This browser session's latest finished run; dropped two hours after its last change (and when the tab
    # closes), so sessions that never say goodbye do not hold traces forever.
    parts.last_trace = gr.State(None, time_to_live=7200)
    parts.run_tree = gr.State(RunTree.within(Limits.from_env()), time_to_live=7200)
    with gr.Row():
        parts.export_button = gr.DownloadButton("Export trace (JSON)", visible=False, scale=1)
        parts.trace_file = gr.File(
            label="Load a trace or runs", file_types=[".json"], type="filepath", scale=2, height=130
        )


def build_views(parts: Parts) -> None:
    """The view tabs, each with its explanation."""
    with gr.Tabs() as parts.tabs:
        with gr.Tab("Token distributions", id="distributions"):
            gr.Markdown(explain("token_distributions"))
            step = gr.Slider(1, 2, value=1, step=1, label="Step", info="Which generated token to inspect")
            with gr.Row(equal_height=True):
                take = gr.Dropdown(
                    [], label="Take instead", info="Another token for this step", interactive=False, scale=3
                )
                parts.branch_button = gr.Button("Continue from here", scale=1, elem_id="branch")
            gr.Markdown(explain("branch"))
            step_plot = gr.Plot(label="Candidates at every stage", elem_id="step-plot")
            gr.Markdown(explain("overview"))
            overview_plot = gr.Plot(label="All steps", elem_id="overview-plot")
        with gr.Tab("Beam tree", id="beams"):
            gr.Markdown(explain("beam_tree"))
            beam_plot = gr.Plot(label="Beam tree", elem_id="beam-plot")
        with gr.Tab("Draft acceptance", id="acceptance"):
            gr.Markdown(explain("draft_acceptance"))
            accept_plot = gr.Plot(label="Draft acceptance", elem_id="accept-plot")
        with gr.Tab("Compare", id="compare"):
            gr.Markdown(explain("compare"))
            parts.compare_button = gr.Button("Compare the shown run with the current settings", elem_id="compare")
            parts.comparison = gr.State(None, time_to_live=7200)
            parts.compare = CompareViews(
                compare_status=gr.Markdown(elem_id="compare-status"),
                aligned=gr.HTML("", elem_id="aligned"),
                compare_plot=gr.Plot(label="Divergence along A's text", elem_id="compare-plot"),
                compare_step=gr.Slider(
                    1, 2, value=1, step=1, label="Step of A's text", info="Whose candidates to set side by side"
                ),
                candidates_plot=gr.Plot(label="A's and B's candidates at this step", elem_id="candidates-plot"),
            )
        with gr.Tab("Runs", id="runs"):
            gr.Markdown(explain("runs"))
            parts.tree_view = gr.HTML(
                tree_value(None), html_template='<div class="run-tree"></div>', js_on_load=TREE_JS, elem_id="run-tree"
            )
            parts.export_runs_button = gr.DownloadButton("Export runs (JSON)", visible=False)
        with gr.Tab("About the Output", id="about"):
            gr.Markdown(explain("output"))
    # The components by name, so all_views' values land where their names say.
    parts.views = Views(
        step=step,
        step_plot=step_plot,
        take=take,
        overview_plot=overview_plot,
        beam_plot=beam_plot,
        accept_plot=accept_plot,
    )


def wire(demo: gr.Blocks, parts: Parts, runs: Runs, lessons: dict[str, Preset]) -> None:
    """Every event of the page: runs and Stop, the views, trace files, presets and which controls show."""
    wire_runs(demo, parts, runs)
    views = list(parts.views)
    shown = [parts.run_tree, parts.last_trace, parts.output, parts.status, *views, parts.tree_view]
    loaded = parts.trace_file.upload(
        load_file, inputs=[parts.run_tree, parts.trace_file], outputs=shown, api_visibility="private"
    )
    picked = parts.tree_view.select(show_run, inputs=[parts.run_tree], outputs=shown, api_visibility="private")
    for event in (loaded, picked):
        event.success(
            export_trace, inputs=[parts.last_trace], outputs=[parts.export_button], api_visibility="private"
        ).then(export_runs, inputs=[parts.run_tree], outputs=[parts.export_runs_button], api_visibility="private")
    parts.views.step.change(
        step_view,
        inputs=[parts.last_trace, parts.views.step],
        outputs=[parts.views.step_plot, parts.views.take],
        api_visibility="private",
    )
    parts.output.select(
        select_step, inputs=[parts.last_trace], outputs=[parts.views.step, parts.tabs], api_visibility="private"
    )
    demo.load(all_views, inputs=[parts.last_trace], outputs=views, api_visibility="private")
    controls = parts.controls
    strategy, do_sample = controls["strategy"], controls["do_sample"]
    for trigger in (strategy.change, do_sample.change):
        trigger(
            functools.partial(show_controls, [knob for knob, _ in parts.groups]),
            inputs=[strategy, do_sample],
            outputs=[
                *(container for _, container in parts.groups),
                *(controls[knob.name] for knob in PAGE_KNOBS if knob.greyed),
                parts.strategy_help,
            ],
            queue=False,
            api_visibility="private",
        )

    def apply_preset(name: str | None) -> tuple[Any, ...]:
        if name not in lessons:
            return (gr.update(visible=False), gr.update(), *(gr.update() for _ in PRESET_FIELDS))
        chosen = lessons[name]
        values = control_values(chosen.settings, chosen.prompt)
        precision = gr.update(value=chosen.precision) if chosen.precision else gr.update()
        lesson = gr.update(value=f"**{name}.** {chosen.lesson}", visible=True)
        return (lesson, precision, *(values[f] for f in PRESET_FIELDS))

    parts.preset.change(
        apply_preset,
        inputs=[parts.preset],
        outputs=[parts.lesson, controls["precision"], *(controls[name] for name in PRESET_FIELDS)],
        queue=False,
        api_visibility="private",
    )


def wire_runs(demo: gr.Blocks, parts: Parts, runs: Runs) -> None:
    """Generate (the page's run, also the /generate endpoint), Stop, /run, and what follows a run."""

    @on_gpu
    def generate(*args: Any) -> Any:
        """Generates a continuation of `prompt`, streaming (Output HTML so far, status line, trace)."""
        values = dict(zip(CONTROLS, args, strict=False))
        request = args[len(CONTROLS)] if len(args) > len(CONTROLS) else None
        yield from runs.generate(values, request and request.session_hash)

    # One parameter per control, named after it (Gradio names /generate's parameters from the signature).
    generate.__signature__ = signature()
    generate.__annotations__ = annotations(generate.__signature__)

    def arm(request: gr.Request) -> None:
        runs.arm(request.session_hash)

    armed = parts.run_button.click(arm, queue=False, api_visibility="private")
    run_event = armed.success(
        generate,
        inputs=[parts.controls[name] for name in CONTROLS],
        outputs=[parts.output, parts.status, parts.last_trace],
        api_name="generate",
        concurrency_limit=1,
        concurrency_id="model",  # one queue for everything that runs the model
        # Values go to Settings unchecked: its messages name the field, where Gradio's own range check
        # ("Value 0 is less than minimum value 0.05.") would not, and the server limits live in Settings.
        preprocess=False,
        show_progress="hidden",  # the status line counts the steps; an animated spinner costs CPU
    )

    branch_events = wire_branch(parts, runs, arm)
    wire_compare(parts, runs)
    views = list(parts.views)
    for event in (run_event, *branch_events):
        event.then(all_views, inputs=[parts.last_trace], outputs=views, api_visibility="private").then(
            export_trace, inputs=[parts.last_trace], outputs=[parts.export_button], api_visibility="private"
        ).then(remember, inputs=[parts.run_tree, parts.last_trace], outputs=[parts.run_tree, parts.tree_view]).then(
            export_runs, inputs=[parts.run_tree], outputs=[parts.export_runs_button]
        )

    def forget(request: gr.Request) -> None:
        runs.forget(request.session_hash)

    demo.unload(forget)  # a closed tab stops its run and frees the model

    @on_gpu
    def run(payload: str) -> str:
        """Runs one experiment from a JSON object of settings (plus "prompt") and returns its trace as JSON."""
        return runs.run_json(payload)

    gr.api(run, api_name="run", concurrency_limit=1, concurrency_id="model")

    def stop(request: gr.Request) -> None:
        # Stop answers nothing: the status line is the run's alone. Were Stop to write "Stopping…" there, its
        # answer could arrive after the run's last one and hide the finished run's summary. It is not queued,
        # so a full queue cannot hold it up (and a toast, which needs the queue, cannot be shown).
        runs.stop(request.session_hash)

    # On ZeroGPU a run executes in another process, out of reach of the Stop switch: abandon it instead.
    parts.stop_button.click(
        stop, queue=False, api_visibility="private", cancels=[run_event, *branch_events] if zero_gpu() else None
    )


def wire_branch(parts: Parts, runs: Runs, arm: Any) -> list[Any]:
    """Continue from here (the step view's step and the token under Take instead) and a token chosen in the
    Output's card: both continue the shown run with another token at one step, streaming like Generate. Returns
    both events."""

    def branch(*args: Any) -> Any:
        """Continues the shown run from its chosen step with another token, streaming like Generate."""
        *values, parent, step, token, request = args
        yield from runs.branch(dict(zip(CONTROLS, values, strict=True)), parent, step, token, request.session_hash)

    def take(*args: Any) -> Any:
        """Continues the shown run with the token chosen in the Output's card ({step, token})."""
        *values, parent, chosen, request = args
        chosen = chosen if isinstance(chosen, dict) else {}
        yield from runs.branch(
            dict(zip(CONTROLS, values, strict=True)),
            parent,
            chosen.get("step"),
            chosen.get("token"),
            request.session_hash,
        )

    def arm_take(event: gr.EventData, request: gr.Request) -> Any:
        # Only the event's first function receives its data: keep it for the run that follows.
        arm(request)
        return event._data

    # As for generate: named parameters, so Gradio hands the request to the last one.
    branch.__signature__ = signature(("parent", "step", "token"))
    take.__signature__ = signature(("parent", "chosen"))
    for fn in (branch, take):
        fn.__annotations__ = annotations(fn.__signature__)
    controls = [parts.controls[name] for name in CONTROLS]
    options = dict(
        outputs=[parts.output, parts.status, parts.last_trace],
        api_visibility="private",
        concurrency_limit=1,
        concurrency_id="model",
        preprocess=False,
        show_progress="hidden",
    )
    step_view_event = parts.branch_button.click(arm, queue=False, api_visibility="private").success(
        on_gpu(branch), inputs=[*controls, parts.last_trace, parts.views.step, parts.views.take], **options
    )
    chosen = gr.State(None)  # the card's {step, token}, from the click to the run
    card_event = parts.output.submit(arm_take, outputs=[chosen], queue=False, api_visibility="private").success(
        on_gpu(take), inputs=[*controls, parts.last_trace, chosen], **options
    )
    return [step_view_event, card_event]


def wire_compare(parts: Parts, runs: Runs) -> None:
    """Compare: the shown run against the current controls; the step slider picks whose candidates show; the
    /compare endpoint."""

    # Named apart from the /compare endpoint: Gradio names an event's endpoint after its function.
    def compare_shown(*args: Any) -> tuple[Any, ...]:
        *values, parent = args
        comparison = runs.compare(dict(zip(CONTROLS, values, strict=True)), parent)
        return comparison, *compare_views(parent, comparison)

    parts.compare_button.click(
        on_gpu(compare_shown),
        inputs=[*(parts.controls[name] for name in CONTROLS), parts.last_trace],
        outputs=[parts.comparison, *parts.compare],
        api_visibility="private",
        concurrency_limit=1,
        concurrency_id="model",
        preprocess=False,
    )
    parts.compare.compare_step.change(
        compared_step,
        inputs=[parts.comparison, parts.compare.compare_step],
        outputs=[parts.compare.candidates_plot],
        api_visibility="private",
    )

    @on_gpu
    def compare_runs(payload: str) -> str:
        """Runs A from settings and compares configuration B with it along A's text (see Runs.compare_json)."""
        return runs.compare_json(payload)

    gr.api(compare_runs, api_name="compare", concurrency_limit=1, concurrency_id="model")
