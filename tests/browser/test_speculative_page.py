"""Speculative decoding on the page: the Draft acceptance view tells draft tokens the target never checked from
rejected ones and shows the target's own token every round, and "What the model reads" shows the chat template
and system prompt that prompt lookup copies from.

At fp32 (chosen in the page) the server's run and the engine's in this process are the same, so what the view
must draw is read from the in-process trace."""

import pytest
from playwright.sync_api import Page, expect

from playground.engine import generate
from playground.settings import PROMPT_LOOKUP, Settings
from tests.browser import test_page
from tests.browser.test_page import choose_precision, expect_output, in_view, run, set_number, shot, shown, speculate

pytestmark = pytest.mark.browser
browser, page = test_page.browser, test_page.page  # the page's fixtures, shared

STORY = "Write a short story about a lighthouse keeper who finds a message in a bottle."
SETTINGS = Settings(strategy="speculative", draft_model=PROMPT_LOOKUP, max_new_tokens=24)

# The acceptance figure's trace named `name`: its points (x, y) and hover texts, as the page holds them.
PLOT_TRACE = """(name) => {
  const gd = document.querySelector('#accept-plot .js-plotly-plot');
  const trace = gd.data.find((t) => t.name === name);
  return trace ? [trace.x, trace.y, trace.text] : null;
}"""
# The page position of point `index` of the trace named `name` in the acceptance figure's first panel.
POINT_AT = """([name, index]) => {
  const gd = document.querySelector('#accept-plot .js-plotly-plot');
  const trace = gd.data.find((t) => t.name === name);
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
  return [box.left + xa._offset + xa.l2p(trace.x[index]), box.top + ya._offset + ya.l2p(trace.y[index])];
}"""


@pytest.fixture(scope="module")
def expected(bundled_fp32):
    """The run the page makes, made here: a story's prompt-lookup drafts mostly fail at their first token."""
    return generate(bundled_fp32, STORY, SETTINGS)


def run_story(page: Page, expected) -> None:
    choose_precision(page, "fp32")
    speculate(page, STORY, "Prompt lookup (no model)")
    set_number(page, "Max new tokens", "24")
    run(page, "of draft tokens accepted")
    expect_output(page, shown(expected))


def hover_label(page: Page, name: str, index: int) -> str:
    x, y = in_view(page, POINT_AT, [name, index])
    page.mouse.move(x, y)
    label = page.locator("#accept-plot .hoverlayer .hovertext")
    expect(label).to_be_visible(timeout=10_000)
    return " ".join(label.text_content().split())


def test_the_draft_acceptance_view_shows_unchecked_tokens_and_the_targets_own(page, expected):
    rounds = expected.speculative.rounds
    early = [(i + 1, j + 1) for i, r in enumerate(rounds) for j, t in enumerate(r.proposed) if t.accepted is None]
    assert early, "a story's lookup drafts should be rejected before their last token"
    run_story(page, expected)
    page.get_by_role("tab", name="Draft acceptance").click()
    plot = page.locator("#accept-plot")
    expect(plot.locator(".legendtext", has_text="not checked")).to_be_visible(timeout=30_000)
    expect(plot.locator(".legendtext", has_text="the target's own token")).to_be_visible()
    expect(plot.locator(".legendtext", has_text="found in the chat template")).to_be_visible()
    xs, ys, _ = page.evaluate(PLOT_TRACE, "not checked")
    assert list(zip(xs, ys, strict=True)) == early
    rejected_xs, _, _ = page.evaluate(PLOT_TRACE, "rejected")
    assert len(rejected_xs) == sum(t.accepted is False for r in rounds for t in r.proposed)
    own_xs, own_ys, _ = page.evaluate(PLOT_TRACE, "the target's own token")
    assert len(own_xs) == len(rounds) and own_ys == [r.accepted_count() + 1 for r in rounds]

    first = rounds[early[0][0] - 1]
    unchecked = first.proposed[early[0][1] - 1]
    label = hover_label(page, "not checked", 0)
    assert f"p = {unchecked.p:.3f}, q = {unchecked.q:.3f}" in label and "not checked" in label
    shot(page, "speculative-not-checked")
    label = hover_label(page, "the target's own token", early[0][0] - 1)
    assert f"the target's own token ({first.emitted.kind}): p = {first.emitted.p:.3f}" in label
    shot(page, "speculative-own-token")


def test_what_the_model_reads_shows_the_template_and_system_prompt(page, expected):
    reads = page.locator("#rendered-prompt textarea")
    expect(reads).to_be_hidden()  # closed until asked for
    run_story(page, expected)
    page.get_by_text("What the model reads").click()
    expect(reads).to_be_visible()
    expect(reads).to_have_value(expected.prompt.rendered)
    value = reads.input_value()
    assert "<|im_start|>system" in value and "trained by Hugging Face" in value and STORY in value
    assert value.endswith("<|im_start|>assistant\n")
    page.locator("#model-reads").scroll_into_view_if_needed()
    shot(page, "model-reads")
