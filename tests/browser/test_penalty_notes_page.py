"""What the step view says about dynamic temperature and DRY, read from the page: the T a sampled step used, as the
engine noted it, and the overview's line of T over the run; DRY's mark on a penalized candidate and the span its
subtitle names, beside the other penalties' lines; and the DRY lesson from the Preset menu, the engine's own run.
Checked at fp32 (chosen in the page, or set by the lesson) against the engine in this process."""

import pytest
from playwright.sync_api import Page, expect

from playground.engine import generate
from playground.plots import stage_figure
from playground.plots.stage_notes import note_lines
from playground.settings import Settings
from playground.ui.presets import DRY_LESSON
from tests.browser.test_page import (  # noqa: F401
    ARTIFACTS,
    browser,
    choose_precision,
    choose_preset,
    expect_output,
    page,
    preset,
    reveal,
    run,
    set_number,
    shot,
    shown,
)

pytestmark = pytest.mark.browser

# The page boxes [left, top, right, bottom] of the step view's parts: the view's name that the page writes over the
# figure's corner, the title, its note lines, the "chosen" label and the legend.
PARTS = """(root) => {
  const box = (el) => { if (!el) return null; const r = el.getBoundingClientRect();
    return [r.left, r.top, r.right, r.bottom]; };
  const chosen = [...root.querySelectorAll('.annotation')].find((a) => a.textContent.trim() === 'chosen');
  return {name: box(root.querySelector('[data-testid="block-label"]')), title: box(root.querySelector('.gtitle')),
          note: box(root.querySelector('.gtitle-subtitle')), legend: box(root.querySelector('.legend')),
          chosen: box(chosen && chosen.querySelector('.annotation-text-g'))};
}"""


def set_exact(page: Page, label: str, value: str) -> None:  # noqa: F811
    """Types into the number box of the knob labelled exactly `label` (set_number's label would also match a knob
    whose label starts with it: "Dynamic temperature exponent", "DRY base")."""
    reveal(page, label)
    box = page.get_by_label(f"number input for {label}", exact=True)
    box.fill(value)
    box.press("Tab")


def open_step(page: Page, index: int):  # noqa: F811
    """Shows step `index` (0-based) in the step view and returns the view, once it is drawn."""
    set_number(page, "Step", str(index + 1))
    plot = page.locator("#step-plot")
    expect(plot.get_by_text(f"Step {index + 1}: ")).to_be_visible(timeout=30_000)
    return plot


def overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def expect_clear(plot) -> None:
    """The step view's title and note lines read whole: nothing is drawn over them, they over nothing."""
    parts = plot.evaluate(PARTS)
    assert all(parts.values()), parts
    for first, second in [("name", "title"), ("name", "note"), ("note", "chosen"), ("note", "legend"),
                          ("title", "chosen"), ("title", "legend")]:  # fmt: skip
        assert not overlap(parts[first], parts[second]), (first, second, parts)


def step_shot(plot, name: str) -> None:
    """The step view alone, where its subtitle, the "chosen" label and the legend meet, once they are clear."""
    expect_clear(plot)
    ARTIFACTS.mkdir(exist_ok=True)
    plot.scroll_into_view_if_needed()
    plot.screenshot(path=ARTIFACTS / f"{name}.png")


def test_dynamic_temperature_says_the_t_the_engine_used_and_draws_it_over_the_run(page, bundled_fp32):  # noqa: F811
    prompt = "Write a sentence about the sea."
    page.get_by_label("Prompt").fill(prompt)
    choose_precision(page, "fp32")  # the server's tokens and this process's are the same only at fp32
    page.get_by_label("Sampling", exact=True).check()
    set_exact(page, "Dynamic temperature", "0.5")
    set_number(page, "Top-k", "0")
    set_number(page, "Max new tokens", "10")
    page.get_by_label("Seed").fill("3")
    run(page)
    settings = Settings(strategy="sample", dynatemp_range=0.5, top_k=0, max_new_tokens=10, seed=3)
    expected = generate(bundled_fp32, prompt, settings)
    expect_output(page, shown(expected))
    overview = page.locator("#overview-plot")
    expect(overview.get_by_text("Dynamic temperature: T used")).to_be_visible(timeout=30_000)
    index = 2
    note = expected.steps[index].notes["dynatemp"]
    (line,) = note_lines(expected, index)
    assert line.startswith(f"dynamic temperature: T = {note['T']:.2f} (entropy {note['H']:.1f} of at most")
    assert 0.5 <= note["T"] <= 1.5
    plot = open_step(page, index)
    expect(plot.get_by_text(line)).to_be_visible()
    shot(page, "dynatemp-page")
    step_shot(plot, "dynatemp-step")


def test_dry_marks_the_candidate_it_pushed_down_and_names_the_span_beside_the_other_penalties(page, bundled_fp32):  # noqa: F811
    prompt = "I love you, I love you, I love you,"
    page.get_by_label("Prompt").fill(prompt)
    choose_precision(page, "fp32")
    page.get_by_label("Chat template").uncheck()
    set_exact(page, "DRY", "0.8")
    set_number(page, "Repetition penalty", "1.1")
    set_number(page, "Presence penalty", "0.3")
    set_number(page, "Max new tokens", "6")
    run(page)
    settings = Settings(chat=False, dry_multiplier=0.8, repetition_penalty=1.1, presence_penalty=0.3, max_new_tokens=6)
    expected = generate(bundled_fp32, prompt, settings)
    expect_output(page, shown(expected))
    lines = note_lines(expected, 0)
    dry_line = next(line for line in lines if line.startswith("DRY: "))
    assert "would repeat" in dry_line and "from the prompt, L = " in dry_line
    marks = [a.text for a in stage_figure(expected, 0).layout.annotations if a.text.startswith("DRY L")]
    assert marks, "DRY pushed down a candidate the step view shows"
    plot = open_step(page, 0)
    expect(plot.get_by_text(dry_line)).to_be_visible()
    expect(plot.get_by_text("already in the context (marked ⟲)")).to_be_visible()  # the repetition penalty's line
    expect(plot.get_by_text("presence/frequency: ")).to_be_visible()
    for mark in marks:
        expect(plot.get_by_text(mark, exact=True).first).to_be_visible()
    step_shot(plot, "penalty-notes-step")


def test_the_dry_lesson_from_the_preset_menu_is_the_engines_own_run(page, bundled_fp32):  # noqa: F811
    lesson = preset(DRY_LESSON)
    choose_preset(page, DRY_LESSON)
    expect(page.get_by_label("number input for DRY", exact=True)).to_have_value("0.8")
    expect(page.get_by_label("Chat template")).not_to_be_checked()
    set_number(page, "Max new tokens", "24")  # its first steps: tests/ui/test_preset_dry.py checks the whole claim
    run(page)
    expected = generate(bundled_fp32, lesson.prompt, lesson.settings.replace(max_new_tokens=24))
    expect_output(page, shown(expected))  # the lesson set fp32, where the server's tokens are this process's
    (line,) = note_lines(expected, 0)
    assert line.startswith("DRY: '␣gently' would repeat '…") and line.endswith("from the prompt, L = 7")
    plot = open_step(page, 0)
    expect(plot.get_by_text(line)).to_be_visible()
    shot(page, "dry-lesson")
    step_shot(plot, "dry-lesson-step")
