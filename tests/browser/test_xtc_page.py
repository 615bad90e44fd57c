"""XTC from the page: its lesson sets the XTC controls, the run is the engine's own (fp32, chosen in the page,
against the engine in this process), the step view says at a fired step what XTC excluded and kept, and the
overview marks the steps where it excluded tokens."""

import pytest
from playwright.sync_api import expect

from playground.engine import generate
from playground.plots.stage_notes import note_lines
from tests.browser.test_page import (  # noqa: F401
    browser,
    choose_precision,
    choose_preset,
    expect_output,
    page,
    preset,
    run,
    set_number,
    shot,
    shown,
)

pytestmark = pytest.mark.browser
LESSON = "XTC: creative by excluding the obvious"


def test_the_xtc_lesson_runs_and_the_views_say_where_it_excluded_tokens(page, bundled_fp32):  # noqa: F811
    lesson = preset(LESSON)
    choose_preset(page, LESSON)
    expect(page.get_by_label("number input for XTC", exact=True)).to_have_value("0.5")
    choose_precision(page, "fp32")
    set_number(page, "Max new tokens", "16")
    run(page)
    expected = generate(bundled_fp32, lesson.prompt, lesson.settings.replace(max_new_tokens=16))
    expect_output(page, shown(expected))
    fired = [s.index for s in expected.steps if s.notes["xtc"]["excluded_some"]]
    assert fired, "the coin fires where two tokens reach 10% within 16 steps of this seed"
    overview = page.locator("#overview-plot")
    expect(overview.get_by_text("XTC: steps where it excluded tokens")).to_be_visible(timeout=30_000)
    shot(page, "xtc_overview")
    set_number(page, "Step", str(fired[0] + 1))
    plot = page.locator("#step-plot")
    expect(plot.get_by_text(f"Step {fired[0] + 1}: chose")).to_be_visible(timeout=30_000)
    (sentence,) = note_lines(expected, fired[0])
    assert sentence.startswith("XTC fired: excluded")
    expect(plot.get_by_text(sentence)).to_be_visible(timeout=30_000)
    expect(plot.get_by_text("✂ XTC").first).to_be_visible()
    plot.scroll_into_view_if_needed()
    shot(page, "xtc_step")
