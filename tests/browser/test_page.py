"""The page in headless Chromium, as a person uses it: every strategy, the views, Stop, presets, trace files.

The page starts at nf4, as a person finds it, and nf4 rounds differently from one CPU (and one process) to
another. So a check on the exact text runs at fp32 (chosen in the page) against the engine in this process, or
at nf4 against the server's own trace (Export); a run left at nf4 checks that it ran and streamed.
"""

import itertools
import re
import shutil
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from playground.characters import candidate_text, pending_before
from playground.engine import generate
from playground.engine.branch import branch_point
from playground.knobs import PAGE_KNOBS
from playground.plots import stage_figure
from playground.plots.beam_paths import lineages, ranks
from playground.plots.context_marks import context_ids
from playground.plots.style import show_token
from playground.settings import MEDUSA, PROMPT_LOOKUP, Settings
from playground.trace import Trace
from playground.ui.knob_families import family_id
from playground.ui.presets import presets
from playground.ui.tokens import others
from tests.helpers import run as run_with_draft

pytestmark = pytest.mark.browser

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
RUN_TIMEOUT = 120_000


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


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)


# The page position of the first point of a beam tree's marker trace: [node id, x, y].
HOVER_TARGET = """(status) => {
  const gd = document.querySelector('#beam-plot .js-plotly-plot');
  const trace = gd.data.find((t) => t.name === status);
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
  const x = box.left + xa._offset + xa.l2p(trace.x[0]), y = box.top + ya._offset + ya.l2p(trace.y[0]);
  return [trace.customdata[0][8], x, y];
}"""


def in_view(page: Page, script: str, arg=None, y_at: int = 1) -> list:
    """What `script` returns for a plot's point, its window position at `y_at`, after scrolling the point to the
    middle of the window: the mouse reaches only what the window shows, and on a long page a plot's lower points
    can sit below it while the plot's top is in sight."""
    found = page.evaluate(script, arg)
    page.evaluate("(y) => window.scrollBy(0, y - window.innerHeight / 2)", found[y_at])
    return page.evaluate(script, arg)


def hovered_beam(page: Page, tries: int = 3) -> tuple[int, int]:
    """A returned beam-tree node's id and how many corners the line drawn on hovering it has. The line is read in
    the same script that finds it: a late re-render of the plot (the run's last steps) clears the line, and then
    the node is hovered again."""
    for _ in range(tries):
        node_id, x, y = in_view(page, HOVER_TARGET, "returned", y_at=2)
        page.mouse.move(5, 5)
        page.mouse.move(x, y)
        try:
            drawn = page.wait_for_function(
                "() => document.querySelector('#beam-plot polyline.beam-hover')?.dataset.nodes", timeout=10_000
            )
            return node_id, int(drawn.json_value())
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"hovering a returned node drew no beam line in {tries} tries")


def output_text(page: Page) -> str:
    """The text the Output shows (its tokens, without the legend)."""
    return page.locator("#output .tokens").text_content()


def status_line(page: Page):
    """The status line itself: the #status box also holds Gradio's progress timer ("processing | 0.1s") while a
    request waits, whose text would otherwise read as a new line beside the last run's."""
    return page.locator("#status [data-testid=markdown]")


def made(status: str) -> int:
    """How many tokens the run in a status line made ("… · 12 tokens · …")."""
    return int(re.search(r"· (\d+) tokens? ·", status).group(1))


def settled_text(page: Page) -> str:
    """The Output's text once it shows every token the status line counts: the HTML component renders the
    run's last value a moment after the status line shows its summary."""
    count = made(status_line(page).text_content())
    expect(page.locator("#output .tokens .tok")).to_have_count(count, timeout=30_000)
    return output_text(page)


def expect_output(page: Page, text: str) -> None:
    """Waits until the Output shows exactly `text` (whitespace as it is: a pattern, which Playwright does not
    normalize), as it does a moment after the status line shows the run's summary (longer on a loaded machine,
    where the browser's renders of a streamed run queue up)."""
    expect(page.locator("#output .tokens")).to_have_text(re.compile(f"^{re.escape(text)}$"), timeout=RUN_TIMEOUT)


def choose_precision(page: Page, precision: str) -> None:
    """Picks the Precision the next run loads the model at."""
    page.get_by_role("combobox", name="Precision", exact=True).click()  # not the lens preset's "… precision"
    page.get_by_role("option", name=precision, exact=True).click()


def exported(page: Page, path: Path) -> Trace:
    """The shown run's trace as Export gives it (the server's own record of the run), saved at `path`."""
    with page.expect_download() as download:
        page.get_by_role("button", name="Export trace (JSON)").click()
    download.value.save_as(path)
    return Trace.from_json(path.read_text())


def shown(trace) -> str:
    """What the Output shows for a trace: every generated token's text."""
    return "".join(step.chosen.text for step in trace.steps)


def reveal(page: Page, label: str) -> None:
    """Opens the side column's family holding the knob labelled `label` when it is closed, as a person opens it to
    reach the knob: a closed family's controls are not on the page until it opens. Other labels change nothing."""
    family = next((k.widget.family for k in PAGE_KNOBS if k.label == label and k.widget.family), None)
    if family is None:
        return
    header = page.locator(f"#{family_id(family)} button.label-wrap").first
    if "open" not in (header.get_attribute("class") or "").split():
        header.click()


def set_number(page: Page, label: str, value: str) -> None:
    """Types into the number box beside a slider, as a person would (opening its family when closed)."""
    reveal(page, label)
    box = page.get_by_label(f"number input for {label}")
    box.fill(value)
    box.press("Tab")


def start_long_run(page: Page) -> None:
    """Starts a sampling run of 1024 tokens (about a minute here) and waits until it streams."""
    page.get_by_label("Prompt", exact=True).fill("Write a very long story about a dragon.")
    page.get_by_label("Sampling", exact=True).check()
    set_number(page, "Max new tokens", "1024")
    page.get_by_role("button", name="Generate").click()
    expect(page.locator("#status").get_by_text("Generating… step")).to_be_visible(timeout=RUN_TIMEOUT)


def speculate(page: Page, prompt: str, draft: str) -> None:
    """Types the prompt and picks speculative decoding with the Draft option named `draft`."""
    page.get_by_label("Prompt").fill(prompt)
    page.get_by_label("Speculative decoding", exact=True).check()
    page.get_by_label("Draft", exact=True).click()
    page.get_by_role("option", name=draft).click()


