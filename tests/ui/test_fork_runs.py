"""The fork tab's Run and /fork's lease on the tiny model: the analysis streams progress then the analysis, Stop
keeps what was computed and frees the tab, the budget is refused by name before any work."""

import gradio as gr
import pytest

from playground.fork.request import ForkRequest
from playground.lease import START_SECONDS
from playground.ui.fork_tab import analysed
from tests.ui.conftest import VALUES

RUN = {"prompt": "the cat", "model": "tiny-random-llama", "precision": "fp32", "chat": False, "max_new_tokens": 8}
KNOBS = {"samples": 2.0, "alternatives": 1.0, "max_positions": 3.0, "max_new_tokens": 3.0, "rule": "first_word"}


@pytest.fixture
def shown(runs):
    *_, (_, _, trace) = runs.page.generate(VALUES)
    return trace


def test_run_streams_progress_then_the_analysis_drawn(runs, shown):
    items = list(runs.forks.analyse(shown, KNOBS, "kit"))
    *progress, analysis = items
    assert [p.done for p in progress] == list(range(len(progress))) and progress[-1].total == 6
    assert [p.index for p in analysis.positions] == [0, 1, 2] and analysis.stopped is None
    line, figure, branches, kept = analysed(shown, analysis)
    assert "3 positions analysed" in line and '"type":"bar"' in figure.replace(" ", "")
    assert kept == (shown.run_id, analysis) and "Click a bar" in branches
    assert runs.switches.stop("kit") is False  # the tab is free again


def test_stop_keeps_the_positions_analysed_so_far(runs, shown):
    stream = runs.forks.analyse(shown, {**KNOBS, "max_positions": 8.0}, "sam")
    seen = [next(stream) for _ in range(3)]  # two branches: the first position is done
    assert runs.switches.stop("sam") is True
    *_, analysis = stream
    assert seen[-1].done == 2 and analysis.stopped == "stopped"
    assert 1 <= len(analysis.positions) < 8


@pytest.mark.parametrize(
    ("knobs", "message"),
    [
        ({"samples": 0.0}, "Samples per branch (samples): "),
        ({"rule": "regex", "pattern": "("}, "Pattern (outcome_pattern): "),
        ({"samples": 64.0, "alternatives": 8.0, "max_new_tokens": 64.0}, "Budget (max_fork_tokens): "),
    ],
)
def test_bad_input_is_named_by_its_control_and_frees_the_tab(runs, shown, knobs, message):
    with pytest.raises(gr.Error) as err:
        list(runs.forks.analyse(shown, {**KNOBS, **knobs}, "lou"))
    assert err.value.message.startswith(message)
    assert runs.switches.stop("lou") is False


def test_no_run_shown_is_refused():
    from playground.ui.forks import Forks

    with pytest.raises(gr.Error, match="Generate a run first"):
        list(Forks(None, None).analyse(None, KNOBS, "x"))


def test_forks_lease_counts_every_branch(runs):
    trace = runs.api.run_json(RUN)
    seconds = runs.api._json_seconds("fork", {"trace": trace, "fork": {"samples": 2, "max_positions": 4}})
    one = runs.api._json_seconds("fork", {"trace": trace, "fork": {"samples": 2, "max_positions": 1}})
    assert seconds > one > START_SECONDS
    assert runs.api._json_seconds("fork", {**RUN, "fork": {"samples": 2}}) > one
    assert runs.api._json_seconds("fork", {"trace": "junk"}) == START_SECONDS
    assert ForkRequest().positions(8) == list(range(8))
