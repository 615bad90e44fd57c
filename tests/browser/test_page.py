"""The page in headless Chromium, as a person uses it: labels, a streamed run, a clear message for bad input."""

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from playground.engine import generate
from playground.settings import Settings

pytestmark = pytest.mark.browser

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


@pytest.fixture(scope="module")
def browser():
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium package is missing: `make setup` installs it"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, app_url) -> Page:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(app_url)
    expect(page.get_by_label("Prompt")).to_be_visible(timeout=60_000)
    yield page
    page.close()


def output_box(page: Page):
    """The textarea under the visible label "Output"."""
    return page.locator("label", has=page.get_by_text("Output", exact=True)).locator("textarea")


def set_number(page: Page, label: str, value: str) -> None:
    """Types into the number box beside a slider, as a person would."""
    box = page.get_by_label(f"number input for {label}")
    box.fill(value)
    box.press("Tab")


def test_page_shows_the_controls_by_their_labels(page):
    expect(page.get_by_text("Strategy", exact=True)).to_be_visible()
    for choice in ("Greedy", "Sampling", "Beam search"):
        expect(page.get_by_label(choice, exact=True)).to_be_visible()
    expect(page.get_by_label("Greedy", exact=True)).to_be_checked()
    for slider in ("Temperature", "Top-p", "Top-k", "Repetition penalty"):
        expect(page.get_by_label(f"range slider for {slider}")).to_be_visible()
    expect(page.get_by_role("button", name="Generate")).to_be_visible()
    expect(output_box(page)).to_be_visible()
    expect(page.get_by_text("SmolLM2-135M-Instruct")).to_be_visible()
    # Knobs that do nothing for the chosen strategy stay visible but cannot be moved.
    temperature = page.get_by_label("range slider for Temperature")
    beams = page.get_by_label("range slider for Number of beams")
    expect(temperature).to_be_disabled()
    expect(beams).to_be_disabled()
    page.get_by_label("Sampling", exact=True).check()
    expect(temperature).to_be_enabled()
    page.get_by_label("Beam search", exact=True).check()
    expect(temperature).to_be_disabled()
    expect(beams).to_be_enabled()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "controls.png")


def test_generate_streams_the_engines_text(page, bundled_nf4):
    prompt = "Write a haiku about the sea."
    page.get_by_label("Prompt").fill(prompt)
    set_number(page, "Max new tokens", "40")
    # Record every value the Output box shows while the run streams.
    page.evaluate(
        """() => { window.seen = new Set();
                   const box = [...document.querySelectorAll('textarea')].at(-1);
                   setInterval(() => window.seen.add(box.value), 20); }"""
    )
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_text("stopped:")).to_be_visible(timeout=120_000)

    expected = generate(bundled_nf4, prompt, Settings(max_new_tokens=40)).output.text
    expect(output_box(page)).to_have_value(expected)
    partial = [text for text in page.evaluate("[...window.seen]") if text and text != expected]
    assert len(partial) >= 3 and all(expected.startswith(text) for text in partial), "the text did not stream"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "page.png", full_page=True)


def test_sampling_with_a_seed_is_reproducible_in_the_page(page, bundled_nf4):
    prompt = "Name a colour."
    page.get_by_label("Prompt").fill(prompt)
    page.get_by_label("Sampling", exact=True).check()
    set_number(page, "Temperature", "1.3")
    set_number(page, "Max new tokens", "12")
    page.get_by_label("Seed").fill("7")
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_text("stopped:")).to_be_visible(timeout=120_000)
    settings = Settings(strategy="sample", temperature=1.3, max_new_tokens=12, seed=7)
    expect(output_box(page)).to_have_value(generate(bundled_nf4, prompt, settings).output.text)


def test_empty_prompt_gets_a_message_naming_it(page):
    page.get_by_label("Prompt").fill("   ")
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_text("prompt must not be empty")).to_be_visible(timeout=30_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "error.png")
    # The page still works after the error.
    page.get_by_label("Prompt").fill("Say hi.")
    set_number(page, "Max new tokens", "3")
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_text("stopped:")).to_be_visible(timeout=60_000)


