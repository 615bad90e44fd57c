"""XTC's note in the step view's words: fired with what it excluded and kept, not fired, fired with too few tokens
above the threshold, and mixed where nothing was drawn; and the steps where it excluded tokens as marks in the overview
(not those where it fired and excluded nothing)."""

import copy

from playground.plots.distributions import overview_figure, stage_figure
from playground.plots.stage_notes import note_lines, note_series
from tests.plots.hand_built import hand_trace


def noted(*notes: dict):
    """A hand-built trace of tokens t0..t3 (most probable first), step i noting `notes[i]` under xtc."""
    trace = hand_trace([2.0, 1.0, 0.5, -1.0])
    trace.steps = [copy.deepcopy(trace.steps[0]) for _ in notes]
    for index, (step, note) in enumerate(zip(trace.steps, notes, strict=True)):
        step.index, step.notes = index, {"xtc": {"q": 0.5, "threshold": 0.1, **note}}
    trace.settings["sampler_order"] = ["xtc"]
    return trace


def test_each_outcome_in_words():
    ids = {c.text: c.id for c in hand_trace([2.0, 1.0, 0.5, -1.0]).steps[0].candidates}
    fired = dict(fired=True, above=3, excluded=[ids["t0"], ids["t1"]], kept=ids["t2"])
    trace = noted(fired, dict(fired=False, above=3, excluded=[], kept=ids["t2"]),
                  dict(fired=True, above=1, excluded=[], kept=ids["t0"]),
                  dict(mixed=True, above=3, excluded=[ids["t0"], ids["t1"]], kept=ids["t2"]),
                  dict(fired=True, above=12, excluded=[ids["t0"], ids["t1"]], kept=ids["t2"]))  # fmt: skip
    assert note_lines(trace, 0) == ["XTC fired: excluded 't0', 't1'; kept 't2'"]
    assert note_lines(trace, 1) == ["XTC's coin did not fire (q = 0.5)"]
    assert note_lines(trace, 2) == ["XTC fired, but only one token was above 0.1: nothing excluded"]
    assert note_lines(trace, 3) == [
        "XTC's coin is not drawn at a forced step: it mixes 0.5 of the chain as it is with 0.5 of it excluding "
        "'t0', 't1' (keeping 't2')"
    ]
    assert note_lines(trace, 4) == ["XTC fired: excluded 't0', 't1' and 9 more; kept 't2'"]
    assert "XTC fired: excluded" in stage_figure(trace, 0).layout.title.subtitle.text


def test_the_overview_marks_the_steps_where_it_excluded_tokens():
    trace = noted(dict(fired=True, excluded_some=False, above=1, excluded=[], kept=0),
                  dict(fired=False, excluded_some=False, above=3, excluded=[], kept=2),
                  dict(mixed=True, above=3, excluded=[0, 1], kept=2),
                  dict(fired=True, excluded_some=True, above=3, excluded=[0, 1], kept=2))  # fmt: skip
    (series,) = note_series(trace)
    assert (series.stage, series.steps, series.values, series.marks) == ("xtc", [1, 2, 4], [False, False, True], True)
    fig = overview_figure(trace)
    assert [a.text for a in fig.layout.annotations][2:] == ["XTC: steps where it excluded tokens"]
    assert list(fig.data[-1].x) == [4]  # not step 1, where the coin fired with one token above the threshold
