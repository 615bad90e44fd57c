"""A stage's step notes in the views: its sentence in the step view's subtitle, and its series (`StageSpec.series`)
as a row of the overview, a line of numbers or marks where a true/false note is true."""

from __future__ import annotations

import copy

import pytest

from playground import stages
from playground.plots import stage_notes
from playground.plots.distributions import overview_figure, stage_figure
from playground.plots.stage_notes import note_lines, note_series
from tests.plots.hand_built import hand_trace


def noted(values: list[dict | None]):
    """A trace of len(values) copies of one hand-built step, step i noting `values[i]` under top_k."""
    trace = hand_trace([2.0, 1.0, 0.5, -1.0], k=2)
    trace.steps = [copy.deepcopy(trace.steps[0]) for _ in values]
    for index, (step, value) in enumerate(zip(trace.steps, values, strict=True)):
        step.index, step.notes = index, None if value is None else {"top_k": value}
    return trace


@pytest.fixture
def top_k_says(monkeypatch):
    """top_k, for these tests, says its note in words and follows `level` (a number) and `hit` (true/false)."""
    monkeypatch.setitem(stage_notes.SENTENCES, "top_k", lambda note, trace, index: f"level {note['level']}")
    row = stages.BY_NAME["top_k"]
    monkeypatch.setitem(
        stages.BY_NAME, "top_k", row.__class__(**{**row.__dict__, "series": (("level", "L"), ("hit", "hit"))})
    )


def test_a_note_is_said_in_the_step_view(top_k_says):
    trace = noted([{"level": 3, "hit": True}, None])
    assert note_lines(trace, 0) == ["level 3"] and note_lines(trace, 1) == []
    assert "level 3" in stage_figure(trace, 0).layout.title.subtitle.text
    assert stage_figure(trace, 1).layout.title.subtitle.text is None


def test_series_follow_the_steps_that_noted_them(top_k_says):
    trace = noted([{"level": 3, "hit": True}, None, {"level": 1.5, "hit": False}])
    level, hit = note_series(trace)
    assert (level.label, level.steps, level.values, level.marks) == ("L", [1, 3], [3, 1.5], False)
    assert (hit.steps, hit.values, hit.marks) == ([1, 3], [True, False], True)
    fig = overview_figure(trace)
    titles = [a.text for a in fig.layout.annotations]
    assert titles[2:] == ["Top-k: L", "Top-k: hit"]
    line, marks = fig.data[2], fig.data[3]
    assert list(line.x) == [1, 3] and list(line.y) == [3, 1.5] and line.mode == "lines+markers"
    assert list(marks.x) == [1] and marks.mode == "markers"  # only where the note is true


def test_a_run_without_notes_keeps_its_two_overview_rows():
    fig = overview_figure(noted([None, None]))
    assert [a.text for a in fig.layout.annotations] == ["probability of the chosen token", "entropy (nats)"]
    assert fig.layout.height is None