def ask(page: Page, prompt: str, tokens: int) -> None:
    """Types the prompt, sets Max new tokens and generates with the other controls as they are."""
    page.get_by_label("Prompt").fill(prompt)
    set_number(page, "Max new tokens", str(tokens))
    run(page)


def run(page: Page, done: str = "stopped:") -> None:
    """Clicks Generate and waits for this run's summary, not the last run's (still shown when the click lands)."""
    status = status_line(page)
    before = " ".join(status.text_content().split())  # as Playwright compares it: whitespace collapsed
    page.get_by_role("button", name="Generate").click()
    if before:
        expect(status).not_to_have_text(before, timeout=RUN_TIMEOUT)
    expect(status.get_by_text(done)).to_be_visible(timeout=RUN_TIMEOUT)


def test_page_shows_the_controls_the_strategy_uses(page):
    expect(page.get_by_text("Strategy", exact=True)).to_be_visible()
    for choice in ("Greedy", "Sampling", "Beam search", "Constrained beam search", "Speculative decoding"):
        expect(page.get_by_label(choice, exact=True)).to_be_visible()
    expect(page.get_by_label("Greedy", exact=True)).to_be_checked()
    for slider in ("Temperature", "Top-p", "Top-k", "Repetition penalty", "No-repeat n-gram", "Max new tokens"):
        expect(page.get_by_label(f"range slider for {slider}")).to_be_visible()
    expect(page.get_by_role("button", name="Generate")).to_be_visible()
    expect(page.get_by_role("button", name="Stop")).to_be_visible()
    expect(page.get_by_text("Output", exact=True)).to_be_visible()
    expect(page.get_by_text("SmolLM2-135M-Instruct").first).to_be_visible()
    temperature = page.get_by_label("range slider for Temperature")
    beams = page.get_by_label("range slider for Number of beams")
    min_p = page.get_by_label("range slider for Min-p")
    # Greedy: the sampling knobs are greyed, the rest of sampling's and beam search's are not shown.
    expect(temperature).to_be_disabled()
    expect(beams).to_be_hidden()
    expect(min_p).to_be_hidden()
    expect(page.get_by_label("Forced words")).to_be_hidden()
    page.get_by_label("Sampling", exact=True).check()
    expect(temperature).to_be_enabled()
    expect(min_p).to_be_visible()
    expect(page.get_by_label("Seed")).to_be_visible()
    page.get_by_label("Beam search", exact=True).check()
    expect(temperature).to_be_disabled()
    expect(beams).to_be_visible()
    expect(page.get_by_label("range slider for Length penalty")).to_be_visible()
    expect(page.get_by_text("Beam search.", exact=True)).to_be_visible()  # the chosen strategy explained
    page.get_by_label("Speculative decoding", exact=True).check()
    expect(beams).to_be_hidden()
    tokens, precision = (
        page.get_by_label("range slider for Draft tokens per round"),
        page.get_by_label("Draft precision"),
    )
    tree = page.get_by_label("range slider for Tree size")
    # The automatic draft, the default, sizes its own rounds: no draft controls.
    expect(page.get_by_label("Draft", exact=True)).to_have_value("Automatic (whichever free draft pays)")
    for control in (tokens, precision, tree):
        expect(control).to_be_hidden()
    # A draft's own controls follow the Draft: a tree size for Medusa heads, no precision for prompt lookup.
    for draft, shown_controls in (
        ("Medusa heads (a draft tree)", (tree,)),
        ("Prompt lookup (no model)", (tokens,)),
        ("Same model", (tokens, precision)),
        ("Automatic (whichever free draft pays)", ()),
    ):
        page.get_by_label("Draft", exact=True).click()
        page.get_by_role("option", name=draft).click()
        for control in (tokens, precision, tree):
            expect(control).to_be_visible() if control in shown_controls else expect(control).to_be_hidden()
    page.get_by_label("Sample", exact=True).check()  # speculative sampling uses the sampling knobs
    expect(temperature).to_be_enabled()
    page.get_by_text("What each knob does").click()
    expect(page.locator("#knob-help").get_by_text("Top-p.", exact=True)).to_be_visible()
    shot(page, "controls")


def test_greedy_streams_the_engines_tokens_coloured_by_probability(page, tmp_path):
    prompt = "Write a haiku about the sea."
    page.get_by_label("Prompt").fill(prompt)
    set_number(page, "Max new tokens", "40")
    # Record every text the Output shows while the run streams.
    page.evaluate(
        """() => { window.seen = new Set();
                   setInterval(() => { const t = document.querySelector('#output .tokens');
                                       if (t) window.seen.add(t.textContent); }, 20); }"""
    )
    run(page)
    # At nf4, as the page starts: the text is the server's own trace's, which Export gives.
    trace = exported(page, tmp_path / "trace.json")
    assert trace.model.precision == "nf4" and trace.settings["max_new_tokens"] == 40
    expected = shown(trace)
    expect_output(page, expected)
    partial = [text for text in page.evaluate("[...window.seen]") if text and text != expected]
    assert len(partial) >= 2 and all(expected.startswith(text) for text in partial), "the text did not stream"
    tokens = page.locator("#output .tokens .tok")
    assert tokens.count() == len(trace.steps) == made(status_line(page).text_content())
    assert len(trace.steps) == 40 or trace.output.stop_reason == "eos"
    bands = set(page.eval_on_selector_all("#output .tokens .tok", "els => els.map(e => e.classList[1])"))
    assert bands <= {"p0", "p1", "p2", "p3", "p4"} and len(bands) >= 2
    shot(page, "greedy")


def test_hovering_a_token_shows_its_alternatives_and_clicking_opens_its_step(page):
    choose_precision(page, "fp32")  # the same answer, three tokens or more, on any CPU
    ask(page, "Name a colour.", 8)
    settled_text(page)  # every token drawn before one is hovered
    token = page.locator("#output .tokens .tok").nth(2)
    token.hover()
    card = page.evaluate("() => getComputedStyle(document.querySelector('#output .tok:hover'), '::after').content")
    assert "step 3 · p = " in card and "▸" in card  # the chosen token among its top alternatives
    shot(page, "hover")
    token.click()
    expect(page.get_by_label("number input for Step")).to_have_value("3", timeout=30_000)
    expect(page.locator("#step-plot").get_by_text("Step 3: chose")).to_be_visible(timeout=30_000)


