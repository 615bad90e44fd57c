"""The Compare tab on infinite KL: temperature rules nothing out, and a filter that does is named in the page.

Issue 24: A greedy, B sampling at temperature 0.3 with no filter; the page said KL was infinite at every step,
because B's tail probabilities round to 0 in float32. Both runs here are fp32, so the server's tokens and this
process's are the same and the test can name the token top-k removed.
"""

import pytest
from playwright.sync_api import Page, expect

from playground.engine import generate
from playground.engine.compare import compare_path
from playground.settings import Settings
from tests.browser import test_page
from tests.browser.test_page import ARTIFACTS, RUN_TIMEOUT, ask, choose_precision, compare_at, in_view, set_number, shot

pytestmark = pytest.mark.browser

browser, page = test_page.browser, test_page.page  # the same Chromium and page fixtures

PROMPT = "Name a colour."
TOKENS = 8
A = Settings(max_new_tokens=TOKENS)  # the page's controls as they open, with Max new tokens set
B = A.replace(strategy="sample", temperature=0.3, top_k=0, top_p=1.0)

# The infinite-KL markers' trace in the divergence figure, and its points' hover texts.
INFINITE_MARKERS = """() => {
  const gd = document.querySelector('#compare-plot .js-plotly-plot');
  const trace = gd.data.find((t) => t.name.startsWith('KL infinite'));
  return trace ? trace.customdata.map((c) => c[2]) : null;
}"""
# The page position of the first infinite-KL marker: [x, y].
FIRST_MARKER = """() => {
  const gd = document.querySelector('#compare-plot .js-plotly-plot');
  const trace = gd.data.find((t) => t.name.startsWith('KL infinite'));
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
  return [box.left + xa._offset + xa.l2p(trace.x[0]), box.top + ya._offset + ya.l2p(trace.y[0])];
}"""


def compare_with_sampling(page: Page, top_k: int) -> str:
    """Runs greedy A at fp32, then compares it with Sampling at temperature 0.3, Top-p 1 and `top_k`; returns the
    Compare tab's status line once it shows."""
    choose_precision(page, "fp32")
    ask(page, PROMPT, TOKENS)
    page.get_by_label("Sampling", exact=True).check()
    set_number(page, "Temperature", "0.3")
    set_number(page, "Top-k", str(top_k))
    set_number(page, "Top-p", "1")
    status = compare_at(page, "fp32")
    expect(status.get_by_text("B = SmolLM2-135M-Instruct fp32")).to_be_visible(timeout=RUN_TIMEOUT)
    expect(page.locator("#compare-plot").get_by_text("A vs B along A's text")).to_be_visible(timeout=30_000)
    return status.text_content()


def test_temperature_without_a_filter_rules_nothing_out(page):
    line = compare_with_sampling(page, top_k=0)
    shot(page, "compare-temperature-0.3")
    assert "Temperature 0.3" in line and "Top-k 0" in line
    assert "infinite" not in line and "mean KL(A‖B) " in line
    assert page.evaluate(INFINITE_MARKERS) is None  # no step drawn at the top
    expect(page.locator("#compare-plot").get_by_text("KL infinite")).to_have_count(0)


def test_top_k_is_named_with_the_token_it_removed(page, bundled_fp32):
    line = compare_with_sampling(page, top_k=50)
    shot(page, "compare-top-k-50")
    # The token top-k 50 removed at step 1, as this process finds it (fp32: the server's numbers).
    a = generate(bundled_fp32, PROMPT, A)
    b = B.replace(top_k=50)
    rows = compare_path(bundled_fp32, A, bundled_fp32, b, a.prompt.token_ids, a.output.token_ids)
    assert rows[0].removed_by == "top_k"
    named = f"top-k 50 removed {rows[0].removed_text!r}"
    assert f"(B rules out tokens A could take: at step 1, {named})" in line
    hovers = page.evaluate(INFINITE_MARKERS)
    assert hovers and len(hovers) == sum(r.kl == float("inf") for r in rows)
    assert all(text.startswith("top-k 50 removed '") for text in hovers)
    # Hovering a marker says it too.
    plot = page.locator("#compare-plot")
    plot.scroll_into_view_if_needed()
    page.mouse.move(*in_view(page, FIRST_MARKER))
    expect(plot.locator(".hoverlayer").get_by_text("top-k 50 removed")).to_be_visible(timeout=10_000)
    plot.screenshot(path=ARTIFACTS / "compare-top-k-50-hover.png")  # the plot alone: a full page drops the label
