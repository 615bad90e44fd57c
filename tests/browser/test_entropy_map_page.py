"""The entropy map (under Token distributions' overview) in Chromium: every step of the shown run is a point in
entropix's regions, and a click on a point opens that step at the top of the tab."""

import pytest
from playwright.sync_api import expect

from playground.plots.entropy_map import region
from tests.browser import test_page
from tests.browser.test_page import ask, choose_precision, exported, settled_text, shot

pytestmark = pytest.mark.browser

browser, page = test_page.browser, test_page.page  # the same Chromium and page fixtures

# The drawn map's points: per trace, its name, the steps (customdata) and the index of its SVG group.
POINTS = """() => {
  const gd = document.querySelector('#entropy-map .entropy-map');
  return gd.data.map((trace, t) => ({name: trace.name, steps: (trace.customdata || []).map((c) => c[0]), t}));
}"""
# The centre, in the viewport, of point k of trace t (Plotly draws no group for an empty trace, so the groups are
# matched to the traces by their data).
CENTRE = """([t, k]) => {
  const gd = document.querySelector('#entropy-map .entropy-map');
  const group = [...gd.querySelectorAll('.scatterlayer .trace')].find((g) => g.__data__[0].trace.index === t);
  const box = group.querySelectorAll('.point')[k].getBoundingClientRect();
  return [box.x + box.width / 2, box.y + box.height / 2];
}"""


def test_the_map_places_every_step_and_a_click_opens_it(page, tmp_path):
    choose_precision(page, "fp32")  # the same answer on any CPU
    ask(page, "Name a colour.", 8)
    settled_text(page)
    trace = exported(page, tmp_path / "run.json")
    page.locator("#entropy-map").scroll_into_view_if_needed()
    points = page.locator("#entropy-map .scatterlayer .point")
    expect(points).to_have_count(len(trace.steps), timeout=30_000)
    drawn = {step: t["name"].split(" ")[0] for t in page.evaluate(POINTS) for step in t["steps"]}
    assert drawn == {s.index: region(s.entropy, s.varentropy).key for s in trace.steps}
    expect(page.locator("#entropy-map").get_by_text("exploring forks in the path")).to_be_visible()
    shot(page, "entropy-map")
    # Click the last point of the last region that has one; the page should open its step.
    last = [t for t in page.evaluate(POINTS) if t["steps"]][-1]
    page.locator("#entropy-map").scroll_into_view_if_needed()
    x, y = page.evaluate(CENTRE, [last["t"], len(last["steps"]) - 1])
    page.mouse.move(x, y)
    expect(page.locator("#entropy-map .hovertext").first).to_contain_text(f"Step {last['steps'][-1] + 1}:")
    page.mouse.click(x, y)
    step = last["steps"][-1] + 1
    expect(page.get_by_label("number input for Step")).to_have_value(str(step), timeout=30_000)
    expect(page.locator("#step-plot").get_by_text(f"Step {step}: chose")).to_be_visible(timeout=30_000)
    shot(page, "entropy-map-opened")
