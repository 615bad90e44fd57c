"""Every event of the page: runs, branches, many samples and Stop; comparisons, mass trees and the Runs tree; the
views, trace files and which controls show (the presets' events are `preset_events.py`'s). Everything that runs a
model goes through one queue ("model") that runs one request at a time, because a loaded model serves one run at
a time (`event_options.MODEL_QUEUE`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import gradio as gr

from playground.knobs import DRAFT_KINDS, PAGE_KNOBS, Knob, draft_kind
from playground.plots.mass import mass_figure
from playground.settings import STRATEGIES
from playground.summary import mass_summary
from playground.trace import Trace
from playground.ui.chain_order import wire_order
from playground.ui.compare_view import compare_views, compared_step
from playground.ui.compress_tab import wire_compress
from playground.ui.controls import CONTROLS, annotations, signature
from playground.ui.event_options import INSTANT, MODEL_QUEUE, PRIVATE
from playground.ui.explain import explain
from playground.ui.files import export_runs, export_trace, withheld_export
from playground.ui.fork_tab import wire_fork
from playground.ui.knob_families import open_set_families
from playground.ui.lens_tab import wire_lens
from playground.ui.parts import Parts
from playground.ui.preset_events import wire_presets
from playground.ui.presets import Preset
from playground.ui.probe_tab import wire_probe
from playground.ui.prompt_colour import wire_colour
from playground.ui.run_views import load_file, remember, show_run
from playground.ui.runs import Runs
from playground.ui.status import status_line
from playground.ui.views import all_views, beam_view, sample_views, shown_model, step_view, tree_view


def show_controls(groups: list[Knob], strategy: str, do_sample: bool) -> tuple[Any, ...]:
    """Only the controls that matter to the chosen strategy show, as (one update per group, given by one of
    its knobs, one per greyed knob, the strategy's explanation). The greyed knobs (temperature, top-p, top-k)
    stay in sight for every strategy, so a person always sees the sampling pipeline's main knobs."""
    shown = [gr.update(visible=knob.used(strategy, do_sample)) for knob in groups]
    greyed = [gr.update(interactive=knob.used(strategy, do_sample)) for knob in PAGE_KNOBS if knob.greyed]
    return (*shown, *greyed, explain(f"strategy_{strategy}" if strategy in STRATEGIES else "strategy"))


def select_step(trace: Any, event: gr.SelectData) -> tuple[Any, Any]:
    """A click on an Output token: that step in the Step slider, and the Token distributions tab in front."""
    if trace is None or not trace.steps or isinstance(event.index, bool) or not isinstance(event.index, int):
        return gr.update(), gr.update()  # nothing to show, or not an index the page's own script would send
    step = min(max(event.index + 1, 1), len(trace.steps))
    return gr.update(value=step), gr.Tabs(selected="distributions")


def show_draft_controls(knobs: list[Knob], draft_model: Any) -> tuple[Any, ...]:
    """Which of a draft's own controls show for the chosen Draft: draft tokens and precision for a model,
    draft tokens for prompt lookup, the tree size for Medusa heads."""
    return tuple(gr.update(visible=draft_kind(draft_model) in knob.drafts) for knob in knobs)


def wire(demo: gr.Blocks, parts: Parts, runs: Runs, lessons: dict[str, Preset]) -> None:
    """Every event of the page: runs and Stop, the views, trace files, presets, which controls show, the chain's
    order and which families open."""
    wire_runs(demo, parts, runs)
    shown = wire_shown_runs(parts, runs)
    wire_views(demo, parts)
    wire_lens(parts.lens, parts.tabs, parts.output, parts.last_trace, parts.views.step, runs)
    wire_strategy_controls(parts)
    order_setters = wire_order(parts)
    presets_applied = wire_presets(parts, lessons, order_setters)
    open_set_families(parts, [*presets_applied, *shown])  # a preset or a run that sets an expert knob shows it


def wire_shown_runs(parts: Parts, runs: Runs) -> list[Any]:
    """A run shown again, from a loaded file or a click on the Runs tree: its text, views and settings. Returns
    both events."""
    views = list(parts.views)
    shown = [parts.run_tree, parts.last_trace, parts.output, parts.status, *views, parts.tree_view]
    shown += [parts.export_button, parts.export_runs_button, *(parts.controls[name] for name in CONTROLS)]

    def load_run(tree: Any, path: Any) -> tuple[Any, ...]:
        return load_file(tree, path, runs.gate.models)

    def pick_run(tree: Any, event: gr.SelectData) -> tuple[Any, ...]:
        return show_run(tree, event, runs.gate.models)

    loaded = parts.trace_file.upload(load_run, inputs=[parts.run_tree, parts.trace_file], outputs=shown, **PRIVATE)
    picked = parts.tree_view.select(pick_run, inputs=[parts.run_tree], outputs=shown, **PRIVATE)
    for event in (loaded, picked):
        event.success(sample_views, inputs=[parts.last_trace], outputs=list(parts.samples), **PRIVATE)
        event.success(shown_model, inputs=[parts.last_trace], outputs=[parts.model_info], **PRIVATE)
    return [loaded, picked]


def wire_views(demo: gr.Blocks, parts: Parts) -> None:
    """The view tabs' own controls (the step, the draft round, every beam candidate), a click on the Output, and
    the views of the session's last run when the page loads."""
    views = parts.views
    views.step.change(
        step_view,
        inputs=[parts.last_trace, views.step],
        outputs=[views.step_plot, views.take, views.temperature_plot],
        **PRIVATE,
    )
    views.draft_round.change(
        tree_view, inputs=[parts.last_trace, views.draft_round], outputs=[views.tree_plot], **PRIVATE
    )
    # `input`, not `change`: a new run resets the box, and that must not draw its tree a second time.
    views.beam_all.input(beam_view, inputs=[parts.last_trace, views.beam_all], outputs=[views.beam_plot], **PRIVATE)
    parts.output.select(select_step, inputs=[parts.last_trace], outputs=[views.step, parts.tabs], **PRIVATE)
    # A click on a point of the entropy map opens its step as a click on its token does.
    views.entropy_map.select(select_step, inputs=[parts.last_trace], outputs=[views.step, parts.tabs], **PRIVATE)
    demo.load(all_views, inputs=[parts.last_trace], outputs=list(views), **PRIVATE)
    demo.load(sample_views, inputs=[parts.last_trace], outputs=list(parts.samples), **PRIVATE)


def wire_strategy_controls(parts: Parts) -> None:
    """Which controls show: those the chosen strategy uses (and sampling, where it switches), and the chosen
    draft's own."""
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
            **INSTANT,
        )
    drafted = [knob for knob in PAGE_KNOBS if knob.drafts != DRAFT_KINDS]
    controls["draft_model"].change(
        functools.partial(show_draft_controls, drafted),
        inputs=[controls["draft_model"]],
        outputs=[controls[knob.name] for knob in drafted],
        **INSTANT,
    )