def test_constrained_beam_search_puts_the_forced_word_in(page, bundled_nf4):
    prompt = "Write a sentence about the weather."
    expect(page.get_by_label("Forced words")).to_be_hidden()
    page.get_by_label("Prompt").fill(prompt)
    page.get_by_label("Constrained beam search", exact=True).check()
    page.get_by_label("Forced words").fill("umbrella")
    page.get_by_label("One of").fill("red | blue")
    set_number(page, "Max new tokens", "24")
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_text("stopped:")).to_be_visible(timeout=120_000)
    settings = Settings(
        strategy="constrained", force_words=("umbrella",), force_one_of=(("red", "blue"),), max_new_tokens=24
    )
    expected = generate(bundled_nf4, prompt, settings).output.text
    assert "umbrella" in expected.lower()
    expect(output_box(page)).to_have_value(expected)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "constrained.png", full_page=True)


def test_constrained_without_constraints_names_the_inputs(page):
    page.get_by_label("Constrained beam search", exact=True).check()
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_text("Forced words: force_words or force_one_of must hold")).to_be_visible(timeout=30_000)


def test_speculative_decoding_reports_acceptance(page, bundled_nf4):
    prompt = "Repeat this sentence: the quick brown fox jumps over the lazy dog."
    page.get_by_label("Prompt").fill(prompt)
    page.get_by_label("Speculative decoding", exact=True).check()
    page.get_by_label("Draft", exact=True).click()
    page.get_by_role("option", name="Prompt lookup (no model)").click()
    set_number(page, "Max new tokens", "24")
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_text("of draft tokens accepted")).to_be_visible(timeout=120_000)
    settings = Settings(strategy="speculative", draft_model="prompt-lookup", max_new_tokens=24)
    expect(output_box(page)).to_have_value(generate(bundled_nf4, prompt, settings).output.text)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "speculative.png", full_page=True)


def test_views_show_the_run_step_by_step_and_as_a_tree(page):
    page.get_by_label("Prompt").fill("Name three fruits.")
    page.get_by_label("Beam search", exact=True).check()
    set_number(page, "Max new tokens", "12")
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_text("stopped:")).to_be_visible(timeout=120_000)
    expect(page.locator("#step-plot").get_by_text("Step 1: chose")).to_be_visible(timeout=30_000)
    set_number(page, "Step", "3")
    expect(page.locator("#step-plot").get_by_text("Step 3: chose")).to_be_visible(timeout=30_000)
    expect(page.locator("#overview-plot").get_by_text("entropy (nats)")).to_be_visible()
    page.get_by_role("tab", name="Beam tree").click()
    expect(page.locator("#beam-plot").get_by_text("Beam tree:")).to_be_visible(timeout=30_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "beam-tree.png", full_page=True)
    page.get_by_role("tab", name="Draft acceptance").click()
    expect(page.locator("#accept-plot").get_by_text("Run speculative decoding")).to_be_visible()


def test_export_then_load_shows_the_same_run(page, browser, tmp_path):
    page.get_by_label("Prompt").fill("Say hello.")
    set_number(page, "Max new tokens", "6")
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_text("stopped:")).to_be_visible(timeout=120_000)
    text = output_box(page).input_value()
    with page.expect_download() as download:
        page.get_by_role("button", name="Export trace (JSON)").click()
    path = tmp_path / "trace.json"
    download.value.save_as(path)

    fresh = browser.new_page(viewport={"width": 1280, "height": 900})  # another visitor, no run of its own
    fresh.goto(page.url)
    expect(fresh.get_by_label("Prompt")).to_be_visible(timeout=60_000)
    fresh.locator("input[type=file]").set_input_files(str(path))
    expect(fresh.get_by_text("Loaded trace:")).to_be_visible(timeout=30_000)
    expect(output_box(fresh)).to_have_value(text)
    expect(fresh.locator("#step-plot").get_by_text("Step 1: chose")).to_be_visible(timeout=30_000)
    fresh.close()
