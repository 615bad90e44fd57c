"""Sampling-only stages left on under another strategy, from the page: mirostat set under Sampling does not stop beam
search (the Order line says it is used only when sampling, and the run ends with its beams), speculative sampling
refuses it in words naming the knob, and the Sampler order box takes the stages as the picker names them."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_page import browser, page, reveal, run, set_number, shot  # noqa: F401

pytestmark = pytest.mark.browser


def test_mirostat_left_on_is_skipped_by_beam_search_and_refused_by_speculative_sampling(page):  # noqa: F811
    page.get_by_label("Prompt").fill("Name a colour.")
    page.get_by_label("Sampling", exact=True).check()
    reveal(page, "Mirostat")
    mirostat = page.get_by_label("number input for Mirostat", exact=True)  # set_number's label would match tau too
    mirostat.fill("1")
    mirostat.press("Tab")
    set_number(page, "Max new tokens", "4")
    reveal(page, "Temperature last")  # the Order family, with the chain line
    line = page.locator("#chain-line")
    expect(line).to_contain_text("Mirostat, then a token is drawn.")
    page.get_by_label("Beam search", exact=True).check()
    expect(line).to_contain_text("Set but used only when sampling: Top-k, Mirostat.")
    run(page)
    expect(page.locator("#status")).not_to_contain_text("mirostat")  # no refusal: the beams ran
    shot(page, "mirostat_beam_search")
    page.get_by_label("Speculative decoding", exact=True).check()
    page.get_by_label("Sample", exact=True).check()
    expect(line).to_contain_text("The chain cannot run: mirostat must be 0 with speculative sampling:")
    expect(page.get_by_label("number input for Mirostat", exact=True)).to_be_visible()  # where to switch it off


def test_the_sampler_order_box_takes_the_stages_as_the_picker_names_them(page):  # noqa: F811
    page.get_by_label("Sampling", exact=True).check()
    set_number(page, "Temperature", "0.7")
    reveal(page, "Sampler order")
    box = page.get_by_label("Sampler order")
    box.fill("Top-k; temperature")
    box.press("Tab")
    expect(page.locator("#chain-line")).to_contain_text("As it runs: Top-k → Temperature, then a token is drawn.")
    expect(page.locator("#order-picker .token")).to_have_text(["Top-k", "Temperature"])
    box.fill("Top-k;banana")
    box.press("Tab")
    expect(page.locator("#chain-line")).to_contain_text("sampler_order: 'banana' is not a stage; the stages are")
    shot(page, "sampler_order_labels")