def test_taking_another_token_at_a_step_continues_from_there(page, bundled_fp32):
    prompt = "Name a colour."
    choose_precision(page, "fp32")  # the server's tokens and this process's are the same only at fp32
    ask(page, prompt, 10)
    settings = Settings(max_new_tokens=10)
    parent = generate(bundled_fp32, prompt, settings)
    expect_output(page, shown(parent))
    expect(page.locator("#step-plot").get_by_text("Step 1: chose")).to_be_visible(timeout=30_000)  # views drawn
    page.locator("#output .tokens .tok").nth(3).click()  # step 4
    expect(page.get_by_label("number input for Step")).to_have_value("4", timeout=30_000)
    take = page.get_by_label("Take instead")
    expect(take).to_be_enabled(timeout=30_000)
    # The most likely token the run did not take is offered first.
    step = parent.steps[3]
    token = max((c for c in step.candidates if c.id != step.chosen.id), key=lambda c: c.probs["final"])
    page.get_by_role("button", name="Continue from here").click()
    expect(page.locator("#status").get_by_text("branched at step 4")).to_be_visible(timeout=RUN_TIMEOUT)
    child = generate(bundled_fp32, prompt, settings.replace(**branch_point(parent, 4, token.id)))
    expect_output(page, shown(child))
    assert page.locator("#output .tokens .tok.inherited").count() == 3
    assert page.locator("#output .tokens .tok.forced").text_content() == token.text
    # The views open at the branch point, saying who chose its token.
    expect(page.locator("#step-plot").get_by_text("Step 4: you took")).to_be_visible(timeout=30_000)
    shot(page, "branch")


def test_choosing_an_alternative_in_a_tokens_card_continues_from_there(page, bundled_fp32):
    prompt = "Name a colour."
    choose_precision(page, "fp32")  # the server's tokens and this process's are the same only at fp32
    ask(page, prompt, 10)
    settings = Settings(max_new_tokens=10)
    parent = generate(bundled_fp32, prompt, settings)
    expect_output(page, shown(parent))
    token = page.locator("#output .tokens .tok").nth(2)
    token.click()  # step 3: its card opens under it
    card = page.locator("#output .take-card")
    expect(card).to_be_visible()
    below, under = card.bounding_box(), token.bounding_box()
    assert below["y"] >= under["y"] + under["height"] - 1, "the card opens under the token, not over it"
    expect(card.get_by_text("Step 3: continue with another token")).to_be_visible()
    step = parent.steps[2]
    ranked = sorted((c for c in step.candidates if c.id != step.chosen.id), key=lambda c: -c.probs["final"])
    buttons = card.locator("button:not(.take-many)")  # the alternatives; "Sample many from here" last
    assert buttons.count() == min(5, len(ranked))
    shot(page, "take-card")
    page.keyboard.press("Escape")  # closes it
    expect(card).to_have_count(0)
    page.locator("#output .tokens .tok").nth(2).click()
    card.locator("button").nth(1).click()  # the second most likely alternative
    expect(card).to_have_count(0)
    expect(page.locator("#status").get_by_text("branched at step 3")).to_be_visible(timeout=RUN_TIMEOUT)
    child = generate(bundled_fp32, prompt, settings.replace(**branch_point(parent, 3, ranked[1].id)))
    expect_output(page, shown(child))
    assert page.locator("#output .tokens .tok.forced").text_content() == ranked[1].text
    expect(page.locator("#step-plot").get_by_text("Step 3: you took")).to_be_visible(timeout=30_000)


def compare_at(page: Page, precision: str):
    """Sets the Precision, then compares the shown run with the controls in the Compare tab; returns the
    comparison's status line."""
    choose_precision(page, precision)
    page.get_by_role("tab", name="Compare").click()
    page.get_by_role("button", name="Compare the shown run with the current settings").click()
    return page.locator("#compare-status")


def test_compare_reads_the_shown_run_with_another_precision(page):
    choose_precision(page, "fp32")  # A: the same answer (two tokens or more) on any CPU
    ask(page, "Name a colour.", 12)
    status = compare_at(page, "bf16")
    expect(status.get_by_text("B = SmolLM2-135M-Instruct bf16")).to_be_visible(timeout=RUN_TIMEOUT)
    assert "mean KL(A‖B)" in status.text_content() and "most likely tokens agree at" in status.text_content()
    expect(page.locator("#compare-plot").get_by_text("A vs B along A's text")).to_be_visible(timeout=30_000)
    assert page.locator("#aligned .aligned-row").count() == 2
    # A's and B's candidates side by side, at the step where they are furthest apart, then at the one chosen.
    expect(page.locator("#candidates-plot").get_by_text(": A took")).to_be_visible(timeout=30_000)
    set_number(page, "Step of A's text", "2")
    expect(page.locator("#candidates-plot").get_by_text("Step 2: A took")).to_be_visible(timeout=30_000)
    shot(page, "compare")


def test_where_the_mass_goes_draws_the_continuations_and_temperature_moves_them(page):
    import re

    page.get_by_label("Prompt", exact=True).fill("The capital of France is")
    page.get_by_label("Chat template").uncheck()
    choose_precision(page, "fp32")  # which first token is likeliest is checked below: the same on any CPU
    page.get_by_label("Sampling", exact=True).check()
    set_number(page, "Top-k", "0")
    likeliest, line = [], ""
    status = page.locator("#mass-status")
    for temperature in ("0.5", "1.5"):
        set_number(page, "Temperature", temperature)
        # The slider takes the typed value on blur; let it reach the component before the button reads it.
        expect(page.get_by_role("slider", name="range slider for Temperature", exact=True)).to_have_value(temperature)
        page.get_by_label("Prompt", exact=True).click()  # and moves on, as a person would, before the next click
        page.get_by_role("tab", name="Where the mass goes").click()
        page.get_by_role("button", name="Show where the mass goes").click()
        expect(status).not_to_have_text(line, timeout=RUN_TIMEOUT)  # this run's line, not the last one's
        expect(status).not_to_contain_text("processing", timeout=RUN_TIMEOUT)  # Gradio's progress, then the line
        expect(status.get_by_text("p = ")).to_be_visible(timeout=RUN_TIMEOUT)
        # The line names the temperature the tree was drawn at: the typed one, not the last run's.
        expect(status).to_contain_text(f"under temperature {temperature} · ")
        expect(page.locator("#mass-plot").get_by_text("Where the mass goes:")).to_be_visible(timeout=30_000)
        expect(page.locator("#mass-plot").get_by_text("␣Paris").first).to_be_visible()
        line = " ".join(status.text_content().split())  # as Playwright compares it: whitespace collapsed
        assert "up to 2 tokens at p ≥ 0.005" in line and "likeliest first token ' Paris'" in line
        likeliest.append(float(re.search(r"\(p = ([0-9.]+)\)", line).group(1)))
        if temperature == "0.5":
            shot(page, "mass")
    assert likeliest[0] > likeliest[1]  # a low temperature piles the mass onto the likeliest token


