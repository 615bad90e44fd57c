"""The forking analysis' figure, drawn from a hand-built analysis: stacked bands per outcome, "(none)" grey, x
labelled by the run's tokens, change points marked with their TV, every bar carrying its step for a click."""

from playground.palette import GREY
from playground.plots.forks import MARK_Y, fork_figure, outcome_colours, position_label
from tests.handmade_fork import TEXTS, handmade_analysis


def test_each_outcome_is_one_band_stacked_over_the_analysed_positions():
    figure = fork_figure(handmade_analysis(), TEXTS)
    bars = [trace for trace in figure.data if trace.type == "bar"]
    assert [bar.name for bar in bars] == ["5", "4", "(none)"] and figure.layout.barmode == "stack"
    assert [list(bar.y) for bar in bars] == [[0.0, 1.0, 1.0], [0.875, 0.0, 0.0], [0.125, 0.0, 0.0]]
    totals = [sum(bar.y[i] for bar in bars) for i in range(3)]
    assert totals == [1.0, 1.0, 1.0]  # each position's o_t is a distribution
    assert bars[2].marker.color == GREY and bars[0].marker.color != bars[1].marker.color
    assert all([list(c) for c in bar.customdata] == [[0], [1], [2]] for bar in bars)  # a click sends the step


def test_x_is_labelled_by_the_runs_token_at_each_position():
    axis = fork_figure(handmade_analysis(), TEXTS).layout.xaxis
    assert list(axis.tickvals) == [0, 1, 2] and list(axis.ticktext) == ["1 ␣Two", "2 ␣plus", "3 ␣two"]
    assert position_label(9, TEXTS) == "10 ?"


def test_a_change_point_is_marked_above_its_bar_with_its_tv():
    figure = fork_figure(handmade_analysis(), TEXTS)
    (marks,) = [trace for trace in figure.data if trace.type == "scatter"]
    assert list(marks.x) == [1] and list(marks.y) == [MARK_Y] and list(marks.text) == ["TV 0.88"]
    assert [list(c) for c in marks.customdata] == [[1]]
    assert [shape.x0 for shape in figure.layout.shapes] == [1]


def test_no_change_point_draws_no_mark_and_no_analysis_says_what_to_do():
    analysis = handmade_analysis()
    analysis.change_points = []
    assert not [trace for trace in fork_figure(analysis, TEXTS).data if trace.type == "scatter"]
    assert "Run the forking analysis" in fork_figure(None, TEXTS).layout.annotations[0].text
    analysis.positions = []  # stopped before the first position was done
    assert "before any position was analysed" in fork_figure(analysis, TEXTS).layout.annotations[0].text


def test_outcome_colours_are_stable_by_order_and_none_is_grey():
    colours = outcome_colours(["a", "(none)", "b"])
    assert colours["(none)"] == GREY and colours == outcome_colours(["a", "b", "(none)"])
