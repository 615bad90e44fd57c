"""The "Logit lens" tab in Chromium: the lesson's run, the tab naming the layer where " Paris" first becomes top-1
(as the engine computes it in this process, at fp32), the heatmap, and the lens following a step clicked in the
Output and the tab's own step."""

import pytest
from playwright.sync_api import expect

from playground.engine import generate
from playground.engine.logit_lens import lens_step
from playground.plots.logit_lens import top1_sentence
from playground.ui.presets import LENS_LESSON, presets
from tests.browser import test_page
from tests.browser.test_page import RUN_TIMEOUT, run, settled_text, shot

pytestmark = pytest.mark.browser

browser, page = test_page.browser, test_page.page  # the same Chromium and page fixtures
LESSON = next(p for p in presets() if p.name == LENS_LESSON)


def test_the_lens_names_the_layer_where_paris_becomes_top1_and_follows_the_step(page, bundled_fp32):
    trace = generate(bundled_fp32, LESSON.prompt, LESSON.settings)
    page.get_by_label("Preset").click()
    page.get_by_role("option", name=LENS_LESSON).click()
    expect(page.locator("#lesson")).to_contain_text("Logit lens")
    run(page)
    settled_text(page)
    page.get_by_role("tab", name="Logit lens").click()
    line = page.locator("#lens-line")
    expect(line).to_have_text(top1_sentence(lens_step(bundled_fp32, trace, 1)), timeout=RUN_TIMEOUT)
    heatmap = page.locator("#lens-heatmap")
    expect(heatmap.locator(".gtitle")).to_contain_text("Step 1: each layer's most likely tokens", timeout=30_000)
    expect(page.locator("#lens-chosen .gtitle")).to_have_text("The chosen token '␣Paris' at every layer")
    expect(page.locator("#lens-kl .gtitle")).to_contain_text("KL(layer ‖ final)")
    heatmap.scroll_into_view_if_needed()
    shot(page, "lens-step1")
    # The tab's own step moves the lens (from the run's cache: no second pass).
    box = page.get_by_label("number input for Look inside step")
    box.fill("3")
    box.press("Enter")
    expect(line).to_have_text(top1_sentence(lens_step(bundled_fp32, trace, 3)), timeout=30_000)
    expect(heatmap.locator(".gtitle")).to_contain_text("Step 3: each layer's", timeout=30_000)
    # A token clicked in the Output opens its step; the lens follows it when its tab is opened again.
    page.locator("#output .tokens .tok").nth(1).click()
    expect(page.get_by_label("number input for Step", exact=True)).to_have_value("2", timeout=30_000)
    page.get_by_role("tab", name="Logit lens").click()
    expect(line).to_have_text(top1_sentence(lens_step(bundled_fp32, trace, 2)), timeout=30_000)
    page.locator("#lens-chosen").scroll_into_view_if_needed()
    shot(page, "lens-step2")