def test_sample_many_draws_the_samples_and_opens_one_as_a_run(page, bundled_fp32):
    page.get_by_label("Prompt", exact=True).fill("Name a colour.")
    choose_precision(page, "fp32")  # a sample's tokens (and count) are the same here and in the server only at fp32
    set_number(page, "Max new tokens", "6")
    page.get_by_role("tab", name="Sample many").click()
    set_number(page, "Samples", "16")
    page.get_by_role("button", name="Sample many").click()
    expect(page.locator("#status").get_by_text("16 samples, ")).to_be_visible(timeout=RUN_TIMEOUT)
    expect(page.locator("#samples-plot").get_by_text("16 samples, their first 8 tokens")).to_be_visible(timeout=30_000)
    expect(page.locator("#continuations-plot").get_by_text("continuations among 16 samples")).to_be_visible()
    expect(page.locator("#diversity-plot").get_by_text("How much the samples differ")).to_be_visible()
    assert page.locator("#output .tokens .tok").count() >= 1  # the first sample, its tokens clickable as a run's
    shot(page, "samples")
    page.get_by_label("Open a sample").click()
    page.get_by_role("option", name="#2 (seed 1): ").click()
    page.get_by_role("button", name="Open it").click()
    expect(page.locator("#status").get_by_text(" · 6 tokens · ")).to_be_visible(timeout=RUN_TIMEOUT)
    alone = generate(bundled_fp32, "Name a colour.", Settings(strategy="sample", seed=1, max_new_tokens=6))
    expect_output(page, shown(alone))
    expect(page.locator("#samples-plot").get_by_text("16 samples, their first 8 tokens")).to_be_visible()  # kept
    page.get_by_role("button", name="Generate").click()  # Generate still makes one run, whatever Samples says
    expect(page.locator("#status")).not_to_contain_text("samples", timeout=RUN_TIMEOUT)
    expect(page.locator("#status").get_by_text("stopped:")).to_be_visible(timeout=RUN_TIMEOUT)


def test_sampling_with_a_seed_is_reproducible_in_the_page(page, bundled_fp32):
    prompt = "Name a colour."
    page.get_by_label("Prompt").fill(prompt)
    choose_precision(page, "fp32")  # the server's tokens and this process's are the same only at fp32
    page.get_by_label("Sampling", exact=True).check()
    set_number(page, "Temperature", "1.3")
    set_number(page, "Top-p", "0.9")
    set_number(page, "Min-p", "0.02")
    set_number(page, "Eta cutoff", "0.0006")
    set_number(page, "Max new tokens", "12")
    page.get_by_label("Seed").fill("7")
    run(page)
    knobs = dict(temperature=1.3, top_p=0.9, min_p=0.02, eta_cutoff=0.0006, max_new_tokens=12, seed=7)
    expect_output(page, shown(generate(bundled_fp32, prompt, Settings(strategy="sample", **knobs))))
    expect(page.locator("#step-plot").get_by_text("after Top-p", exact=True)).to_be_visible(timeout=30_000)
    expect(page.locator("#step-plot").get_by_text("after Eta cutoff", exact=True)).to_be_visible()
    shot(page, "sampling")


def test_empty_prompt_gets_a_message_naming_it(page):
    page.get_by_label("Prompt").fill("   ")
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_text("prompt must not be empty")).to_be_visible(timeout=30_000)
    shot(page, "error")
    # The page still works after the error.
    ask(page, "Say hi.", 3)


def test_beam_search_shows_the_tree_and_the_steps_of_the_best_beam(page, bundled_fp32):
    prompt = "Name three fruits."
    page.get_by_label("Prompt").fill(prompt)
    choose_precision(page, "fp32")  # the server's tokens and this process's are the same only at fp32
    page.get_by_label("Beam search", exact=True).check()
    set_number(page, "Number of beams", "3")
    set_number(page, "Max new tokens", "12")
    run(page)
    expected = generate(bundled_fp32, prompt, Settings(strategy="beam", num_beams=3, max_new_tokens=12))
    expect_output(page, shown(expected))
    expect(page.locator("#step-plot").get_by_text("Step 1: chose")).to_be_visible(timeout=30_000)
    set_number(page, "Step", "3")
    expect(page.locator("#step-plot").get_by_text("Step 3: chose")).to_be_visible(timeout=30_000)
    expect(page.locator("#overview-plot").get_by_text("entropy (nats)")).to_be_visible()
    page.get_by_role("tab", name="Beam tree").click()
    plot = page.locator("#beam-plot")
    expect(plot.get_by_text("Beam tree:")).to_be_visible(timeout=30_000)
    # Each returned sequence is labelled at its end, and its path from step 1 is drawn.
    for number in range(1, len(expected.beams.sequences) + 1):
        expect(plot.get_by_text(f"answer {number}", exact=True)).to_be_visible()
    expect(plot.get_by_text("answers' paths", exact=True)).to_be_visible()
    # Hovering a node draws its beam back to step 1: one corner per step, over the node's own ancestors.
    plot.scroll_into_view_if_needed()
    node_id, drawn = hovered_beam(page)
    assert drawn == len(lineages(expected.beams)[node_id])
    shot(page, "beam-tree")
    line = plot.locator("polyline.beam-hover")
    page.mouse.move(5, 5)
    expect(line).to_have_count(0)
    page.get_by_role("tab", name="Draft acceptance").click()
    expect(page.locator("#accept-plot").get_by_text("Run speculative decoding")).to_be_visible()


