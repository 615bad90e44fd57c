"""Export trace never offers the run before: every event that streams a run withholds the export from its click
on, and the first step after the run gives the button that run's own file."""

import gradio as gr
import pytest

from playground.engine import generate
from playground.settings import Settings
from playground.ui.files import export_trace
from tests.tiny import make_tiny_model, wrap_loaded


@pytest.fixture
def demo(monkeypatch, tiny_tokenizer):
    """The page laid out around the tiny model."""
    import playground.ui.page as page_module

    monkeypatch.setattr(
        page_module, "load_model", lambda *a, **k: wrap_loaded(make_tiny_model(tiny_tokenizer), tiny_tokenizer)
    )
    return page_module.build_demo("tiny-random-llama", "fp32", ["tiny-random-llama"])


def block(demo, kind, **attributes):
    """The one block of type `kind` whose attributes have the given values."""
    (found,) = [
        b
        for b in demo.blocks.values()
        if isinstance(b, kind) and all(getattr(b, k, None) == v for k, v in attributes.items())
    ]
    return found


def before(demo, fn) -> list:
    """The steps of `fn`'s chain that run before it, the click first."""
    steps = []
    while fn.trigger_after is not None:
        fn = demo.fns[fn.trigger_after]
        steps.insert(0, fn)
    return steps


def after(demo, fn) -> list:
    """The steps that follow `fn` (`.then`/`.success`), in the order they run: each step's own followers."""
    steps = []
    for follower in (f for f in demo.fns.values() if f.trigger_after == fn._id):
        steps += [follower, *after(demo, follower)]
    return steps


def called(step, tab: str):
    """What a click's first step answers, called as Gradio calls it from browser tab `tab` (a request, and the
    event's data)."""
    arguments = {"request": gr.Request(session_hash=tab), "event": gr.EventData(None, {"step": 1, "token": 2})}
    return step.fn(**{name: arguments[name] for name in step.fn.__code__.co_varnames[: step.fn.__code__.co_argcount]})


def test_every_run_withholds_the_export_from_its_click_until_its_own_file_replaces_it(demo):
    status = block(demo, gr.Markdown, elem_id="status")
    export = block(demo, gr.DownloadButton, label="Export trace (JSON)")
    runs = [fn for fn in demo.fns.values() if fn.types_generator and status in fn.outputs]
    # Generate, Continue from here, a token of the Output's card, Sample many, Open a sample, Sample many from here
    assert len(runs) == 6
    for run in runs:
        withholding = [step for step in before(demo, run) if export in step.outputs]
        assert withholding, f"{run.name}: the export still offers the last run while this one streams"
        answer = called(withholding[-1], tab=f"tab {run._id}")
        button = answer[list(withholding[-1].outputs).index(export)] if isinstance(answer, tuple) else answer
        assert button.constructor_args == {"value": None, "interactive": False}
        # The first step after the run to set the button gives it the trace the run just left in the page.
        first = next(step for step in after(demo, run) if export in step.outputs)
        (trace,) = first.inputs
        assert first.fn is export_trace and trace in run.outputs


def test_the_runs_own_export_is_clickable_again_after_it_was_withheld(tiny_loaded):
    trace = generate(tiny_loaded, "the cat", Settings(chat=False, max_new_tokens=2))
    button = export_trace(trace)
    # As an answer, a component sends only what its constructor was given: "interactive" must be among it.
    assert button.constructor_args["visible"] is True and button.constructor_args["interactive"] is True
    assert button.value["path"].endswith("trace-greedy.json")
