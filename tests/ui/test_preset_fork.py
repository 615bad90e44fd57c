"""The forking lesson: what it says to look at is what the engine's analysis gives at fp32, in this process, with
the tab's knobs the lesson names (the first two positions: the claim is about them)."""

from playground.fork.outcome import OutcomeRule
from playground.fork.request import ForkRequest
from playground.fork.run import fork_analysis
from playground.ui.presets import FORK_LESSON, presets
from tests.helpers import run


def test_the_first_token_decides_the_answer_a_change_point_at_step_2(bundled_fp32):
    preset = next(p for p in presets() if p.name == FORK_LESSON)
    assert preset.precision == "fp32" and "Continuation length to 4" in preset.lesson
    trace = run(bundled_fp32, preset.prompt, preset.settings)
    assert trace.output.text.startswith("No")
    request = ForkRequest(max_new_tokens=4, max_positions=2)  # the auto rule, as the tab's default
    *_, analysis = fork_analysis(bundled_fp32, trace, request)
    assert analysis.rule == OutcomeRule("first_word").describe()  # "auto" reads a yes-or-no question's first word
    first, second = analysis.positions
    assert [b.text for b in first.branches[:2]] == ["No", "Yes"]  # 'Yes' the second choice
    assert 0.15 <= first.branches[1].prob <= 0.35  # "about one chance in four"
    assert first.o["yes"] >= 0.2 and first.o["no"] < 0.8  # step 1: mixed, yes a large share
    assert second.o == {"no": 1.0}  # at step 2, after 'No', every continuation says no
    assert analysis.change_points == [1] and second.tv > request.threshold  # marked at step 2