def test_the_stage_view_shows_which_tokens_the_penalties_touched_and_why(page, bundled_fp32):
    prompt = "The best thing about the city is that the city"
    page.get_by_label("Prompt").fill(prompt)
    choose_precision(page, "fp32")  # the server's tokens and this process's are the same only at fp32
    page.get_by_label("Chat template").uncheck()
    set_number(page, "Repetition penalty", "1.1")
    set_number(page, "No-repeat n-gram", "3")
    set_number(page, "Max new tokens", "8")
    run(page)
    settings = Settings(chat=False, repetition_penalty=1.1, no_repeat_ngram_size=3, max_new_tokens=8)
    expected = generate(bundled_fp32, prompt, settings)
    expect_output(page, shown(expected))
    notes = [a.text for a in stage_figure(expected, 0).layout.annotations]
    plot = page.locator("#step-plot")
    # Step 1: " is" would repeat the prompt's "the city is" (the note may shorten the n-gram to fit), and every
    # candidate the prompt holds is marked with its probability before and after the penalty, without hovering.
    banned = [n for n in notes if n.startswith("✂ repeats '␣the") and n.endswith(" is'")]
    assert banned, notes
    expect(plot.get_by_text(banned[0], exact=True)).to_be_visible(timeout=30_000)
    marks = [n for n in notes if n.startswith("⟲")]
    assert marks, "the prompt's own tokens are among the first step's candidates"
    expect(plot.get_by_text(f"{len(marks)} candidate")).to_be_visible()
    for mark in marks:
        expect(plot.get_by_text(mark, exact=True).first).to_be_visible()
    shot(page, "penalties")


def test_characters_split_over_tokens_read_whole_in_the_output(page, bundled_fp32):
    prompt = "How do you write 'thank you' in Japanese?"
    choose_precision(page, "fp32")  # which characters the answer splits is checked below: the same on any CPU
    ask(page, prompt, 24)
    expected = generate(bundled_fp32, prompt, Settings(max_new_tokens=24))
    split = [step for step in expected.steps if step.chosen.bytes is not None]
    assert split, "the answer holds characters the tokenizer splits over several tokens"
    # The text reads as the tokenizer decodes it, with one span per token still there to hover and click.
    expect_output(page, bundled_fp32.tokenizer.decode(expected.output.token_ids))
    assert page.locator("#output .tokens .tok").count() == len(expected.steps)
    part = page.locator(f'#output .tok[data-step="{split[0].index}"]')
    part.hover()
    card = page.evaluate("() => getComputedStyle(document.querySelector('#output .tok:hover'), '::after').content")
    assert f"bytes {split[0].chosen.bytes[:2]}" in card and "part of a character split over tokens" in card
    shot(page, "split-characters")
    # A token the model could have taken inside a character reads as the character it would have completed.
    for i, step in enumerate(expected.steps):
        pending = pending_before(expected.steps[:i])
        offered = [candidate_text(c, pending) for c in others(step)[:5]]
        if pending and any(text and "‹" not in text for text in offered):
            break
    else:
        raise AssertionError("some step inside a character should offer another character")
    page.locator(f'#output .tok[data-step="{i}"]').click()
    buttons = page.locator("#output .take-card button:not(.take-many)")
    expect(buttons.first).to_be_visible()
    assert [text.rsplit("  ", 1)[0] for text in buttons.all_text_contents()] == [show_token(t) for t in offered]
    shot(page, "split-characters-card")


def test_constrained_beam_search_puts_the_forced_word_in(page, bundled_fp32):
    prompt = "Write a sentence about the weather."
    page.get_by_label("Prompt").fill(prompt)
    choose_precision(page, "fp32")  # the server's tokens and this process's are the same only at fp32
    page.get_by_label("Constrained beam search", exact=True).check()
    page.get_by_label("Forced words").fill("umbrella")
    page.get_by_label("One of").fill("red | blue")
    set_number(page, "Max new tokens", "24")
    run(page, "constraints met")
    settings = Settings(
        strategy="constrained", force_words=("umbrella",), force_one_of=(("red", "blue"),), max_new_tokens=24
    )
    expected = generate(bundled_fp32, prompt, settings)
    assert "umbrella" in expected.output.text.lower()
    expect_output(page, shown(expected))
    page.get_by_role("tab", name="Beam tree").click()
    plot = page.locator("#beam-plot")
    expect(plot.get_by_text("bank", exact=True)).to_be_visible(timeout=30_000)
    # Where the answer completed each constraint is marked, whichever option of the one-of set it used.
    expect(plot.get_by_text("met 'umbrella'", exact=True)).to_be_visible()
    expect(plot.get_by_text("met 'red | blue'", exact=True)).to_be_visible()
    # The candidates ranked far down their step are counted, not drawn, until asked for.
    rank, near = ranks(expected.beams), 2 * expected.settings["num_beams"]
    hidden = sum(n.status == "pruned" and rank[n.id] >= near for n in expected.beams.nodes)
    assert hidden > 0, "this run should weigh more candidates than the tree draws by default"
    expect(plot.get_by_text(f"{hidden} pruned candidates ranked below")).to_be_visible()
    shot(page, "constrained")
    page.get_by_label("Show every candidate").check()
    expect(plot.get_by_text("pruned candidates ranked below")).to_be_hidden(timeout=30_000)
    expect(plot.get_by_text(f"Beam tree: {len(expected.beams.nodes)} candidates")).to_be_visible()
    shot(page, "constrained-all")


def test_constrained_without_constraints_names_the_inputs(page):
    page.get_by_label("Constrained beam search", exact=True).check()
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_text("Forced words: force_words or force_one_of must hold")).to_be_visible(timeout=30_000)


def test_speculative_decoding_shows_acceptance_and_the_measured_speedup(page, bundled_fp32):
    prompt = "Repeat this sentence: the quick brown fox jumps over the lazy dog."
    choose_precision(page, "fp32")  # the server's tokens and this process's are the same only at fp32
    speculate(page, prompt, "Prompt lookup (no model)")
    set_number(page, "Max new tokens", "24")
    run(page, "of draft tokens accepted")
    settings = Settings(strategy="speculative", draft_model=PROMPT_LOOKUP, max_new_tokens=24)
    expect_output(page, shown(generate(bundled_fp32, prompt, settings)))
    page.get_by_role("tab", name="Draft acceptance").click()
    plot = page.locator("#accept-plot")
    expect(plot.get_by_text("measured speed-up over plain decoding")).to_be_visible(timeout=30_000)
    expect(plot.get_by_text("accepted draft tokens")).to_be_visible()
    shot(page, "speculative")


