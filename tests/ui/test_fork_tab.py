"""The fork tab's words and its server side: the rule in force, the analysis' line (and a stopped one's), a
position's branches, a click on the figure, and the request read from the controls with bad values named."""

import gradio as gr
import pytest

from playground.fork.request import ForkRequest
from playground.settings import SettingsError
from playground.ui.fork_tab import opened, shown_rule
from playground.ui.fork_view import WEIGHTS_NOTE, analysis_line, branches_html, rule_line
from playground.ui.forks import fork_request, named
from tests.handmade_fork import handmade_analysis
from tests.ui.conftest import VALUES


class Click:
    """What Gradio hands a select handler (`gr.SelectData`), as the figure's script sends it."""

    def __init__(self, index):
        self.index = index


def test_the_rule_in_force_is_said_in_words_and_auto_says_what_it_chose():
    assert rule_line("auto", "", "What is 2 plus 3?").startswith("**Outcome rule:** auto chose ")
    assert "question with a number" in rule_line("auto", "", "What is 2 plus 3?")
    assert "cannot be used" in rule_line("regex", "(", "Is it?")


def test_the_analysis_line_names_change_points_by_step_and_a_stopped_one_says_what_is_kept():
    line = analysis_line(handmade_analysis())
    assert "3 positions analysed" in line and "change points (TV > 0.3) at steps: 2" in line
    assert "40 tokens sampled in 1.5 s" in line and not line.startswith("Stopped")
    stopped = analysis_line(handmade_analysis(stopped="stopped"))
    assert stopped.startswith("Stopped: the positions analysed so far are kept")
    one = handmade_analysis(stopped="stopped")
    one.positions = one.positions[:1]
    assert "· 1 position analysed ·" in analysis_line(one)


def test_the_analysis_line_says_how_many_continuations_were_cut_before_they_ended():
    analysis = handmade_analysis()  # every sample stopped at max_new_tokens
    assert analysis.cut_short() == (8, 8)
    assert "8 of 8 continuations reached Continuation length before they ended" in analysis_line(analysis)
    for position in analysis.positions[1:]:
        for branch in position.branches:
            for sample in branch.samples:
                sample.stop_reason = "eos"
    assert analysis.cut_short() == (4, 8)
    assert "4 of 8 continuations reached" in analysis_line(analysis)
    for sample in analysis.positions[0].branches[0].samples + analysis.positions[0].branches[1].samples:
        sample.stop_reason = "stop_string"
    assert analysis.cut_short() == (0, 8) and "Continuation length" not in analysis_line(analysis)


def test_a_positions_branches_show_token_p_weight_histogram_and_each_samples_outcome():
    html = branches_html(handmade_analysis(), 0)
    assert "<b>Step 1</b>" in html and WEIGHTS_NOTE in html
    assert "␣Two</b> (the run's own token)" in html
    assert "p 0.600 · weight 0.750" in html and "p 0.200 · weight 0.250" in html
    assert "histogram: '4' 0.50 · (none) 0.50" in html
    assert html.count("<li>") == 4 and "I cannot say." in html and "so it is 4." in html
    assert "Click a bar" in branches_html(handmade_analysis(), 7)


def test_a_click_opens_the_step_of_the_analysed_run_and_lists_its_branches(runs):
    *_, (_, _, trace) = runs.page.generate(VALUES)
    *_, (_, _, other) = runs.page.generate(VALUES)
    kept = (trace.run_id, handmade_analysis())
    step, html = opened(kept, trace, Click(1))
    assert step["value"] == 2 and "<b>Step 2</b> (open in Token distributions)" in html
    step, html = opened(kept, other, Click(1))
    assert step == gr.update() and "another run is shown now" in html
    assert opened(None, trace, Click(1))[0] == gr.update()


def test_the_controls_become_a_request_whole_numbers_from_floats():
    request = fork_request({"samples": 4.0, "alternatives": 1.0, "threshold": 0.25, "rule": "first_word"})
    assert request == ForkRequest(samples=4, alternatives=1, threshold=0.25, rule="first_word")
    assert fork_request({}) == ForkRequest()


def test_a_bad_field_is_named_by_its_control():
    with pytest.raises(SettingsError) as err:
        fork_request({"sample": 3})
    assert err.value.field == "sample"
    with pytest.raises(SettingsError) as err:
        fork_request({"samples": 0})
    assert named(err.value).message.startswith("Samples per branch (samples): ")


def test_the_rule_line_reads_the_shown_runs_prompt(runs):
    *_, (_, _, trace) = runs.page.generate({**VALUES, "prompt": "What is 12 plus 30?"})
    assert "asks a question with a number" in shown_rule(trace, "auto", "")
    assert "asks no question with a number" in shown_rule(None, "auto", "")
    *_, (_, _, closed) = runs.page.generate({**VALUES, "prompt": "Is 12 plus 30 an even number?"})
    assert "first word of the text" in shown_rule(closed, "auto", "") and "yes-or-no" in shown_rule(closed, "auto", "")


def test_a_samples_text_shows_from_its_branchs_token_on():
    html = branches_html(handmade_analysis(), 0, before="so it")
    assert "… is 4." in html and "I cannot say." in html  # a text that does not start so is shown whole
