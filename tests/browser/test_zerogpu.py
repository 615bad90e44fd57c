"""The page on ZeroGPU, without a GPU: every run in a forked worker process, as ZeroGPU runs it.

The app is launched with `tests/standins/spaces` in place of the `spaces` package and SPACES_ZERO_GPU set, so
app.py takes its ZeroGPU path: `spaces` imported first, every model call wrapped in `spaces.GPU` with a duration
sized from the request. The stand-in runs each call in a forked worker and pickles its arguments, yielded values
and result, as ZeroGPU does; only the GPU is missing. One tab does every page action, twice over: state the page
keeps must live, and be cleared, in the page process, or the second click is refused.
"""

import functools
import json
import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser import test_page
from tests.browser.test_page import RUN_TIMEOUT, ask, compare_at, set_number, shot, start_long_run
from tests.conftest import launched_app

pytestmark = pytest.mark.browser

STANDINS = Path(__file__).resolve().parents[1] / "standins"
browser = test_page.browser  # the same Chromium fixture


@pytest.fixture(scope="module")
def zerogpu_app(tmp_path_factory):
    """The app on the stand-in ZeroGPU: (url, server process, the stand-in's log)."""
    log = tmp_path_factory.mktemp("zerogpu") / "leases.jsonl"
    path = os.pathsep.join(filter(None, [str(STANDINS), os.environ.get("PYTHONPATH")]))
    with launched_app(
        "app-zerogpu.log",
        PYTHONPATH=path,
        SPACES_ZERO_GPU="true",
        ZEROGPU_STANDIN_LOG=str(log),
        PLAYGROUND_PRECISION="fp32",
        # A CPU stands in for the GPU here: a generous step bound keeps every pass inside its lease.
        PLAYGROUND_GPU_TOKEN_SECONDS="1",
    ) as (url, server):
        yield url, server, log


def leases(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def finished(page: Page, action, done: str, where: str) -> None:
    """Does `action` and waits until `where` shows `done` in a line it did not show before."""
    status = page.locator(f"{where} [data-testid=markdown]")  # the line, not Gradio's progress timer beside it
    before = " ".join(status.text_content().split())  # as Playwright compares it: whitespace collapsed
    action()
    expect(status).not_to_have_text(before, timeout=RUN_TIMEOUT)
    expect(status).to_contain_text(done, timeout=RUN_TIMEOUT)


def kept(page: Page, action, runs: int, done: str) -> None:
    """Does `action`, a run, and waits until the tab's Runs tree holds `runs` runs (a run joins it once it has
    ended and its views are drawn), then checks the status line says `done`."""
    action()
    page.get_by_role("tab", name="Runs").click()
    counted = f"{runs} runs in this tab" if runs > 1 else "1 run in this tab"
    expect(page.locator("#run-tree").get_by_text(counted)).to_be_visible(timeout=RUN_TIMEOUT)
    expect(page.locator("#status")).to_contain_text(done)


def test_every_page_action_works_twice_in_one_tab_on_zerogpu(browser, zerogpu_app):
    url, server, log = zerogpu_app
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(url)
    expect(page.get_by_label("Prompt")).to_be_visible(timeout=60_000)
    runs = 0
    # Other prompts in the second round: its comparison and mass tree then read differently from the first's.
    rounds = [("Name a colour.", "Name a fruit.", "Name an animal."), ("Name a city.", "Name a tree.", "Name a river.")]
    for round_, (first, second, third) in enumerate(rounds, start=1):
        # Each round makes six runs: two Generates, a stopped one, one after Stop, a branch and the samples.
        kept(page, functools.partial(ask, page, first, 8), runs + 1, "stopped:")
        kept(page, functools.partial(ask, page, second, 8), runs + 2, "stopped:")  # the second click is accepted
        start_long_run(page)
        # Stop reaches the run in the worker: it ends at its next step and keeps its text, trace and views.
        kept(page, lambda: page.get_by_role("button", name="Stop").click(), runs + 3, "stopped: stopped by you")
        page.get_by_role("tab", name="Token distributions").click()
        expect(page.locator("#step-plot").get_by_text("Step 1: chose")).to_be_visible(timeout=30_000)
        page.get_by_label("Greedy", exact=True).check()
        kept(page, functools.partial(ask, page, third, 8), runs + 4, "stopped:")  # the tab is free after Stop
        page.locator("#output .tokens .tok").nth(1).click()
        card = page.locator("#output .take-card button").first
        kept(page, card.click, runs + 5, "branched at step 2")
        page.get_by_role("tab", name="Sample many").click()
        set_number(page, "Samples", "8")
        kept(page, lambda: page.get_by_role("button", name="Sample many").click(), runs + 6, "8 samples, ")
        runs += 6
        page.get_by_role("tab", name="Sample many").click()
        expect(page.locator("#samples-plot").get_by_text("8 samples, their first")).to_be_visible(timeout=30_000)
        page.get_by_role("tab", name="Compare").click()
        finished(page, lambda: compare_at(page, "fp32"), "B = SmolLM2-135M-Instruct fp32", "#compare-status")
        page.get_by_role("tab", name="Where the mass goes").click()
        click = lambda: page.get_by_role("button", name="Show where the mass goes").click()  # noqa: E731
        finished(page, click, "p = ", "#mass-status")
        shot(page, f"zerogpu-round-{round_}")
    page.close()
    records = leases(log)
    assert records[0] == {"torch_imported": False, "gradio_imported": False}  # `spaces` came first
    calls = records[1:]
    assert {call["task"] for call in calls} >= {"_stream_task", "_compare_task", "_mass_task"}
    assert all(call["worker"] != server.pid for call in calls)  # every model call ran in a forked worker
    assert all(0 < call["seconds"] <= 120 for call in calls)
