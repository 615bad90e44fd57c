"""The "Token probe" tab in Chromium: a word typed is probed at every step of the shown run, as the engine probes
it."""

import re

import pytest
from playwright.sync_api import expect

from playground.engine.probe import probe
from playground.settings import Settings
from tests.browser import test_page
from tests.browser.test_page import RUN_TIMEOUT, ask, choose_precision, exported, settled_text, shot

pytestmark = pytest.mark.browser

browser, page = test_page.browser, test_page.page  # the same Chromium and page fixtures


def test_a_word_is_probed_at_every_step_of_the_shown_run(page, bundled_fp32, tmp_path):
    choose_precision(page, "fp32")  # this process's numbers and the server's are the same on any CPU
    ask(page, "Name a colour.", 8)
    settled_text(page)
    trace = exported(page, tmp_path / "run.json")
    page.get_by_role("tab", name="Token probe").click()
    page.get_by_label("Word or token id").fill("Blueberry")
    page.get_by_role("button", name="Probe", exact=True).click()
    line = page.locator("#probe-line")
    expect(line).to_contain_text("probed ' Blueberry'", timeout=RUN_TIMEOUT)
    settings = Settings.from_dict(trace.settings)
    want = probe(bundled_fp32, settings, trace.prompt.token_ids, trace.output.token_ids, "Blueberry")
    best = max(want.steps, key=lambda row: row.probs["final"] if "final" in row.probs else list(row.probs.values())[-1])
    assert f"Most likely at step {best.index + 1}:" in line.text_content()
    assert re.search(r"over the run's 8 steps", line.text_content())
    plot = page.locator("#probe-plot")
    expect(plot.get_by_text("the whole word ␣Blueberry (chain rule)")).to_be_visible(timeout=30_000)
    expect(plot.get_by_text("the run's own token")).to_be_visible()
    plot.scroll_into_view_if_needed()
    shot(page, "probe")
