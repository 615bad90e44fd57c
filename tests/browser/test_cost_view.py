"""The pass cost in the Draft acceptance view, as a person sees it: a run that names each round's draft source and
cost (loaded from a file, as the automatic draft will write it) shows the cost panel, a legend entry per source,
and each round's source and cost in its hover."""

import pytest
from playwright.sync_api import expect

from playground.engine import generate
from playground.settings import PROMPT_LOOKUP, Settings
from playground.trace import Trace
from tests.browser import test_page
from tests.browser.test_page import in_view, shot
from tests.browser.test_speculative_page import POINT_AT

pytestmark = pytest.mark.browser
browser, page = test_page.browser, test_page.page  # the page's fixtures, shared

PROMPT = "Repeat after me: the lamp is lit, the ships are safe, the lamp is lit, the ships are safe."
CURVE = [1.0] * 4 + [1.2] * 4 + [1.4] * 4 + [1.6] * 4


@pytest.fixture(scope="module")
def costed(bundled_fp32) -> Trace:
    """A prompt-lookup run whose rounds say what the automatic draft would: prompt lookup drafted those with a
    draft, the others were plain steps, each at the pass cost CURVE gives it."""
    settings = Settings(strategy="speculative", draft_model=PROMPT_LOOKUP, max_new_tokens=24, min_new_tokens=24)
    trace = generate(bundled_fp32, PROMPT, settings)
    for r in trace.speculative.rounds:
        r.source = "prompt-lookup" if r.num_draft_tokens else "none"
        r.cost = CURVE[r.num_draft_tokens]
    trace.speculative.cost_curve = CURVE
    assert {r.source for r in trace.speculative.rounds} == {"prompt-lookup", "none"}, "want rounds of both"
    return Trace.from_json(trace.to_json())  # as the page reads the file: checked


def test_a_run_with_its_pass_cost_shows_the_cost_panel_and_each_rounds_source(page, costed, tmp_path):
    path = tmp_path / "costed.json"
    path.write_text(costed.to_json())
    page.locator("input[type=file]").set_input_files(str(path))
    expect(page.get_by_text("the controls now hold its settings")).to_be_visible(timeout=30_000)
    page.get_by_role("tab", name="Draft acceptance").click()
    plot = page.locator("#accept-plot")
    expect(plot.get_by_text("what each pass cost, c(k)")).to_be_visible(timeout=30_000)
    for name in ("drafted by prompt lookup", "a plain step: no draft worth its cost", "c(k): a pass over k tokens"):
        expect(plot.locator(".legendtext", has_text=name)).to_be_visible()
    expect(plot.get_by_text("drafted by", exact=True)).to_be_visible()  # the first panel's row of sources
    shot(page, "cost-view")

    first = next(i for i, r in enumerate(costed.speculative.rounds) if r.source == "prompt-lookup")
    r = costed.speculative.rounds[first]
    x, y = in_view(page, POINT_AT, ["drafted by prompt lookup", 0])
    page.mouse.move(x, y)
    label = plot.locator(".hoverlayer .hovertext")
    expect(label).to_be_visible(timeout=10_000)
    text = " ".join(label.text_content().split())
    assert f"round {first + 1}: prompt lookup drafted {r.num_draft_tokens} token" in text
    assert f"pass cost {r.cost:.2f} steps" in text
    shot(page, "cost-view-hover")