def wire_runs(demo: gr.Blocks, parts: Parts, runs: Runs) -> None:
    """Generate (the page's run, also the /generate endpoint), its branches and many samples, Stop, /run, and
    what follows a run."""

    def arm(request: gr.Request) -> Any:
        # The export is withheld until the run's own file replaces it (`after_run`).
        runs.switches.arm(request.session_hash)
        return withheld_export()

    run_event = wire_generate(parts, runs, arm)
    branch_events = wire_branch(parts, runs, arm)
    many_events = wire_many(parts, runs, arm)
    wire_compare(parts, runs)
    wire_compress(parts.compress, parts.controls, runs)
    wire_colour(parts.colour, parts.last_trace, parts.reads, runs.prompt_colours)
    wire_mass(parts, runs)
    wire_probe(parts.probe, parts.last_trace, runs)
    wire_fork(parts.fork, parts.last_trace, parts.views.step, runs)
    for event in (run_event, *branch_events, *many_events):
        after_run(event, parts)

    def forget(request: gr.Request) -> None:
        runs.switches.forget(request.session_hash)

    demo.unload(forget)  # a closed tab stops its run and frees the model

    def run(payload: str) -> str:
        """Runs one experiment from a JSON object of settings (plus "prompt") and returns its trace as JSON."""
        return runs.api.run_json(payload)

    gr.api(run, api_name="run", **MODEL_QUEUE)

    def stop(request: gr.Request) -> None:
        # Stop answers nothing: the status line is the run's alone. Were Stop to write "Stopping…" there, its
        # answer could arrive after the run's last one and hide the finished run's summary. It is not queued,
        # so a full queue cannot hold it up (and a toast, which needs the queue, cannot be shown).
        runs.switches.stop(request.session_hash)

    parts.stop_button.click(stop, **INSTANT)