def test_medusa_heads_draw_each_rounds_draft_tree(page, bundled_fp32):
    prompt = "Explain how a rainbow forms."
    choose_precision(page, "fp32")  # the server's tokens and this process's are the same only at fp32
    speculate(page, prompt, "Medusa heads (a draft tree)")
    set_number(page, "Tree size", "8")
    set_number(page, "Max new tokens", "24")
    run(page, "tokens per target pass")
    expect(page.locator("#status")).to_contain_text("Medusa tree of 8 guesses")
    settings = Settings(strategy="speculative", draft_model=MEDUSA, tree_size=8, max_new_tokens=24)
    expect_output(page, shown(run_with_draft(bundled_fp32, prompt, settings)))
    page.get_by_role("tab", name="Draft acceptance").click()
    tree = page.locator("#tree-plot")
    expect(tree.get_by_text("guesses, ")).to_be_visible(timeout=30_000)
    expect(page.locator("#depth-plot .annotation-text", has_text="acceptance by depth")).to_be_visible()
    set_number(page, "Round", "1")  # the first round has no guesses: the prompt's last token alone
    expect(tree.locator(".gtitle")).to_contain_text("round 1 of")
    expect(tree.locator(".gtitle")).to_contain_text("0 guesses")
    set_number(page, "Round", "2")
    expect(tree.locator(".gtitle")).to_contain_text("round 2 of")
    expect(tree.locator(".gtitle")).to_contain_text("8 guesses")
    shot(page, "medusa")


# Records when the status line changes (performance.now(), ms): how often the page takes an update while a run
# streams, under whatever else loads this machine.
WATCH_UPDATES = """() => { window.updates = [];
  new MutationObserver(() => window.updates.push(performance.now())).observe(
    document.querySelector('#status'), {subtree: true, childList: true, characterData: true}); }"""


def test_stop_ends_a_long_run_within_a_second_and_keeps_its_text(page):
    start_long_run(page)
    page.evaluate(WATCH_UPDATES)
    page.wait_for_function("window.updates.length >= 6", timeout=RUN_TIMEOUT)  # it streams
    updates = page.evaluate("window.updates")
    page.get_by_role("button", name="Stop").click()
    clicked = page.evaluate("performance.now()")
    page.locator("#status").get_by_text("stopped by you").wait_for(timeout=RUN_TIMEOUT)
    waited = page.evaluate("performance.now()") - clicked
    # The run ends at its next step and the page shows it with its next update. Each update carries a step or
    # more, so the longest pause between updates bounds a step plus an update: within a second where the page
    # keeps up, else within three of its own updates.
    slowest = max(b - a for a, b in itertools.pairwise(updates))
    assert waited < max(1000, 3 * slowest), f"Stop took {waited:.0f} ms; updates came {slowest:.0f} ms apart"
    status = status_line(page).text_content()
    count = made(status)
    assert 0 < count < 1024
    expect(page.locator("#output .tokens .tok")).to_have_count(count)  # what was made is kept, token by token
    expect(page.locator("#step-plot").get_by_text("Step 1: chose")).to_be_visible(timeout=30_000)
    shot(page, "stopped")
    # A late second click leaves the run's summary alone: Stop answers nothing, so once its request is
    # answered there is nothing more to wait for.
    with page.expect_response(lambda answer: "/run/" in answer.url and answer.request.method == "POST"):
        page.get_by_role("button", name="Stop").click()
    assert status_line(page).text_content() == status
    set_number(page, "Max new tokens", "4")
    run(page)  # the model is free again, and the next run is not stopped by the late click
    expect(page.locator("#status")).not_to_contain_text("stopped by you")


def test_a_preset_sets_the_controls_and_says_what_to_look_at(page):
    page.get_by_label("Preset").click()
    page.get_by_role("option", name="A forced word").click()
    expect(page.locator("#lesson").get_by_text("must use the word 'umbrella'")).to_be_visible()
    expect(page.get_by_label("Constrained beam search", exact=True)).to_be_checked()
    expect(page.get_by_label("Forced words")).to_have_value("umbrella")
    expect(page.get_by_label("Prompt", exact=True)).to_have_value("Describe a rainy morning in one sentence.")
    choose_precision(page, "fp32")  # whether the answer meets its constraints in time: the same on any CPU
    run(page, "constraints met")
    expect(page.locator("#output .tokens")).to_contain_text("umbrella", ignore_case=True, timeout=30_000)
    shot(page, "preset")


def preset(name: str):
    return next(p for p in presets() if p.name == name)


def choose_preset(page: Page, name: str) -> None:
    page.get_by_label("Preset").click()
    page.get_by_role("option", name=name).click()
    expect(page.locator("#lesson")).to_contain_text(preset(name).lesson[:40])


def test_the_greedy_loop_lesson_shows_the_loop_and_what_the_penalty_pushed_down(page, bundled_fp32):
    """The lesson as a class would run it: greedy repeats itself; at penalty 1.3 the step view marks the
    tokens already read, with their fall, and the one that would have won is pushed down. At fp32, where what
    the model writes (the loop, the fall) is the same on any CPU."""
    lesson = preset("Greedy loops and repeats")
    choose_preset(page, lesson.name)
    choose_precision(page, "fp32")
    run(page)
    looped = generate(bundled_fp32, lesson.prompt, lesson.settings)
    expect_output(page, shown(looped))
    ids = looped.output.token_ids
    grams = [tuple(ids[i : i + 4]) for i in range(len(ids) - 3)]
    assert len(set(grams)) < len(grams), "greedy repeats a phrase of four tokens or more"
    set_number(page, "Repetition penalty", "1.3")
    run(page)
    penalized = generate(bundled_fp32, lesson.prompt, lesson.settings.replace(repetition_penalty=1.3))
    expect_output(page, shown(penalized))

    def biggest_fall(index):
        seen = set(context_ids(penalized, index))
        return max((c.probs["raw"] - c.probs["repetition_penalty"] for c in penalized.steps[index].candidates
                    if c.id in seen), default=0.0)  # fmt: skip

    index = next((i for i in range(len(penalized.steps)) if biggest_fall(i) > 0.3), None)
    assert index is not None, "the penalty pushes a likely token down somewhere"
    set_number(page, "Step", str(index + 1))
    plot = page.locator("#step-plot")
    expect(plot.get_by_text(f"Step {index + 1}: chose")).to_be_visible(timeout=30_000)
    marks = [a.text for a in stage_figure(penalized, index).layout.annotations if a.text.startswith("⟲")]
    for mark in marks:
        expect(plot.get_by_text(mark, exact=True).first).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    plot.screenshot(path=ARTIFACTS / "lesson-penalty-step.png")  # the README's first lesson image
    shot(page, "lesson-penalty")


