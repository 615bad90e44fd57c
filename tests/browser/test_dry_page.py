"""DRY and the presence penalty on the page: their controls show for greedy decoding (penalties apply to every
strategy), the breakers box shows the defaults, and a run with them is the engine's own run, drawn with both stages
in the step view. Checked at fp32 (chosen in the page) against the engine in this process."""

import pytest
from playwright.sync_api import expect

from playground.engine import generate
from playground.settings import Settings
from tests.browser.test_page import browser, choose_precision, expect_output, page, run, set_number, shot, shown  # noqa: F401

pytestmark = pytest.mark.browser

PROMPT = "Repeat after me: the cat sat on the mat, the cat sat on the mat, the cat sat on the mat,"


def test_dry_breaks_the_loop_as_the_engine_does_and_the_step_view_shows_it(page, bundled_fp32):  # noqa: F811
    expect(page.get_by_label("range slider for DRY", exact=True)).to_be_visible()  # greedy, as the page opens
    expect(page.get_by_label("DRY sequence breakers")).to_have_value('\\n\n:\n"\n*')
    page.get_by_label("Prompt").fill(PROMPT)
    choose_precision(page, "fp32")  # the server's tokens and this process's are the same only at fp32
    page.get_by_label("Chat template").uncheck()
    dry = page.get_by_label("number input for DRY", exact=True)  # set_number's label would match DRY base too
    dry.fill("0.8")
    dry.press("Tab")
    set_number(page, "Presence penalty", "0.5")
    set_number(page, "Max new tokens", "12")
    run(page)
    settings = Settings(chat=False, dry_multiplier=0.8, presence_penalty=0.5, max_new_tokens=12)
    expected = generate(bundled_fp32, PROMPT, settings)
    assert not shown(expected).startswith(" the cat sat")  # without DRY the model goes on looping
    expect_output(page, shown(expected))
    plot = page.locator("#step-plot")
    expect(plot.get_by_text("after DRY", exact=True)).to_be_visible(timeout=30_000)
    expect(plot.get_by_text("after Presence/frequency penalty", exact=True)).to_be_visible()
    shot(page, "dry")
