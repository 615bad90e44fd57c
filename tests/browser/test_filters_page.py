"""Top-nσ and smoothing on the page: their sliders show for sampling only, and a seeded run with both is the
engine's own run, drawn with both stages in the step view. Checked at fp32 (chosen in the page) against the engine
in this process."""

import pytest
from playwright.sync_api import expect

from playground.engine import generate
from playground.settings import Settings
from tests.browser.test_page import browser, choose_precision, expect_output, page, run, set_number, shot, shown  # noqa: F401

pytestmark = pytest.mark.browser
LABELS = ("Top-nσ", "Smoothing", "Smoothing curve")


def test_top_n_sigma_and_smoothing_show_for_sampling_and_their_run_is_the_engines(page, bundled_fp32):  # noqa: F811
    sliders = [page.get_by_label(f"range slider for {label}", exact=True) for label in LABELS]
    for slider in sliders:
        expect(slider).to_be_hidden()  # greedy, as the page opens
    prompt = "Name a colour."
    page.get_by_label("Prompt").fill(prompt)
    choose_precision(page, "fp32")  # the server's tokens and this process's are the same only at fp32
    page.get_by_label("Sampling", exact=True).check()
    for slider in sliders:
        expect(slider).to_be_visible()
    set_number(page, "Top-nσ", "1")
    smoothing = page.get_by_label("number input for Smoothing", exact=True)  # not "… Smoothing curve"
    smoothing.fill("0.3")
    smoothing.press("Tab")
    set_number(page, "Smoothing curve", "1.5")
    set_number(page, "Top-k", "0")
    set_number(page, "Max new tokens", "10")
    page.get_by_label("Seed").fill("5")
    run(page)
    knobs = dict(top_n_sigma=1.0, smoothing_factor=0.3, smoothing_curve=1.5, top_k=0, max_new_tokens=10, seed=5)
    settings = Settings(strategy="sample", **knobs)
    expect_output(page, shown(generate(bundled_fp32, prompt, settings)))
    for stage in ("after Smoothing", "after Top-nσ"):
        expect(page.locator("#step-plot").get_by_text(stage, exact=True)).to_be_visible(timeout=30_000)
    shot(page, "filters")