def wire_generate(parts: Parts, runs: Runs, arm: Any) -> Any:
    """Generate: a click arms the tab's Stop switch and withholds the export, then the run streams; also the
    /generate endpoint. Returns the run's event."""

    def generate(*args: Any) -> Any:
        """Generates a continuation of `prompt`, streaming (Output HTML so far, status line, trace)."""
        values = dict(zip(CONTROLS, args, strict=False))
        request = args[len(CONTROLS)] if len(args) > len(CONTROLS) else None
        yield from handed_over(runs.page.generate(values, request and request.session_hash))

    # One parameter per control, named after it (Gradio names /generate's parameters from the signature).
    generate.__signature__ = signature()
    generate.__annotations__ = annotations(generate.__signature__)
    return parts.run_button.click(arm, outputs=[parts.export_button], **INSTANT).success(
        generate,
        inputs=[parts.controls[name] for name in CONTROLS],
        outputs=[parts.output, parts.status, parts.last_trace, parts.made],
        api_name="generate",
        **MODEL_QUEUE,  # one queue for everything that runs the model
        # Values go to Settings unchecked: its messages name the field, where Gradio's own range check
        # ("Value 0 is less than minimum value 0.05.") would not, and the server limits live in Settings.
        preprocess=False,
        show_progress="hidden",  # the status line counts the steps; an animated spinner costs CPU
    )


def after_run(event: Any, parts: Parts) -> None:
    """What follows a run, in order: its export (withheld since the click, so that it is never the run before),
    its views, its place in the Runs tree, the tree's export, the samples' views and the model line."""
    trace = [parts.last_trace]
    event.then(export_trace, inputs=trace, outputs=[parts.export_button], **PRIVATE).then(
        all_views, inputs=trace, outputs=list(parts.views), **PRIVATE
    ).then(
        remember,
        inputs=[parts.run_tree, parts.made, parts.last_trace],
        outputs=[parts.run_tree, parts.tree_view, parts.made],
        **PRIVATE,
    ).then(export_runs, inputs=[parts.run_tree], outputs=[parts.export_runs_button], **PRIVATE).then(
        sample_views, inputs=trace, outputs=list(parts.samples), **PRIVATE
    ).then(shown_model, inputs=trace, outputs=[parts.model_info], **PRIVATE)


def card_choice(parent: Any, chosen: Any) -> tuple[Any, Any, bool]:
    """(1-based step, token, many) of a click in the Output's card ({step, token, many}): "Sample many from here"
    sends no token, and means the run's own token at that step, the samples continuing after it."""
    chosen = chosen if isinstance(chosen, dict) else {}
    step, token, many = chosen.get("step"), chosen.get("token"), chosen.get("many") is True
    if many and token is None and isinstance(parent, Trace) and isinstance(step, int) and not isinstance(step, bool):
        tokens = parent.output.token_ids
        token = tokens[step - 1] if 1 <= step <= len(tokens) else None
    return step, token, many


def wire_branch(parts: Parts, runs: Runs, arm: Any) -> list[Any]:
    """Continue from here and Sample many from here (the step view's step and the token under Take instead) and a
    choice in the Output's card: each continues the shown run with a token at one step (once, or as many samples),
    streaming like Generate. Returns the three events."""

    def branch(*args: Any) -> Any:
        """Continues the shown run from its chosen step with another token, streaming like Generate."""
        *values, parent, step, token, request = args
        values = dict(zip(CONTROLS, values, strict=True))
        yield from handed_over(runs.page.branch(values, parent, step, token, request.session_hash))

    def branch_many(*args: Any) -> Any:
        """Many samples continuing the shown run from its chosen step with the token under Take instead."""
        *values, parent, step, token, request = args
        values = dict(zip(CONTROLS, values, strict=True))
        yield from handed_over(runs.page.branch(values, parent, step, token, request.session_hash, many=True))

    def take(*args: Any) -> Any:
        """Continues the shown run with the token chosen in the Output's card ({step, token, many})."""
        *values, parent, chosen, request = args
        values = dict(zip(CONTROLS, values, strict=True))
        step, token, many = card_choice(parent, chosen)
        yield from handed_over(runs.page.branch(values, parent, step, token, request.session_hash, many=many))

    def arm_take(event: gr.EventData, request: gr.Request) -> Any:
        # Only the event's first function receives its data: keep it for the run that follows.
        return event._data, arm(request)

    # As for generate: named parameters, so Gradio hands the request to the last one.
    branch.__signature__ = branch_many.__signature__ = signature(("parent", "step", "token"))
    take.__signature__ = signature(("parent", "chosen"))
    for fn in (branch, branch_many, take):
        fn.__annotations__ = annotations(fn.__signature__)
    controls = [parts.controls[name] for name in CONTROLS]
    options = streamed(parts)
    withheld = dict(outputs=[parts.export_button], **INSTANT)
    step_view = [*controls, parts.last_trace, parts.views.step, parts.views.take]
    step_view_event = parts.branch_button.click(arm, **withheld).success(branch, inputs=step_view, **options)
    many_event = parts.many_here_button.click(arm, **withheld).success(branch_many, inputs=step_view, **options)
    chosen = gr.State(None)  # the card's {step, token, many}, from the click to the run
    card_event = parts.output.submit(arm_take, outputs=[chosen, parts.export_button], **INSTANT).success(
        take, inputs=[*controls, parts.last_trace, chosen], **options
    )
    return [step_view_event, many_event, card_event]


