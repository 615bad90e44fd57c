"""The step view and the same step at other temperatures, in the browser: stages named as the controls that set
them, the legend and the "chosen" label clear of every title, and the temperature lesson's four columns with one
top token.

The page runs at nf4, which rounds differently on other CPUs, so the numbers checked are the server's own (its
exported trace), never a run of this process."""

import pytest
from playwright.sync_api import Page, expect

from playground.plots import temperature_figure
from tests.browser import test_page
from tests.browser.test_page import ARTIFACTS, RUN_TIMEOUT, ask, choose_preset, exported, run, set_number, shot

pytestmark = pytest.mark.browser

browser, page = test_page.browser, test_page.page  # the same Chromium and page fixtures

# The page boxes of a drawn figure's parts: the legend, the axis titles, the title and its note, and the
# annotation whose text is "chosen".
BOXES = """(plot) => {
  const box = (el) => { if (!el) return null; const r = el.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
  const root = document.querySelector(plot);
  const chosen = [...root.querySelectorAll('.annotation')].find((a) => a.textContent.trim() === 'chosen');
  return {legend: box(root.querySelector('.legend')), xtitle: box(root.querySelector('.g-xtitle')),
          ytitle: box(root.querySelector('.g-ytitle')), title: box(root.querySelector('.gtitle')),
          note: box(root.querySelector('.gtitle-subtitle')),
          chosen: box(chosen && chosen.querySelector('.annotation-text-g'))};
}"""
# The column titles of the temperature view, as the figure holds them ("T = 0.3<br>1. ␣The: 0.93").
COLUMN_TITLES = """() => document.querySelector('#temperature-plot .js-plotly-plot').layout.annotations
  .map((a) => a.text)"""


def element_shot(page: Page, selector: str, name: str) -> None:
    """A screenshot of one view, as README images are taken."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(selector).screenshot(path=ARTIFACTS / f"{name}.png")


def overlap(a: dict, b: dict) -> bool:
    return a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]


def test_a_top_k_run_names_the_stage_as_its_control_and_keeps_the_legend_and_labels_clear(page: Page):
    page.get_by_label("Sampling", exact=True).check()
    set_number(page, "Top-k", "5")
    set_number(page, "Repetition penalty", "1.3")  # the title's note about the penalty, over which "chosen" once sat
    page.get_by_label("Chat template").uncheck()
    ask(page, "The best thing about the city is that the city", 4)
    plot = page.locator("#step-plot")
    expect(plot.get_by_text("Step 1: chose")).to_be_visible(timeout=30_000)
    shot(page, "step-figures-top-k")
    element_shot(page, "#step-plot", "step-figures-top-k-plot")
    expect(plot.get_by_text("after Top-k", exact=True)).to_be_visible()
    expect(plot.get_by_text("✂ Top-k").first).to_be_visible()
    assert "top_k" not in plot.inner_text() and "Top-k" in plot.inner_text()
    boxes = page.evaluate(BOXES, "#step-plot")
    assert boxes["legend"] and boxes["xtitle"] and boxes["chosen"] and boxes["title"], boxes
    for title in ("xtitle", "ytitle"):
        assert not overlap(boxes["legend"], boxes[title]), (title, boxes)
    for line in ("title", "note"):
        assert boxes[line] is None or not overlap(boxes["chosen"], boxes[line]), (line, boxes)


def test_the_temperature_lesson_shows_four_temperatures_with_the_same_top_token(page: Page, tmp_path):
    choose_preset(page, "What temperature changes, step by step")
    set_number(page, "Max new tokens", "6")
    run(page)
    expect(page.locator("#step-plot").get_by_text("Step 1: chose")).to_be_visible(timeout=30_000)
    shot(page, "step-figures-lesson")
    view = page.locator("#temperature-plot")
    expect(view.get_by_text("is the most likely token at every T")).to_be_visible(timeout=30_000)
    view.scroll_into_view_if_needed()
    shot(page, "step-figures-temperatures")
    element_shot(page, "#temperature-plot", "step-figures-temperatures-plot")
    titles = page.evaluate(COLUMN_TITLES)
    assert [title.split("<br>")[0] for title in titles] == ["T = 0.3", "T = 0.7", "T = 1", "T = 1.5"]
    assert len({title.split("<br>")[1].rsplit(":", 1)[0] for title in titles}) == 1, titles  # one top token
    # The server's numbers: its trace's step 1 drawn here gives the same columns.
    trace = exported(page, tmp_path / "lesson.json")
    assert titles == [a.text for a in temperature_figure(trace, 0).layout.annotations]
    set_number(page, "Step", "3")  # the view follows the Step slider
    expect(view.get_by_text("Step 3 at 4 temperatures")).to_be_visible(timeout=RUN_TIMEOUT)
