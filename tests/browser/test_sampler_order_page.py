"""The sampler order on the page: the llama.cpp preset fills the Sampler order box with its chain, the run is the
engine's own run in that order (at fp32, chosen in the page, against the engine in this process), and the step view
draws the stages in that order; a name that is no stage is refused with a message naming the box."""

import pytest
from playwright.sync_api import expect

from playground.engine import generate
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
LESSON = "llama.cpp order: temperature last"
LEGEND = "() => [...document.querySelectorAll('#step-plot .legendtext')].map((e) => e.textContent)"


def test_the_llama_cpp_preset_runs_its_chain_in_order_and_the_step_view_follows_it(page, bundled_fp32):  # noqa: F811
    lesson = preset(LESSON)
    choose_preset(page, LESSON)
    box = page.get_by_label("Sampler order")
    expect(box).to_have_value(";".join(lesson.settings.sampler_order))
    choose_precision(page, "fp32")
    set_number(page, "Max new tokens", "12")
    run(page)
    settings = lesson.settings.replace(max_new_tokens=12)
    expect_output(page, shown(generate(bundled_fp32, lesson.prompt, settings)))
    plot = page.locator("#step-plot")
    expect(plot.get_by_text("after Temperature", exact=True)).to_be_visible(timeout=30_000)
    legend = page.evaluate(LEGEND)
    assert legend[:5] == ["raw", "after Top-k", "after Top-p", "after Min-p", "after Temperature"], legend
    shot(page, "sampler_order")
    box.fill("top_k;nucleus")
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_text("sampler_order: 'nucleus' is not a stage").first).to_be_visible(timeout=30_000)
    shot(page, "sampler_order_refused")
