"""Mirostat on the page: its controls show for sampling only, a seeded run with it is the engine's own run, the
step view says mu, the cut and the surprise, and the overview draws mu over the run. Checked at fp32 (chosen in the
page) against the engine in this process."""

import pytest
from playwright.sync_api import expect

from playground.engine import generate
from playground.settings import Settings
from tests.browser.test_page import browser, choose_precision, expect_output, page, reveal, run, set_number, shot, shown  # noqa: F401

pytestmark = pytest.mark.browser


def test_mirostat_runs_from_the_page_and_the_views_say_and_draw_mu(page, bundled_fp32):  # noqa: F811
    mirostat = page.get_by_label("range slider for Mirostat", exact=True)
    expect(mirostat).to_be_hidden()  # greedy, as the page opens
    prompt = "Write a sentence about the sea."
    page.get_by_label("Prompt").fill(prompt)
    choose_precision(page, "fp32")  # the server's tokens and this process's are the same only at fp32
    page.get_by_label("Sampling", exact=True).check()
    reveal(page, "Mirostat")  # its family starts closed
    expect(mirostat).to_be_visible()
    box = page.get_by_label("number input for Mirostat", exact=True)  # set_number's label would match tau and eta
    box.fill("2")
    box.press("Tab")
    set_number(page, "Mirostat tau", "3")
    set_number(page, "Top-k", "0")
    set_number(page, "Max new tokens", "12")
    page.get_by_label("Seed").fill("4")
    run(page)
    settings = Settings(strategy="sample", mirostat=2, mirostat_tau=3.0, top_k=0, max_new_tokens=12, seed=4)
    expected = generate(bundled_fp32, prompt, settings)
    expect_output(page, shown(expected))
    step_plot = page.locator("#step-plot")
    expect(step_plot.get_by_text("after Mirostat", exact=True)).to_be_visible(timeout=30_000)
    note = expected.steps[0].notes["mirostat"]
    expect(step_plot.get_by_text(f"mirostat 2: mu 6.00 bits, kept {note['kept']} token")).to_be_visible()
    overview = page.locator("#overview-plot")
    expect(overview.get_by_text("Mirostat: mu (bits)")).to_be_visible()
    expect(overview.get_by_text("Mirostat: surprise of the chosen token (bits)")).to_be_visible()
    shot(page, "mirostat")
