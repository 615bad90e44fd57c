"""The Runs tab's events: a finished run joins the tree, a click on a node shows that run, and a trace or runs
file loads into it."""

import json
from pathlib import Path

import gradio as gr
import pytest

from playground.engine import generate
from playground.engine.branch import branch_point
from playground.run_tree import RunTree
from playground.settings import Settings
from playground.ui.controls import CONTROLS, control_values
from playground.ui.files import export_runs
from playground.ui.run_views import load_file, remember, show_run, tree_value
from playground.ui.status import status_line
from playground.ui.tokens import trace_html
from playground.ui.views import Views

SETTINGS = Settings(chat=False, max_new_tokens=4, min_new_tokens=4)
MODELS = ["tiny-random-llama"]


def shown(answer):
    """`shown_run`'s answer without the controls' updates at its end."""
    return answer[: -len(CONTROLS)]


def controls(answer):
    """The controls' values in `shown_run`'s answer, by name; those it leaves as they are left out."""
    updates = dict(zip(CONTROLS, answer[-len(CONTROLS) :], strict=True))
    return {name: update["value"] for name, update in updates.items() if "value" in update}


def click(run_id):
    return gr.SelectData(None, {"index": 0, "value": run_id, "selected": True})


@pytest.fixture
def two(tiny_loaded):
    parent = generate(tiny_loaded, "the cat", SETTINGS)
    token = parent.steps[1].candidates[-1].id
    return parent, generate(tiny_loaded, "the cat", SETTINGS.replace(**branch_point(parent, 2, token)))


def test_runs_join_the_tree_and_a_click_shows_one(two):
    parent, child = two
    tree = RunTree()
    for trace in (parent, child, None):  # None: a run that failed adds nothing
        tree, value, made = remember(tree, trace, trace or child)
        assert made is None  # taken: the next run's failure cannot add this one again
    assert list(tree.runs) == [parent.run_id, child.run_id]
    assert json.loads(value)["data"][-1]["customdata"] == [[parent.run_id], [child.run_id]]
    answer = shown(show_run(tree, click(parent.run_id), MODELS))
    same, trace, html, status, *views, value, trace_file, runs_file = answer
    assert trace is parent and html == trace_html(parent) and status.startswith("Run #1: ")
    assert same.shown == parent.run_id and value == tree_value(tree)
    assert len(views) == len(Views._fields)
    # The exports come with the click: a download right after it saves the run and the tree it shows.
    assert json.loads(Path(trace_file.value["path"]).read_text())["run_id"] == parent.run_id
    assert json.loads(Path(runs_file.value["path"]).read_text())["shown"] == parent.run_id
    for odd in ("gone", 3, None):
        with pytest.raises(gr.Error, match="no longer kept"):
            show_run(tree, click(odd), MODELS)


def test_a_run_that_ends_while_another_is_shown_joins_the_tree_and_the_shown_one_stays_marked(two, tmp_path):
    """The run's steps after its end run one after another, and a file loaded (or a node picked) between them
    replaces the shown trace: the run still joins the tree, and the tree marks what the page shows."""
    made, loaded = two
    path = tmp_path / "loaded.json"
    path.write_text(loaded.to_json())
    tree, shown_trace, *_ = load_file(RunTree(), str(path), MODELS)  # the upload lands before `remember`
    tree, value, _ = remember(tree, made, shown_trace)
    assert set(tree.runs) == {made.run_id, loaded.run_id}
    assert tree.shown == loaded.run_id and value == tree_value(tree)