def test_the_beam_lesson_shows_the_winners_path_and_what_length_penalty_changes(page, bundled_fp32):
    """The lesson as a class would run it: the short answer wins at length penalty 0.5, a long one at 2 (at
    fp32, where the answers' lengths are the same on any CPU)."""
    lesson = preset("Beam search prefers short, safe text")
    choose_preset(page, lesson.name)
    choose_precision(page, "fp32")
    run(page)
    short = generate(bundled_fp32, lesson.prompt, lesson.settings)
    expect_output(page, shown(short))
    winner = short.beams.sequences[0]
    assert short.output.stop_reason == "eos" and len(winner.token_ids) < lesson.settings.max_new_tokens
    page.get_by_role("tab", name="Beam tree").click()
    plot = page.locator("#beam-plot")
    expect(plot.get_by_text("answer 1", exact=True)).to_be_visible(timeout=30_000)
    plot.screenshot(path=ARTIFACTS / "lesson-beam-tree.png")  # the README's second lesson image
    shot(page, "lesson-beam-short")
    set_number(page, "Length penalty", "2")
    run(page)
    long = generate(bundled_fp32, lesson.prompt, lesson.settings.replace(length_penalty=2.0))
    expect_output(page, shown(long))
    assert len(long.beams.sequences[0].token_ids) > len(winner.token_ids)
    # A long tree opens on its first 24 steps (a range slider scrolls on); the answers' paths run through them.
    expect(plot.get_by_text(f"Beam tree: {len(long.beams.nodes)} candidates")).to_be_visible(timeout=30_000)
    expect(plot.get_by_text("answers' paths", exact=True)).to_be_visible()
    shot(page, "lesson-beam-long")


def test_the_cheap_draft_lesson_runs_medusa_and_shows_the_measured_speed(page, bundled_fp32):
    lesson = preset("Speculative decoding with a cheap draft")
    choose_preset(page, lesson.name)
    choose_precision(page, "fp32")  # the server's tokens and this process's are the same only at fp32
    run(page, "speed-up over plain decoding")
    status = page.locator("#status")
    expect(status).to_contain_text("Medusa tree of 8 guesses")
    expect(status).to_contain_text("tokens per target pass")
    expect_output(page, shown(run_with_draft(bundled_fp32, lesson.prompt, lesson.settings)))
    page.get_by_role("tab", name="Draft acceptance").click()
    expect(page.locator("#tree-plot").get_by_text("guesses, ")).to_be_visible(timeout=30_000)


def test_a_preset_lesson_says_when_the_controls_no_longer_match_it_and_resets(page):
    page.get_by_label("Preset").click()
    page.get_by_role("option", name="A forced word").click()
    lesson, reset = page.locator("#lesson"), page.locator("#reset-preset")
    expect(lesson.get_by_text("must use the word 'umbrella'")).to_be_visible()
    expect(reset).to_be_hidden()
    page.get_by_label("Greedy", exact=True).check()
    set_number(page, "Max new tokens", "12")
    expect(lesson).to_contain_text("Changed since you chose it: Strategy, Max new tokens.")
    expect(lesson.get_by_text("must use the word 'umbrella'")).to_be_visible()  # still readable: not struck out
    assert lesson.locator("del").count() == 0
    expect(reset).to_be_visible()
    shot(page, "preset-changed")
    reset.click()
    expect(page.get_by_label("Constrained beam search", exact=True)).to_be_checked()
    expect(lesson).not_to_contain_text("Changed since")
    expect(reset).to_be_hidden()
    page.get_by_label("Greedy", exact=True).check()
    page.get_by_label("Constrained beam search", exact=True).check()  # moved back by hand: it matches again
    expect(lesson).not_to_contain_text("Changed since")


def test_the_quantization_lens_preset_sets_nf4_then_compare_reads_its_text_at_fp32(page):
    page.get_by_label("Precision").click()
    page.get_by_role("option", name="bf16", exact=True).click()
    page.get_by_label("Preset").click()
    page.get_by_role("option", name="The quantization lens: 4-bit against full precision").click()
    expect(page.get_by_role("combobox", name="Precision")).to_have_value("nf4")  # the lesson's A
    expect(page.get_by_label("Greedy", exact=True)).to_be_checked()
    set_number(page, "Max new tokens", "12")
    run(page, "stopped:")
    expect(page.locator("#status").get_by_text("nf4")).to_be_visible()
    status = compare_at(page, "fp32")
    expect(status.get_by_text("B = SmolLM2-135M-Instruct fp32, the same settings")).to_be_visible(timeout=RUN_TIMEOUT)
    shot(page, "lens")


def test_precision_picker_reloads_the_model_at_that_precision(page, bundled_fp32):
    prompt = "Say hello."
    page.get_by_label("Prompt").fill(prompt)
    choose_precision(page, "fp32")
    set_number(page, "Max new tokens", "8")
    run(page, "SmolLM2-135M-Instruct fp32")
    expect_output(page, shown(generate(bundled_fp32, prompt, Settings(max_new_tokens=8))))
    # The model line at the top follows the run shown, not the precision the page started with.
    expect(page.locator("#model-info")).to_contain_text("SmolLM2-135M-Instruct · fp32 · cpu · 513 MB")


def test_export_then_load_shows_the_same_run(page, browser, tmp_path):
    ask(page, "Say hello.", 6)
    path = tmp_path / "trace.json"
    text = shown(exported(page, path))
    expect_output(page, text)  # the page shows the run it exports

    fresh = browser.new_page(viewport={"width": 1280, "height": 900})  # another visitor, no run of its own
    fresh.goto(page.url)
    expect(fresh.get_by_label("Prompt")).to_be_visible(timeout=60_000)
    fresh.locator("input[type=file]").set_input_files(str(path))
    expect(fresh.get_by_text("Loaded trace:")).to_be_visible(timeout=30_000)
    expect_output(fresh, text)
    expect(fresh.locator("#step-plot").get_by_text("Step 1: chose")).to_be_visible(timeout=30_000)
    fresh.close()


