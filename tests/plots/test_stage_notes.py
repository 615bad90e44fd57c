"""A stage's step notes in the views: its sentence in the step view's subtitle, and its series (`StageSpec.series`)
as a row of the overview, a line of numbers or marks where a true/false note is true."""

from __future__ import annotations

import copy
import itertools

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
    assert titles[2:] == ["Top-k: L · mean 2.25", "Top-k: hit"]  # a line of numbers says its mean
    line, marks = fig.data[2], fig.data[3]
    assert list(line.x) == [1, 3] and list(line.y) == [3, 1.5] and line.mode == "lines+markers"
    assert list(marks.x) == [1] and marks.mode == "markers"  # only where the note is true


def test_a_run_without_notes_keeps_its_two_overview_rows():
    fig = overview_figure(noted([None, None]))
    assert [a.text for a in fig.layout.annotations] == ["probability of the chosen token", "entropy (nats)"]
    assert fig.layout.height == 448  # as tall as Plotly's default (450) with the gap a title needs


def with_series(monkeypatch, series: tuple) -> None:
    """top_k, for one test, follows `series` (its registry row's entries)."""
    row = stages.BY_NAME["top_k"]
    monkeypatch.setitem(stages.BY_NAME, "top_k", row.__class__(**{**row.__dict__, "series": series}))


def gaps_above_titles(fig) -> list[float]:
    """For each row but the first, the pixels between its top, where its title stands, and the bottom of the row
    above."""
    margin = fig.layout.margin
    area = fig.layout.height - (margin.t or 100) - (margin.b or 80)  # Plotly's defaults where none is set
    domains = [fig.layout[name].domain for name in sorted(fig.layout, key=str) if name.startswith("yaxis")]
    domains = sorted(domains, key=lambda d: -d[1])  # top row first
    return [(above[0] - below[1]) * area for above, below in itertools.pairwise(domains)]


@pytest.mark.parametrize("rows", [1, 2, 4, 6])
def test_every_overview_title_stands_clear_of_the_row_above(monkeypatch, rows):
    with_series(monkeypatch, tuple((f"n{i}", f"number {i}") for i in range(rows)))
    fig = overview_figure(noted([{f"n{i}": i * 0.5 for i in range(rows)}] * 3))
    titles = [a for a in fig.layout.annotations if a.yanchor == "bottom" and a.xref == "paper"]
    assert len(titles) == 2 + rows
    # A title is about 16 px tall and stands on its row's top: the gap above it holds it with room to spare.
    assert min(gaps_above_titles(fig)) >= 40
    assert fig.layout.height >= 448 + rows * 150


def test_a_line_of_numbers_has_its_mean_and_the_runs_reference_lines(monkeypatch):
    with_series(monkeypatch, (("level", "L", lambda settings: [(settings["top_k"], "k"), (1.0, "one")]),))
    trace = noted([{"level": 3}, {"level": None}, {"level": 1.5}])  # a step with no number is left out of the mean
    (level,) = note_series(trace)
    assert level.mean == 2.25 and level.lines == [(2, "k"), (1.0, "one")]
    fig = overview_figure(trace)
    assert "Top-k: L · mean 2.25" in [a.text for a in fig.layout.annotations]
    lines = [(shape.y0, shape.yref) for shape in fig.layout.shapes]
    assert lines == [(2, "y3"), (1.0, "y3")]  # across the series' own row (the third)
    assert {"k 2", "one 1"} <= {a.text for a in fig.layout.annotations}


def test_the_registry_rows_give_their_reference_lines_from_the_settings():
    def references(stage: str, key: str, settings: dict) -> list:
        (entry,) = [entry for entry in stages.BY_NAME[stage].series if entry[0] == key]
        return entry[2](settings)

    assert references("mirostat", "surprise", {"mirostat_tau": 4.0}) == [(4.0, "tau")]
    bounds = references("dynatemp", "T", {"temperature": 0.3, "dynatemp_range": 0.5})
    assert bounds == [(0.0, "lowest T"), (0.8, "highest T")]  # the lowest T is never below 0
    assert references("dynatemp", "T", {"temperature": 1.0, "dynatemp_range": 0.5}) == [
        (0.5, "lowest T"),
        (1.5, "highest T"),
    ]
