"""Export trace clicked the moment a run's summary shows saves that run, never the one before: the page draws the
run's views after its summary, and the button must not offer the last run's file meanwhile."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_page import ask, browser, exported, page, shot, status_line  # noqa: F401

pytestmark = pytest.mark.browser

# True once the status line shows a run's summary and no longer the text it showed before the click (whitespace
# collapsed, as Playwright compares text). Checked at every frame: a person's quick click is that quick.
SUMMARY_SHOWN = """(before) => {
  const line = document.querySelector('#status [data-testid=markdown]');
  const text = line ? line.textContent.replace(/\\s+/g, ' ').trim() : '';
  return text !== before && text.includes('stopped:');
}"""


def test_export_clicked_as_the_summary_shows_saves_the_run_just_made(page, tmp_path):  # noqa: F811
    page.get_by_label("Sampling", exact=True).check()
    page.get_by_label("Seed").fill("1")
    ask(page, "Name a colour and say why.", 24)
    last = exported(page, tmp_path / "seed-1.json")
    assert last.settings["seed"] == 1
    for seed in (2, 3, 4):
        page.get_by_label("Seed").fill(str(seed))
        before = " ".join(status_line(page).text_content().split())
        page.get_by_role("button", name="Generate").click()
        page.wait_for_function(SUMMARY_SHOWN, arg=before, polling="raf", timeout=120_000)
        trace = exported(page, tmp_path / f"seed-{seed}.json")  # clicks as soon as the button can be clicked
        assert (trace.settings["seed"], trace.run_id != last.run_id) == (seed, True), "Export saved the run before"
        last = trace
    expect(page.get_by_role("button", name="Export trace (JSON)")).to_be_enabled()
    shot(page, "export_fresh")