def click_node(page: Page, number: int) -> None:
    """Clicks run #number's node in the Runs tab's tree, moving there first as a person's pointer does."""
    node = page.locator("#run-tree .scatterlayer .trace").last.locator(".point").nth(number - 1)
    node.scroll_into_view_if_needed()
    box = node.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def test_the_runs_tree_shows_each_branch_under_its_run_and_a_click_brings_a_run_back(page, browser, tmp_path):
    choose_precision(page, "fp32")  # the same answer, five tokens or more, on any CPU
    ask(page, "Name a colour.", 8)
    first = settled_text(page)
    page.locator("#output .tokens .tok").nth(1).click()
    page.locator("#output .take-card button").first.click()
    expect(page.locator("#status").get_by_text("branched at step 2")).to_be_visible(timeout=RUN_TIMEOUT)
    expect(page.locator("#output .tokens .tok.forced")).to_have_count(1)
    branched = settled_text(page)
    assert branched != first
    page.get_by_role("tab", name="Runs").click()
    tree = page.locator("#run-tree")
    expect(tree.get_by_text("2 runs in this tab")).to_be_visible(timeout=30_000)
    expect(tree.get_by_text("step 2: ")).to_be_visible()
    shot(page, "runs-tree")
    click_node(page, 1)
    expect(page.locator("#status").get_by_text("Run #1: ")).to_be_visible(timeout=30_000)
    expect(page.locator("#output .tokens")).to_have_text(first, timeout=30_000)
    # Branch again from run #1, shown again: a third node under it.
    page.locator("#output .tokens .tok").nth(4).click()
    page.locator("#output .take-card button").first.click()
    expect(page.locator("#status").get_by_text("branched at step 5")).to_be_visible(timeout=RUN_TIMEOUT)
    page.get_by_role("tab", name="Runs").click()  # the click on a token opened its step view
    expect(tree.get_by_text("3 runs in this tab")).to_be_visible(timeout=30_000)
    click_node(page, 2)
    expect(page.locator("#status").get_by_text("Run #2: ")).to_be_visible(timeout=30_000)
    expect(page.locator("#output .tokens")).to_have_text(branched, timeout=30_000)
    with page.expect_download() as download:
        page.get_by_role("button", name="Export runs (JSON)").click()
    path = tmp_path / "runs.json"
    download.value.save_as(path)

    fresh = browser.new_page(viewport={"width": 1280, "height": 900})  # another visitor loads the whole tree
    fresh.goto(page.url)
    expect(fresh.get_by_label("Prompt")).to_be_visible(timeout=60_000)
    fresh.locator("input[type=file]").set_input_files(str(path))
    expect(fresh.get_by_text("Loaded 3 runs; showing:")).to_be_visible(timeout=30_000)
    expect(fresh.locator("#output .tokens")).to_have_text(branched)
    fresh.get_by_role("tab", name="Runs").click()
    expect(fresh.locator("#run-tree").get_by_text("3 runs in this tab")).to_be_visible(timeout=30_000)
    fresh.set_viewport_size({"width": 800, "height": 900})  # the tree redraws to the narrower page
    fresh.wait_for_timeout(500)
    shot(fresh, "runs-tree-800")
    fresh.close()


def test_closing_the_tab_stops_its_run_and_frees_the_model(browser, app_url):
    import json

    from gradio_client import Client

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(app_url)
    start_long_run(page)
    shown_step = int(re.search(r"step (\d+)", status_line(page).text_content()).group(1))
    page.close()  # the visitor leaves mid-run
    closed = time.monotonic()
    # Another visitor's short request waits in the same one-at-a-time queue: it is served once the closed
    # tab's run has ended, not after the 1024 tokens it asked for (about a minute here).
    payload = {"prompt": "Say hi.", "max_new_tokens": 8, "min_new_tokens": 8}
    trace = json.loads(Client(app_url, verbose=False).predict(json.dumps(payload), api_name="/run"))
    waited = time.monotonic() - closed
    # The bound comes from this server's own step time (the same model and precision, measured just now): had
    # the closed tab's run gone on, the request would have waited for every step it had left.
    step_s = trace["timing"]["total_s"] / trace["timing"]["new_tokens"]
    left_s = (1024 - shown_step) * step_s
    print(f"closed tab: next request served {waited:.1f} s later; its steps left would take {left_s:.0f} s")
    assert waited < left_s / 2, f"the closed tab's run held the model for {waited:.0f} s"


def test_a_second_generate_while_one_runs_does_not_queue_another(page):
    # The page ignores clicks on Generate while its run is pending (Gradio's trigger_mode "once"); the server
    # refuses a second run from the same tab anyway (Switches.arm), for clients that are not this page.
    start_long_run(page)
    page.get_by_role("button", name="Generate").click()
    page.get_by_role("button", name="Stop").click()
    expect(page.locator("#status").get_by_text("stopped by you")).to_be_visible(timeout=RUN_TIMEOUT)
    # The tab runs again, and the run it gets is the one it asks for now: a second long run queued by the
    # click above would come first (the queue is first come, first served) and show here instead.
    set_number(page, "Max new tokens", "4")
    run(page)
    assert made(status_line(page).text_content()) <= 4
    page.get_by_role("tab", name="Runs").click()
    expect(page.locator("#run-tree").get_by_text("2 runs in this tab")).to_be_visible(timeout=30_000)


def test_the_model_picker_offers_the_hosts_allowlist(page, allowed_tiny_model):
    page.get_by_label("Model", exact=True).click()
    expect(page.get_by_role("option", name="SmolLM2-135M-Instruct")).to_be_visible()
    page.get_by_role("option", name=allowed_tiny_model).click()
    page.get_by_label("Precision").click()
    page.get_by_role("option", name="fp32", exact=True).click()
    page.get_by_label("Chat template", exact=True).uncheck()  # the tiny model has no chat template
    page.get_by_label("Prompt", exact=True).fill("the cat")
    set_number(page, "Max new tokens", "12")
    run(page, f"{allowed_tiny_model} fp32 · 12 tokens")
    assert page.locator("#output .tokens .tok").count() == 12