def wire_many(parts: Parts, runs: Runs, arm: Any) -> list[Any]:
    """Sample many: the Samples control's number of samples of the current sampling settings, in one batch,
    streaming the first one like Generate; and Open it, one of those samples run alone. Returns both events."""

    def sample_many(*args: Any) -> Any:
        """Many samples of the sampling settings, streaming the first (Output HTML so far, status line, trace)."""
        *values, request = args
        values = dict(zip(CONTROLS, values, strict=True))
        yield from handed_over(runs.page.generate(values, request.session_hash, many=True))

    def open_sample(many: Any, seed: Any, request: gr.Request) -> Any:
        """The chosen sample of the shown many-sample run, run alone with its seed: the same tokens, and every
        candidate of every step."""
        yield from handed_over(runs.page.open_sample(many, seed, request.session_hash))

    sample_many.__signature__ = signature()
    sample_many.__annotations__ = annotations(sample_many.__signature__)
    withheld = dict(outputs=[parts.export_button], **INSTANT)
    many = parts.many_button.click(arm, **withheld).success(
        sample_many, inputs=[parts.controls[name] for name in CONTROLS], **streamed(parts)
    )
    opened = parts.open_button.click(arm, **withheld).success(
        open_sample, inputs=[parts.samples.many_trace, parts.samples.sample_pick], **streamed(parts)
    )
    return [many, opened]


def handed_over(stream: Iterator[tuple[str, str, Any]]) -> Iterator[tuple[str, str, Any, Any]]:
    """A run's stream (Output HTML so far, status line, trace), its trace also handed to the step that adds it to
    the Runs tree (`remember`): the shown trace may be another run's by then."""
    for html, status, trace in stream:
        yield html, status, trace, trace


def streamed(parts: Parts) -> dict[str, Any]:
    """The options of a page event that streams a run into the Output, the status line and the shown trace,
    as Generate does (in the model's queue; values unchecked by Gradio, for Settings to name the bad one)."""
    return dict(
        outputs=[parts.output, parts.status, parts.last_trace, parts.made],
        **PRIVATE,
        **MODEL_QUEUE,
        preprocess=False,
        show_progress="hidden",
    )


def wire_compare(parts: Parts, runs: Runs) -> None:
    """Compare: the shown run against the current controls; the step slider picks whose candidates show; the
    /compare endpoint."""

    # Named apart from the /compare endpoint: Gradio names an event's endpoint after its function.
    def compare_shown(*args: Any) -> tuple[Any, ...]:
        *values, parent = args
        comparison = runs.experiments.compare(dict(zip(CONTROLS, values, strict=True)), parent)
        return comparison, *compare_views(parent, comparison)

    parts.compare_button.click(
        compare_shown,
        inputs=[*(parts.controls[name] for name in CONTROLS), parts.last_trace],
        outputs=[parts.comparison, *parts.compare],
        **PRIVATE,
        **MODEL_QUEUE,
        preprocess=False,
    )
    parts.compare.compare_step.change(
        compared_step,
        inputs=[parts.comparison, parts.compare.compare_step],
        outputs=[parts.compare.candidates_plot],
        **PRIVATE,
    )

    def compare_runs(payload: str) -> str:
        """Runs A from settings and compares configuration B with it along A's text (see JsonApi.compare_json)."""
        return runs.api.compare_json(payload)

    gr.api(compare_runs, api_name="compare", **MODEL_QUEUE)


def wire_mass(parts: Parts, runs: Runs) -> None:
    """Where the mass goes: the controls' prompt and settings, drawn as a sunburst; also the /mass endpoint."""

    def show_mass(*values: Any) -> tuple[str, Any]:
        tree = runs.experiments.mass(dict(zip(CONTROLS, values, strict=True)))
        return status_line(mass_summary(tree)), mass_figure(tree)

    parts.mass_button.click(
        show_mass,
        inputs=[parts.controls[name] for name in CONTROLS],
        outputs=[parts.mass_status, parts.mass_plot],
        **PRIVATE,
        **MODEL_QUEUE,
        preprocess=False,
    )

    def mass(payload: str) -> str:
        """Every continuation up to mass_depth tokens with probability at least mass_threshold, as a JSON tree."""
        return runs.api.mass_json(payload)

    gr.api(mass, api_name="mass", **MODEL_QUEUE)
