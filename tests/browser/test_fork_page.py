"""The forking analysis and "Sample many from here" in Chromium, as a person uses them on the shown run: the tab
draws o_t as bands with its change points marked, a click on a bar opens that step and lists its branches, Stop
keeps what was computed; a token's card starts many samples after it, shown as a branch of the run.

The page stays at nf4, so nothing here expects exact tokens: each check compares what the page draws with what its
own status line says."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser import test_page
from tests.browser.test_page import RUN_TIMEOUT, ask, set_number, shot, status_line

pytestmark = pytest.mark.browser

browser, page = test_page.browser, test_page.page  # the same Chromium and page fixtures

PROMPT = "Answer yes or no: is 51 divisible by 3?"
# The drawn figure's traces: type, name, and the step (customdata) of each point.
TRACES = """() => document.querySelector('#fork-plot .fork-plot').data.map(
  (t) => ({type: t.type, name: t.name, steps: (t.customdata || []).map((c) => c[0])}))"""
# The centre, in the viewport, of bar k of the first bar trace.
BAR = """(k) => {
  const box = document.querySelectorAll('#fork-plot .barlayer .trace')[0].querySelectorAll('.point')[k];
  const r = box.getBoundingClientRect();
  return [r.x + r.width / 2, r.y + r.height / 2];
}"""


def open_fork_tab(page: Page, knobs: dict[str, str]) -> None:
    """Opens the tab and types the analysis' knobs (by field name) into their boxes."""
    page.get_by_role("tab", name="Where does the answer fork?").click()
    for name, value in knobs.items():
        box = page.locator(f"#fork-{name} input")
        box.fill(value)
        box.press("Tab")


def choose_rule(page: Page, rule: str) -> None:
    page.locator("#fork-rule input").click()
    page.get_by_role("option", name=rule, exact=True).click()


def test_the_tab_draws_bands_marks_change_points_and_a_click_opens_the_step(page):
    ask(page, PROMPT, 3)
    open_fork_tab(page, {"samples": "2", "alternatives": "1", "max_new_tokens": "3", "threshold": "0"})
    # A yes-or-no question: auto reads its first word, though it holds numbers.
    expect(page.locator("#fork-rule-line")).to_contain_text("auto chose the first word of the text")
    expect(page.locator("#fork-rule-line")).to_contain_text("(the prompt asks a yes-or-no question)")
    choose_rule(page, "text")  # every continuation's whole text: o_t moves wherever the text does
    expect(page.locator("#fork-rule-line")).to_contain_text("the whole text")
    page.get_by_role("button", name="Run the forking analysis").click()
    status = page.locator("#fork-status")
    expect(status).to_contain_text("positions analysed", timeout=RUN_TIMEOUT)
    line = status.text_content()
    assert "3 positions analysed" in line and not line.startswith("Stopped")
    points = re.search(r"at steps: ([\d, ]+|none)", line).group(1)
    steps = [] if points == "none" else [int(s) for s in points.split(", ")]
    expect(page.locator("#fork-plot .barlayer .trace").first).to_be_visible(timeout=30_000)
    traces = page.evaluate(TRACES)
    bars = [t for t in traces if t["type"] == "bar"]
    assert bars and all(t["steps"] == [0, 1, 2] for t in bars)  # every outcome one band over the 3 positions
    marks = [t for t in traces if t["type"] == "scatter"]
    assert steps and [s + 1 for s in marks[0]["steps"]] == steps  # marked where the line says
    expect(page.locator("#fork-plot").get_by_text("TV ").first).to_be_visible()
    page.locator("#fork-plot").scroll_into_view_if_needed()
    shot(page, "fork-tab")
    x, y = page.evaluate(BAR, 1)  # the second position's bar: step 2
    page.mouse.click(x, y)
    branches = page.locator("#fork-branches")
    expect(branches).to_contain_text("Step 2 (open in Token distributions)", timeout=30_000)
    expect(branches).to_contain_text("renormalised over the tokens sampled")
    expect(branches.locator(".fork-branch")).to_have_count(2)  # the run's own token and one alternative
    expect(branches.locator("li")).to_have_count(4)  # two samples each, with their outcomes
    expect(page.get_by_label("number input for Step")).to_have_value("2")
    branches.scroll_into_view_if_needed()
    shot(page, "fork-branches")


def test_stop_keeps_the_positions_analysed_so_far(page):
    ask(page, PROMPT, 3)
    open_fork_tab(page, {"samples": "8", "alternatives": "2", "max_new_tokens": "24"})
    page.get_by_role("button", name="Run the forking analysis").click()
    status = page.locator("#fork-status")
    # The first position's three branches done: Stop then keeps it.
    expect(status).to_contain_text(re.compile(r"\b[3-8] of 9 branches done"), timeout=RUN_TIMEOUT)
    page.locator("#fork-stop").click()
    expect(status).to_contain_text("Stopped: the positions analysed so far are kept", timeout=RUN_TIMEOUT)
    analysed = int(re.search(r"(\d+) positions? analysed", status.text_content()).group(1))
    assert 1 <= analysed < 3
    expect(page.locator("#fork-plot .barlayer .trace").first).to_be_visible(timeout=30_000)  # what was kept, drawn
    shot(page, "fork-stopped")


def test_a_tokens_card_and_the_step_view_sample_many_from_there(page):
    ask(page, PROMPT, 4)
    page.get_by_role("tab", name="Sample many").click()
    set_number(page, "Samples", "4")
    page.locator("#output .tokens [data-step]").nth(1).click()
    card = page.locator("#output .take-card")
    expect(card.get_by_role("button", name="Sample many from here")).to_be_visible()
    card.screenshot(path=test_page.ARTIFACTS / "many-from-here-card.png")
    card.get_by_role("button", name="Sample many from here").click()
    expect(status_line(page)).to_contain_text("4 samples, ", timeout=RUN_TIMEOUT)
    expect(status_line(page)).to_contain_text("branched at step 2")
    page.get_by_role("tab", name="Sample many").click()  # the click on the token opened Token distributions
    expect(page.locator("#samples-plot").get_by_text("4 samples")).to_be_visible(timeout=30_000)
    expect(page.locator("#output .tokens .inherited")).to_have_count(1)  # the run's first token, kept
    shot(page, "many-from-here")
    # The step view's button: the step the click opened (2) of the shown run, with the token under Take instead.
    before = " ".join(status_line(page).text_content().split())
    page.get_by_role("tab", name="Token distributions").click()
    page.get_by_role("button", name="Sample many from here").click()
    expect(status_line(page)).not_to_have_text(before, timeout=RUN_TIMEOUT)
    expect(status_line(page)).to_contain_text("the samples continue after it", timeout=RUN_TIMEOUT)
    expect(status_line(page)).to_contain_text("4 samples, ")
    expect(status_line(page)).to_contain_text("branched at step 2: took ")
