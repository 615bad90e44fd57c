"""Colour by, in the browser: each mode recolours the Output's tokens and shows its own legend, and Colour the
prompt colours the shown run's prompt in the same mode.

The page runs at nf4, which rounds differently on other CPUs, so the figures checked are the server's own (its
exported trace), never a run of this process."""

import pytest
from playwright.sync_api import Page, expect

from playground.ui.colour_by import LEGEND_TEXT, MODES, colour_classes
from tests.browser import test_page
from tests.browser.test_page import RUN_TIMEOUT, exported, run, set_number, settled_text, shot

pytestmark = pytest.mark.browser

browser, page = test_page.browser, test_page.page  # the same Chromium and page fixtures

# Each token's background beside the background of the legend's swatch of the same band in the mode shown.
BACKGROUNDS = """([root, index]) => {
  const legend = [...document.querySelectorAll(root + ' .legend')].find((l) => getComputedStyle(l).display !== 'none');
  const swatch = (name) => { const s = legend.querySelector('.tok.' + name);
                             return s ? getComputedStyle(s).backgroundColor : null; };
  return [...document.querySelectorAll(root + ' .tokens .tok')].map((t) => {
    const name = t.classList[1 + index];
    return [name, getComputedStyle(t).backgroundColor, swatch(name)];
  });
}"""


def shown_legend(page: Page, root: str) -> str:
    """The text of the one legend the mode shows under `root`."""
    texts = page.eval_on_selector_all(
        f"{root} .legend", "ls => ls.filter((l) => getComputedStyle(l).display !== 'none').map((l) => l.textContent)"
    )
    assert len(texts) == 1, texts
    return texts[0]


def choose_mode(page: Page, mode: str) -> None:
    page.locator("#colour-by").get_by_label(mode, exact=True).check()


def test_each_mode_recolours_the_output_and_the_prompt_with_its_legend(page, tmp_path):
    page.get_by_label("Prompt").fill("Describe a strange dream you had about a lighthouse.")
    page.get_by_label("Sampling", exact=True).check()
    set_number(page, "Temperature", "1.6")
    set_number(page, "Max new tokens", "30")
    run(page)
    settled_text(page)
    trace = exported(page, tmp_path / "trace.json")
    expected = [colour_classes(s.chosen.prob, s.chosen.rank, s.entropy).split() for s in trace.steps]
    page.locator("#model-reads").get_by_text("What the model reads").click()
    page.get_by_role("button", name="Colour the prompt").click()
    prompt_tokens = page.locator("#prompt-colour .tokens .tok")
    expect(prompt_tokens).to_have_count(len(trace.prompt.token_ids), timeout=RUN_TIMEOUT)
    for index, mode in enumerate(MODES):
        choose_mode(page, mode)
        title = LEGEND_TEXT[mode][0]
        assert shown_legend(page, "#output").startswith(title)
        assert shown_legend(page, "#prompt-colour").startswith(title)
        drawn = page.evaluate(BACKGROUNDS, ["#output", index])
        assert [name for name, _, _ in drawn] == [classes[index] for classes in expected]
        assert all(colour == swatch for _, colour, swatch in drawn), drawn  # each token as its legend says
        prompt_drawn = page.evaluate(BACKGROUNDS, ["#prompt-colour", index])[1:]  # the first has no context
        assert all(colour == swatch for _, colour, swatch in prompt_drawn), prompt_drawn
        assert len({colour for _, colour, _ in drawn + prompt_drawn}) >= 2  # the colours tell tokens apart
        page.locator("#output").scroll_into_view_if_needed()
        shot(page, f"colour-by-{mode.replace(' ', '-').lower()}")
    page.get_by_label("Prompt").fill("Describe a lighthouse.")
    run(page)  # another prompt's run is drawn in the mode chosen last, and the old prompt's colours are put away
    settled_text(page)
    assert shown_legend(page, "#output").startswith(LEGEND_TEXT["surprisal"][0])
    expect(page.locator("#prompt-colour .tokens .tok")).to_have_count(0, timeout=30_000)
    shot(page, "colour-by-next-run")
