"""Top-H on the page: its slider shows for sampling only, and a seeded run with it is the engine's own run, drawn
with its stage in the step view. Checked at fp32 (chosen in the page) against the engine in this process."""

import pytest
from playwright.sync_api import expect

from playground.engine import generate
from playground.settings import Settings
from tests.browser.test_page import browser, choose_precision, expect_output, page, run, set_number, shot, shown  # noqa: F401

pytestmark = pytest.mark.browser


def test_top_h_shows_for_sampling_and_its_run_is_the_engines(page, bundled_fp32):  # noqa: F811
    top_h = page.get_by_label("range slider for Top-H")
    expect(top_h).to_be_hidden()  # greedy, as the page opens
    prompt = "Name a colour."
    page.get_by_label("Prompt").fill(prompt)
    choose_precision(page, "fp32")  # the server's tokens and this process's are the same only at fp32
    page.get_by_label("Sampling", exact=True).check()
    expect(top_h).to_be_visible()
    set_number(page, "Top-H", "0.4")
    set_number(page, "Top-k", "0")
    set_number(page, "Max new tokens", "10")
    page.get_by_label("Seed").fill("5")
    run(page)
    settings = Settings(strategy="sample", top_h=0.4, top_k=0, max_new_tokens=10, seed=5)
    expect_output(page, shown(generate(bundled_fp32, prompt, settings)))
    expect(page.locator("#step-plot").get_by_text("after Top-H", exact=True)).to_be_visible(timeout=30_000)
    shot(page, "top_h")
