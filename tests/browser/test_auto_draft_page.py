"""The automatic draft's lesson on the page: the Draft control says Automatic, the status line counts the rounds
each source drafted, the Draft acceptance tab draws the cost curve and a "drafted by" legend entry per source, and
the Round slider opens a prompt-lookup round's tree.

Which source drafts a round follows the pass cost the server measured on its own machine, so the rounds are read
from the server's trace (Export); the text, the same as plain greedy at fp32, is checked against this process's.
The lesson's measured speed-up is covered by the cheap-draft lesson's test: here Measure speed-up is turned off,
which saves the six timed runs it adds."""

from collections import Counter

import pytest
from playwright.sync_api import expect

from playground.plots.draft_cost import SOURCE_STYLE
from playground.settings import AUTO
from tests.browser import test_page
from tests.browser.test_page import (
    ARTIFACTS,
    choose_precision,
    choose_preset,
    expect_output,
    exported,
    preset,
    run,
    set_number,
    shot,
    shown,
    status_line,
)
from tests.helpers import run as run_with_draft

pytestmark = pytest.mark.browser
browser, page = test_page.browser, test_page.page  # the page's fixtures, shared

LESSON = "Speculative decoding that picks its draft"
# How the status line names each source's rounds ("3 by prompt lookup"); plain steps are counted apart.
STATUS_NAMES = {"prompt-lookup": "by prompt lookup", "suffix": "by the suffix index", "medusa": "by the Medusa heads"}
# The acceptance figure's pass-cost curve, as the page holds it.
COST_CURVE = """() => {
  const gd = document.querySelector('#accept-plot .js-plotly-plot');
  return gd.data.find((t) => t.name.startsWith('c(k)')).y;
}"""


def test_the_automatic_draft_lesson_shows_who_drafted_each_round_and_what_it_cost(page, bundled_fp32, tmp_path):
    lesson = preset(LESSON)
    assert lesson.settings.draft_model == AUTO
    choose_preset(page, LESSON)
    draft = page.get_by_role("combobox", name="Draft", exact=True)
    expect(draft).to_have_value("Automatic (whichever free draft pays)")
    choose_precision(page, "fp32")  # the server's text and this process's are the same only at fp32
    page.get_by_label("Measure speed-up").uncheck()
    run(page, "tokens per target pass")
    settings = lesson.settings.replace(measure_speedup=False)
    expect_output(page, shown(run_with_draft(bundled_fp32, lesson.prompt, settings)))
    trace = exported(page, tmp_path / "auto.json")
    rounds = trace.speculative.rounds
    assert trace.settings["draft_model"] == AUTO and trace.speculative.cost_curve

    status = status_line(page)
    expect(status).to_contain_text("automatic draft: ")
    expect(status).to_contain_text("rounds: ")
    counts = Counter(r.source for r in rounds)
    for source, name in STATUS_NAMES.items():
        if counts[source]:
            expect(status).to_contain_text(f"{counts[source]} {name}")

    page.get_by_role("tab", name="Draft acceptance").click()
    plot = page.locator("#accept-plot")
    expect(plot.get_by_text("what each pass cost, c(k)")).to_be_visible(timeout=30_000)
    for source in counts:
        expect(plot.locator(".legendtext", has_text=SOURCE_STYLE[source][2])).to_be_visible()
    assert page.evaluate(COST_CURVE) == pytest.approx(trace.speculative.cost_curve)
    plot.scroll_into_view_if_needed()
    ARTIFACTS.mkdir(exist_ok=True)
    plot.screenshot(path=ARTIFACTS / "auto-draft-acceptance.png")

    looked_up = next((n for n, r in enumerate(rounds, start=1) if r.source == "prompt-lookup"), None)
    curve = ", ".join(f"{c:.2f}" for c in trace.speculative.cost_curve)
    assert looked_up, f"the lesson's answer copies the prompt, so prompt lookup drafts a round; c(k) was {curve}"
    set_number(page, "Round", str(looked_up))
    tree = page.locator("#tree-plot")
    title = tree.locator(".gtitle")
    expect(title).to_contain_text(f"round {looked_up} of {len(rounds)}", timeout=30_000)
    expect(title).to_contain_text(f"{rounds[looked_up - 1].num_draft_tokens} guesses")
    tree.scroll_into_view_if_needed()
    tree.screenshot(path=ARTIFACTS / "auto-draft-tree.png")
    shot(page, "auto-draft")
