"""The "Compress the prompt" tab in Chromium: compress the lesson's long context, see the dropped tokens struck
through, move the ratio, run both prompts and see the KL curve and the prefill saved."""

import re

import pytest
from playwright.sync_api import expect

from playground.ui.presets import COMPRESS_LESSON
from tests.browser import test_page
from tests.browser.test_page import RUN_TIMEOUT, choose_precision, shot

pytestmark = pytest.mark.browser

browser, page = test_page.browser, test_page.page  # the same Chromium and page fixtures


def test_compress_strikes_the_dropped_tokens_and_runs_both_prompts(page):
    page.get_by_label("Preset").click()
    page.get_by_role("option", name=COMPRESS_LESSON).click()
    expect(page.locator("#lesson")).to_contain_text("Compress the prompt")
    choose_precision(page, "fp32")
    page.get_by_role("tab", name="Compress the prompt").click()
    page.get_by_role("button", name="Compress", exact=True).click()
    line = page.locator("#compress-line")
    expect(line).to_contain_text("Kept", timeout=RUN_TIMEOUT)
    assert re.search(r"ratio 0\.[45]\d \(asked 0\.50\)", line.text_content())
    dropped = page.locator("#compress-tokens .tok.dropped")
    expect(dropped.first).to_be_visible()
    style = dropped.first.evaluate("(el) => getComputedStyle(el).textDecorationLine")
    assert style == "line-through"
    expect(page.locator("#compress-tokens")).to_contain_text("Question: Who brought the crew")
    expect(page.locator("#compress-run-line")).to_contain_text("Prefill", timeout=RUN_TIMEOUT)
    expect(page.locator("#compress-plot").get_by_text("A vs B along A's text")).to_be_visible(timeout=30_000)
    run_line = page.locator("#compress-run-line").text_content()
    assert re.search(r"saved \d+ tokens", run_line)
    assert page.locator("#compress-answers .answer").count() == 2
    page.locator("#compress-tokens").scroll_into_view_if_needed()
    shot(page, "compress-half")
    half = dropped.count()
    # The ratio redraws the compression alone: a quarter drops more tokens.
    slider_box = page.get_by_label("number input for Keep ratio")
    slider_box.fill("0.25")
    slider_box.press("Enter")
    page.get_by_role("button", name="Compress", exact=True).click()
    expect(line).to_contain_text("(asked 0.25)", timeout=RUN_TIMEOUT)
    expect(page.locator("#compress-run-line")).to_contain_text("Done.", timeout=RUN_TIMEOUT)
    expect(page.locator("#compress-plot").get_by_text("A vs B along A's text")).to_be_visible(timeout=30_000)
    assert dropped.count() > half
    page.locator("#compress-plot").scroll_into_view_if_needed()
    shot(page, "compress-quarter")
