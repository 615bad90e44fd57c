"""The page: where the controls, the Output, the files and the views sit (`events.py` connects them).

The controls are the knob table's (`playground.knobs`), made and read by `controls.py`; runs go through
`runs.Runs`. The default model is loaded once here, when the page is built, and shared by every request.
Each view tab is laid out by a builder of its own, which returns or sets its parts by name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from playground.knobs import BY_NAME, PAGE_KNOBS, Family, Knob, draft_kind
from playground.models import DEFAULT_MODEL_ID, LoadedModel, load_model
from playground.models.allowlist import allowed_models
from playground.run_tree import RunTree
from playground.settings import PRECISIONS, STRATEGIES, Limits, Settings
from playground.ui.beam_hover import BEAM_HOVER_JS
from playground.ui.chain_order import FAMILY as ORDER
from playground.ui.chain_order import build_order
from playground.ui.compare_view import CompareViews
from playground.ui.compress_tab import compress_tab
from playground.ui.controls import make_control, page_defaults
from playground.ui.entropy_panel import entropy_panel
from playground.ui.events import wire
from playground.ui.explain import explain, explain_all
from playground.ui.fork_tab import LABEL as FORK_LABEL
from playground.ui.fork_tab import TAB_ID as FORK_TAB
from playground.ui.fork_tab import fork_tab
from playground.ui.knob_families import drawn_families, family_id
from playground.ui.lens_tab import LABEL as LENS_LABEL
from playground.ui.lens_tab import TAB_ID as LENS_TAB
from playground.ui.lens_tab import lens_tab
from playground.ui.parts import Parts
from playground.ui.presets import Preset, presets
from playground.ui.probe_tab import probe_tab
from playground.ui.prompt_colour import ColourParts, colour_by_control, prompt_colour_part
from playground.ui.run_views import PLOTLY_JS, TREE_JS, tree_value
from playground.ui.runs import Runs
from playground.ui.tokens import LEGEND
from playground.ui.views import SampleViews, Views, model_line

ASSETS = Path(__file__).resolve().parents[2] / "assets"
EXAMPLE_PROMPTS = [
    "Write a haiku about the sea.",
    "Explain in two sentences why the sky is blue.",
    "List three uses for a paperclip.",
]
# Listed under the controls in "What each knob does" (the strategy has its own line beside its radio).
KNOB_HELP = ["model", "precision", *(knob.name for knob in PAGE_KNOBS if knob.name != "strategy")]
# A click on a token of the Output sends its step as a select event (index = 0-based step), and pins a card
# under it with a button per alternative; a click on one sends a submit event {step: 1-based, token: id},
# which starts a branch of the shown run there. The card's last button, "Sample many from here", sends
# {step: 1-based step of the token, token: null, many: true}: many samples continue after the token clicked.
# Escape or a click elsewhere closes the card.
OUTPUT_JS = """
const close = () => element.querySelectorAll('.take-card').forEach((card) => card.remove());
document.addEventListener('keydown', (event) => { if (event.key === 'Escape') close(); });
element.addEventListener('click', (event) => {
  const take = event.target.closest('[data-take]');
  if (take) {
    const many = take.dataset.take === 'many';
    trigger('submit', {step: Number(take.dataset.at), token: many ? null : Number(take.dataset.take), many});
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
  const many = document.createElement('button');
  many.className = 'take-many';
  many.dataset.take = 'many';
  many.dataset.at = step + 1;
  many.textContent = 'Sample many from here';
  many.title = "The Samples control's number of samples, continuing after this token";
  card.append(many);
  element.append(card);
  // Placed from the box the card is positioned in (the component's, which holds a label above `element`).
  const box = (card.offsetParent || element).getBoundingClientRect();
  const place = token.getBoundingClientRect();
  card.style.left = `${Math.max(0, Math.min(place.left - box.left, box.width - 220))}px`;
  card.style.top = `${place.bottom - box.top + 4}px`;
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


def group_key(knob: Knob) -> tuple[bool, tuple[str, ...]] | None:
    """Which container a knob sits in: None for the knobs every strategy shows, else (column, strategies)."""
    if knob.greyed or knob.strategies == STRATEGIES or knob.widget.tab:
        return None  # a view tab's control shows with its tab
    return knob.widget.side, knob.strategies


def describe_model(loaded: LoadedModel) -> str:
    """One line saying which model serves the page, at what precision, where, and how big it is."""
    return model_line(loaded.info, loaded.load_s)


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
        # The model served at start, then the model of the run shown (the Precision control may have changed it).
        parts.model_info = gr.Markdown(describe_model(runs.gate.default), elem_id="model-info")
        with gr.Row():
            with gr.Column(scale=3):
                build_prompt(parts, models, model_id, precision, lessons)
                build_output(parts)
            with gr.Column(scale=2, elem_id="side-knobs"):
                build_knobs(parts, models)
        build_files(parts)
        build_views(parts, models)
        wire(demo, parts, runs, lessons)
    # Requests beyond max_queue waiting are turned away with Gradio's "queue is full" message.
    demo.queue(max_size=Settings.within().limits.max_queue, default_concurrency_limit=1)
    return demo


def knob_controls(parts: Parts, knobs: list[Knob], models: list[str]) -> None:
    """Makes the controls of `knobs` in table order; the knobs only some strategies use go in one container per
    group (where its first knob is), hidden until a strategy that uses them is chosen."""
    made: set[Any] = set()
    for knob in knobs:
        key = group_key(knob)
        if key is None:
            parts.controls[knob.name] = _control(knob, models)
            continue
        if key in made:
            continue  # made with the first of its group
        made.add(key)
        members = [other for other in knobs if group_key(other) == key]
        if key[0]:  # the side column: one box
            with gr.Group(visible=False) as container:
                for member in members:
                    parts.controls[member.name] = _control(member, models)
        else:  # beside the prompt: a row of the group's values, then one of its switches, so neither is squeezed
            with gr.Column(visible=False) as container:
                for switches in (False, True):
                    with gr.Row():
                        for member in members:
                            if (member.widget.kind == "checkbox") == switches:
                                parts.controls[member.name] = _control(member, models)
        parts.groups.append((members[0], container))


def _control(knob: Knob, models: list[str]) -> Any:
    # The controls' values and ranges come from Settings and the server's limits.
    shown = page_defaults()
    # A draft's own knobs show for that kind of draft only (events.show_draft_controls follows the Draft).
    visible = draft_kind(shown["draft_model"]) in knob.drafts
    return make_control(knob, shown[knob.name], Settings.within().limits, models, visible)


def build_prompt(parts: Parts, models: list[str], model_id: str, precision: str, lessons: dict[str, Preset]) -> None:
    """The main column's top: model, precision and preset; the prompt; the strategy and the knobs only some
    strategies use (forced words, drafts)."""
    controls = parts.controls
    with gr.Row():
        controls["model"] = gr.Dropdown(models, value=model_id, label="Model", scale=3)
        controls["precision"] = gr.Dropdown(list(PRECISIONS), value=precision, label="Precision", scale=1)
    # A row of its own: beside Model and Precision the box was too narrow for the longer names.
    parts.preset = gr.Dropdown(
        list(lessons), value=None, label="Preset", info="Sets every control for one lesson", elem_id="preset"
    )
    with gr.Row():
        parts.lesson = gr.Markdown(visible=False, elem_id="lesson")
        # Shown once a control the preset set has moved: the lesson's text describes the preset's settings.
        parts.reset_preset = gr.Button(
            "Reset to the preset", visible=False, size="sm", scale=0, min_width=160, elem_id="reset-preset"
        )
    controls["prompt"] = gr.Textbox(label="Prompt", value=EXAMPLE_PROMPTS[0], lines=3, max_lines=12)
    with gr.Row():
        knob_controls(parts, [BY_NAME["chat"]], models)
        gr.Examples(EXAMPLE_PROMPTS, inputs=[controls["prompt"]], label="Example prompts")
    knob_controls(parts, [BY_NAME["strategy"]], models)
    parts.strategy_help = gr.Markdown(explain(f"strategy_{Settings().strategy}"), elem_id="strategy-help")
    beside = [k for k in PAGE_KNOBS if not k.widget.side and not k.widget.tab and k.name not in ("chat", "strategy")]
    knob_controls(parts, beside, models)


def build_output(parts: Parts) -> None:
    """Generate and Stop, the Output (one span per token, a click opens its step) and the status line."""
    with gr.Row():
        parts.run_button = gr.Button("Generate", variant="primary", scale=3)
        parts.stop_button = gr.Button("Stop", variant="stop", scale=1)
    colour_by = colour_by_control()
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
    with gr.Accordion("What the model reads", open=False, elem_id="model-reads"):
        gr.Markdown(explain("model_reads"))
        parts.reads = gr.Textbox(
            label="The prompt as the model reads it",
            placeholder="Generate to see the prompt as the model reads it.",
            lines=3,
            max_lines=16,
            interactive=False,
            buttons=["copy"],
            elem_id="rendered-prompt",
        )
        parts.colour = ColourParts(colour_by, *prompt_colour_part())


def build_knobs(parts: Parts, models: list[str]) -> None:
    """The side column: its knobs family by family (`knob_families`), then what each knob does."""
    for family, members in drawn_families():
        knob_family(parts, family, members, models)
    with gr.Accordion("What each knob does", open=False):
        gr.Markdown(explain_all(KNOB_HELP), elem_id="knob-help")


def knob_family(parts: Parts, family: Family, members: list[Knob], models: list[str]) -> None:
    """One family's accordion and its knobs (the Order family's begins with the chain as it runs). A family whose
    knobs all serve the same strategies (beam search's) shows and hides as one: its accordion is their container,
    hidden until a strategy that uses them is chosen."""
    keys = {group_key(knob) for knob in members}
    alone = len(keys) == 1 and None not in keys
    with gr.Accordion(
        family.name, open=family.open, visible=not alone, elem_id=family_id(family.name), elem_classes=["knob-family"]
    ) as accordion:
        if family.name == ORDER:
            build_order(parts)
        if alone:
            for member in members:
                parts.controls[member.name] = _control(member, models)
            parts.groups.append((members[0], accordion))
        else:
            knob_controls(parts, members, models)
    parts.families[family.name] = accordion


def build_files(parts: Parts) -> None:
    """The session's last trace, and the buttons that export it and load one."""
    # This browser session's latest finished run; dropped two hours after its last change (and when the tab
    # closes), so sessions that never say goodbye do not hold traces forever.
    parts.last_trace = gr.State(None, time_to_live=7200)
    parts.made = gr.State(None, time_to_live=7200)
    parts.run_tree = gr.State(RunTree.within(Limits.from_env()), time_to_live=7200)
    with gr.Row():
        parts.export_button = gr.DownloadButton("Export trace (JSON)", visible=False, scale=1)
        parts.trace_file = gr.File(
            label="Load a trace or runs", file_types=[".json"], type="filepath", scale=2, height=130
        )


def tab_controls(parts: Parts, tab: str, models: list[str], label: str, elem_id: str) -> Any:
    """A view tab's explanation, then its knobs (those whose widget names the tab) beside its button; returns
    the button."""
    gr.Markdown(explain(tab))
    with gr.Row(equal_height=True):
        knob_controls(parts, [knob for knob in PAGE_KNOBS if knob.widget.tab == tab], models)
        return gr.Button(label, variant="primary", elem_id=elem_id)


def build_views(parts: Parts, models: list[str]) -> None:
    """The view tabs, each with its explanation."""
    # "wrap": a tab that does not fit goes to a second row, in sight, not into an overflow menu a person must open.
    with gr.Tabs(overflow_behavior="wrap") as parts.tabs:
        with gr.Tab("Token distributions", id="distributions"):
            distributions = distributions_tab(parts)
        with gr.Tab("Beam tree", id="beams"):
            beams = beam_tab()
        with gr.Tab("Draft acceptance", id="acceptance"):
            acceptance = acceptance_tab()
        with gr.Tab("Compare", id="compare"):
            compare_tab(parts)
        with gr.Tab("Sample many", id="samples"):
            samples_tab(parts, models)
        with gr.Tab("Compress the prompt", id="compress"):
            parts.compress = compress_tab()
        with gr.Tab("Where the mass goes", id="mass"):
            parts.mass_button = tab_controls(parts, "mass", models, "Show where the mass goes", "mass")
            parts.mass_status = gr.Markdown(elem_id="mass-status")
            parts.mass_plot = gr.Plot(label="Continuations by probability", elem_id="mass-plot")
        with gr.Tab(LENS_LABEL, id=LENS_TAB):
            parts.lens = lens_tab()
        with gr.Tab("Runs", id="runs"):
            gr.Markdown(explain("runs"))
            parts.tree_view = gr.HTML(
                tree_value(None), html_template='<div class="run-tree"></div>', js_on_load=TREE_JS, elem_id="run-tree"
            )
            parts.export_runs_button = gr.DownloadButton("Export runs (JSON)", visible=False)
        with gr.Tab("About the Output", id="about"):
            gr.Markdown(explain("output"))
        with gr.Tab("Token probe", id="probe"):
            parts.probe = probe_tab()
        with gr.Tab(FORK_LABEL, id=FORK_TAB):
            parts.fork = fork_tab()
    # The components by name, so all_views' values land where their names say.
    parts.views = Views(**distributions, **beams, **acceptance, reads=parts.reads)


def distributions_tab(parts: Parts) -> dict[str, Any]:
    """Token distributions: the step, Take instead and Continue from here, then the step's candidates at every
    stage and at other temperatures, the overview and the entropy map; returns its `Views` parts by name."""
    gr.Markdown(explain("token_distributions"))
    step = gr.Slider(1, 2, value=1, step=1, label="Step", info="Which generated token to inspect")
    with gr.Row(equal_height=True):
        take = gr.Dropdown([], label="Take instead", info="Another token for this step", interactive=False, scale=3)
        parts.branch_button = gr.Button("Continue from here", scale=1, elem_id="branch")
        parts.many_here_button = gr.Button("Sample many from here", scale=1, elem_id="many-here")
    gr.Markdown(explain("branch"))
    step_plot = gr.Plot(label="Candidates at every stage", elem_id="step-plot")
    gr.Markdown(explain("temperatures"))
    temperature_plot = gr.Plot(label="The same step at other temperatures", elem_id="temperature-plot")
    gr.Markdown(explain("overview"))
    overview_plot = gr.Plot(label="All steps", elem_id="overview-plot")
    entropy_map = entropy_panel()
    return dict(
        step=step, take=take, step_plot=step_plot, temperature_plot=temperature_plot, overview_plot=overview_plot,
        entropy_map=entropy_map,
    )  # fmt: skip


def beam_tab() -> dict[str, Any]:
    """Beam tree: the tree, and whether it shows every candidate; returns its `Views` parts by name."""
    gr.Markdown(explain("beam_tree"))
    beam_all = gr.Checkbox(
        False, label="Show every candidate",
        info="Also the pruned ones that ranked far down their step (counted as +N when hidden)",
        elem_id="beam-all",
    )  # fmt: skip
    beam_plot = gr.Plot(label="Beam tree", elem_id="beam-plot")
    gr.HTML("", js_on_load=BEAM_HOVER_JS, elem_id="beam-hover-script")  # draws a hovered node's beam
    return dict(beam_all=beam_all, beam_plot=beam_plot)


def acceptance_tab() -> dict[str, Any]:
    """Draft acceptance: per round, then a Medusa run's draft trees; returns its `Views` parts by name."""
    gr.Markdown(explain("draft_acceptance"))
    accept_plot = gr.Plot(label="Draft acceptance", elem_id="accept-plot")
    gr.Markdown(explain("draft_tree"))
    draft_round = gr.Slider(1, 2, value=1, step=1, label="Round", info="Whose draft tree to show",
                            interactive=False, elem_id="draft-round")  # fmt: skip
    tree_plot = gr.Plot(label="Draft tree", elem_id="tree-plot")
    depth_plot = gr.Plot(label="Acceptance by depth", elem_id="depth-plot")
    return dict(accept_plot=accept_plot, draft_round=draft_round, tree_plot=tree_plot, depth_plot=depth_plot)


def compare_tab(parts: Parts) -> None:
    """Compare: the button, then the comparison's line, both texts, the divergence and a step's candidates."""
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


def samples_tab(parts: Parts, models: list[str]) -> None:
    """Sample many: its controls and button, the samples' views, and Open a sample."""
    parts.many_button = tab_controls(parts, "samples", models, "Sample many", "many")
    samples_plot = gr.Plot(label="The samples' prefix tree", elem_id="samples-plot")
    with gr.Row(equal_height=True):
        sample_pick = gr.Dropdown(
            [], label="Open a sample", info="As a run of its own: every candidate of every step",
            interactive=False, scale=3,
        )  # fmt: skip
        parts.open_button = gr.Button("Open it", scale=1, elem_id="open-sample")
    parts.samples = SampleViews(
        samples_plot=samples_plot,
        continuations_plot=gr.Plot(label="Distinct continuations", elem_id="continuations-plot"),
        diversity_plot=gr.Plot(label="Diversity by position", elem_id="diversity-plot"),
        sample_pick=sample_pick,
        many_trace=gr.State(None, time_to_live=7200),
    )