def test_a_runs_file_loads_every_run_and_shows_the_one_it_showed(two, tmp_path):
    parent, child = two
    tree = RunTree()
    for trace in two:
        tree.add(trace)
    tree.shown = parent.run_id
    path = export_runs(tree).value["path"]
    assert path.endswith("runs-2.json")
    loaded, trace, _, status, *_ = load_file(RunTree(), path, MODELS)
    assert list(loaded.runs) == [parent.run_id, child.run_id] and trace == parent
    assert status.startswith("Loaded 2 runs; showing: ")
    single = tmp_path / "one.json"
    single.write_text(child.to_json())
    loaded, trace, _, status, *_ = load_file(loaded, str(single), MODELS)  # a run already kept is shown, not doubled
    assert len(loaded.runs) == 2 and trace == child and status.startswith("Loaded trace: ")
    assert not export_runs(RunTree()).visible


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"schema": "decoding-playground/runs@1", "runs": [{"schema": "x"}]}', "not a decoding-playground runs file"),
        ('{"schema": "decoding-playground/runs@1"}', "not a decoding-playground runs file"),
        ("{oops", "not valid JSON"),
    ],
)
def test_bad_runs_files_are_refused_and_the_tree_is_unchanged(two, tmp_path, content, message):
    tree = RunTree()
    tree.add(two[0])
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(gr.Error) as err:
        load_file(tree, str(path), MODELS)
    assert message in err.value.message and list(tree.runs) == [two[0].run_id]


def test_runs_files_may_be_as_large_as_a_sessions_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_MAX_SESSION_MB", "0.001")
    path = tmp_path / "big.json"
    path.write_text("x" * 2000)
    with pytest.raises(gr.Error, match=r"The file is 0\.0 MB; the limit is 0\.001 MB"):
        load_file(RunTree(), str(path), MODELS)


def test_a_loaded_files_model_id_and_tokens_read_as_text_in_the_status_line(two, tmp_path):
    """The status line is Markdown: what a file holds must not turn into markup or HTML there."""
    parent, _ = two
    data = json.loads(parent.to_json())
    data["model"]["id"] = "<img src=x onerror=alert(1)> **bold** [link](http://x) `code` a_b"
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(data))
    _, _, _, status, *_ = load_file(RunTree(), str(path), MODELS)
    assert "<img" not in status and "&lt;img src=x onerror=alert(1)&gt;" in status
    assert r"\*\*bold\*\* \[link\](http://x) \`code\` a\_b" in status
    assert status_line(r"a\b") == r"a\\b"


def test_a_loaded_run_and_a_picked_one_set_the_controls_to_their_settings(tiny_loaded, tmp_path):
    """What the page shows is what runs next: the controls take the shown run's prompt, model, precision and
    settings, whichever controls held before (the bug: they kept the page's, so Generate ran other settings)."""
    hot = Settings(chat=False, strategy="sample", temperature=1.2, top_k=0, seed=7, max_new_tokens=5)
    sampled = generate(tiny_loaded, "a dog barks", hot)
    path = tmp_path / "hot.json"
    path.write_text(sampled.to_json())
    tree, *_ = answer = load_file(RunTree(), str(path), MODELS)
    values = controls(answer)
    assert values["strategy"] == "sample" and values["temperature"] == 1.2 and values["prompt"] == "a dog barks"
    expected = {"model": "tiny-random-llama", "precision": "fp32", **control_values(hot, "a dog barks")}
    del expected["num_samples"]  # Generate records one sample, whatever the Samples control says
    assert values == expected
    assert answer[3].endswith("the controls now hold its settings")
    greedy = generate(tiny_loaded, "the cat", SETTINGS)
    tree.add(greedy)
    answer = show_run(tree, click(greedy.run_id), MODELS)
    values = controls(answer)
    assert (values["strategy"], values["prompt"], values["max_new_tokens"]) == ("greedy", "the cat", 4)
    assert answer[3].startswith("Run #2: ") and answer[3].endswith("the controls now hold its settings")


def test_a_run_of_a_model_the_page_does_not_serve_leaves_model_and_draft_as_they_are(tiny_loaded, tmp_path):
    settings = Settings(chat=False, strategy="speculative", draft_model="elsewhere/draft", max_new_tokens=2)
    trace = generate(tiny_loaded, "the cat", SETTINGS)
    trace.model.id, trace.settings = "elsewhere/model", settings.to_dict()
    path = tmp_path / "other.json"
    path.write_text(trace.to_json())
    answer = load_file(RunTree(), str(path), MODELS)
    values = controls(answer)
    assert "model" not in values and "draft_model" not in values and values["strategy"] == "speculative"
    assert answer[3].endswith(
        r"the controls now hold its settings, except Model (elsewhere/model is not served here); "
        r"Draft (elsewhere/draft is not served here)"
    )
