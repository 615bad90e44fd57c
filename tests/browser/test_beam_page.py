"""Beam search and constrained beam search in the page: what the status line measures, ranks counted from 1 on
the tree's axis and in its hover, and a constrained tree that ends at its last step and opens where its first
constraint was met."""

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from playground.engine import generate
from playground.plots.beam_paths import answers
from playground.plots.beam_tree import VISIBLE_STEPS
from playground.settings import Settings
from tests.browser import test_page
from tests.browser.test_page import choose_precision, in_view, run, set_number, shot, status_line
from tests.tiny import make_tiny_model, make_tiny_tokenizer, wrap_loaded

browser, page = test_page.browser, test_page.page  # the same Chromium and page fixtures

# The drawn node ranked first at step 1, where the page shows it, and the y tick label level with it:
# [page x, page y, tick label].
TOP_NODE = """() => {
  const gd = document.querySelector('#beam-plot .js-plotly-plot');
  let top = null;
  for (const trace of gd.data) {
    (trace.customdata || []).forEach((data, i) => {
      if (data && data.length > 9 && trace.x[i] === 1 && (top === null || trace.y[i] < top)) top = trace.y[i];
    });
  }
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
  const x = box.left + xa._offset + xa.l2p(1), y = box.top + ya._offset + ya.l2p(top);
  const level = [...gd.querySelectorAll('.ytick text')].map((tick) => {
    const r = tick.getBoundingClientRect();
    return [Math.abs(r.top + r.height / 2 - y), tick.textContent];
  }).sort((a, b) => a[0] - b[0]);
  return [x, y, level[0][1]];
}"""

# What the tree opens on: its x range, the steps of its "met" marks, how many steps the run took, and the
# x tick labels drawn.
X_VIEW = """() => {
  const gd = document.querySelector('#beam-plot .js-plotly-plot');
  return {
    range: gd._fullLayout.xaxis.range,
    marks: (gd.layout.annotations || []).filter((a) => a.text.startsWith('met ')).map((a) => a.x),
    steps: Number(gd.layout.title.text.match(/over (\\d+) steps/)[1]),
    ticks: [...gd.querySelectorAll('.xtick text')].map((tick) => Number(tick.textContent)),
  };
}"""


def beam_tree(page: Page):
    """Opens the Beam tree tab and waits for its figure."""
    page.get_by_role("tab", name="Beam tree").click()
    plot = page.locator("#beam-plot")
    expect(plot.get_by_text("Beam tree:")).to_be_visible(timeout=30_000)
    plot.scroll_into_view_if_needed()
    return plot


def test_beam_search_says_its_time_and_work_and_ranks_from_one(page):
    page.get_by_label("Prompt").fill("Name three fruits.")
    choose_precision(page, "fp32")
    page.get_by_label("Beam search", exact=True).check()
    set_number(page, "Number of beams", "4")
    set_number(page, "Max new tokens", "8")
    run(page)
    status = status_line(page).text_content()
    # The wall time and the candidates the beams scored, the same count the tree's title gives; no tokens/s.
    work = re.search(r"· (\d+) tokens · ([\d.]+) s · 4 beams scored ([\d,]+) candidates · stopped:", status)
    assert work and "tokens/s" not in status, status
    plot = beam_tree(page)
    expect(plot.get_by_text(f"Beam tree: {work.group(3).replace(',', '')} candidates")).to_be_visible()
    # The best node of step 1 sits level with the tick "1", and its hover says rank 1.
    x, y, tick = in_view(page, TOP_NODE)
    assert tick == "1"
    assert "0" not in [text.strip() for text in plot.locator(".ytick text").all_text_contents()]
    page.mouse.move(x, y)
    expect(plot.locator(".hoverlayer .hovertext")).to_contain_text("rank 1 at step 1", timeout=10_000)
    shot(page, "beam-ranks")


def test_a_constrained_tree_shows_its_met_marks_and_ends_at_its_last_step(page):
    page.get_by_label("Prompt").fill("Write a sentence about the weather.")
    choose_precision(page, "fp32")
    page.get_by_label("Constrained beam search", exact=True).check()
    page.get_by_label("Forced words").fill("umbrella")
    page.get_by_label("One of").fill("red | blue")
    set_number(page, "Max new tokens", "16")
    run(page, "constraints met")
    plot = beam_tree(page)
    expect(plot.get_by_text("met 'red | blue'", exact=True)).to_be_visible()
    view = page.evaluate(X_VIEW)
    start, end = view["range"]
    assert view["marks"] and start <= min(view["marks"]) <= end, view
    # No empty step after the run: the axis ends at its last step.
    assert end == view["steps"] + 0.5 and max(view["ticks"]) == view["steps"], view
    assert "s · 4 beams scored" in status_line(page).text_content()
    shot(page, "constrained-short")


def long_constrained_trace(path: Path) -> Path:
    """A 40-step constrained run of a tiny random model, saved at `path`, whose answer met "red | blue" at step 2
    and "dog" at step 37: the constraint marks are set by hand on the answer's path (a random model meets
    constraints where it happens to), the rest is the run as the engine recorded it."""
    tokenizer = make_tiny_tokenizer()
    loaded = wrap_loaded(make_tiny_model(tokenizer, seed=0), tokenizer)
    settings = Settings(
        strategy="constrained", chat=False, num_beams=3, max_new_tokens=40, min_new_tokens=40,
        force_words=("dog",), force_one_of=(("red", "blue"),),
    )  # fmt: skip
    trace = generate(loaded, "the cat sat on the mat and", settings)
    (answer,) = answers(trace.beams)
    for node_id in answer.path:
        trace.beams.nodes[node_id].constraint = None
    trace.beams.nodes[answer.path[1]].constraint = 1  # the one-of set, the second constraint
    trace.beams.nodes[answer.path[36]].constraint = 0
    path.write_text(trace.to_json())
    return path


def test_a_long_constrained_tree_opens_on_its_first_met_mark(page, tmp_path):
    page.locator("input[type=file]").set_input_files(str(long_constrained_trace(tmp_path / "long.json")))
    expect(page.get_by_text("Loaded trace:")).to_be_visible(timeout=30_000)
    plot = beam_tree(page)
    view = page.evaluate(X_VIEW)
    start, end = view["range"]
    assert view["steps"] == 40 and sorted(view["marks"]) == [2, 37], view
    # Both marks cannot be in one view: it opens on the first, not on the steps around the last.
    assert start <= 2 <= end and end - start == VISIBLE_STEPS, view
    expect(plot.get_by_text("met 'red | blue'", exact=True)).to_be_visible()
    shot(page, "constrained-long")
