"""Mirostat's sentence in the step view, for each kind of note it keeps: mirostat 2's cut, mirostat 1's k from the
Zipf fit, and a forced token the earlier stages had removed (no surprise, mu unchanged)."""

from playground.plots.distributions import stage_figure
from playground.plots.stage_notes import note_lines
from tests.plots.hand_built import hand_trace


def noted(note: dict, version: int):
    trace = hand_trace([2.0, 1.0, 0.5, -1.0])
    trace.settings = {**trace.settings, "mirostat": version}
    trace.steps[0].notes = {"mirostat": note}
    return trace


def test_mirostat_2_says_mu_the_cut_and_where_the_token_moved_mu():
    trace = noted(dict(mu=7.314, kept=12, surprise=3.2, mu_after=7.494), 2)
    # The surprise is the chosen token's before mirostat's cut; the step's title gives its probability after it.
    line = "mirostat 2: mu 7.31 bits, kept 12 tokens; 't0' surprised 3.20 bits before the cut, mu → 7.49"
    assert note_lines(trace, 0) == [line]
    assert line in stage_figure(trace, 0).layout.title.subtitle.text


def test_mirostat_1_says_its_zipf_fit_and_k():
    trace = noted(dict(mu=6.0, kept=1, surprise=0.5, mu_after=6.45, k=1, s=1.084), 1)
    assert note_lines(trace, 0) == [
        "mirostat 1: mu 6.00 bits, Zipf s 1.08 gives k = 1, kept 1 token; 't0' surprised 0.50 bits before the cut, "
        "mu → 6.45"
    ]


def test_a_token_with_no_probability_leaves_mu_and_says_why():
    trace = noted(dict(mu=5.0, kept=3, surprise=None, mu_after=5.0), 2)
    assert note_lines(trace, 0) == [
        "mirostat 2: mu 5.00 bits, kept 3 tokens; 't0' had probability 0 before mirostat (an earlier stage "
        "removed it), so mu stays 5.00"
    ]
