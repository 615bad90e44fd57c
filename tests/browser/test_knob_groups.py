"""The side column's families on the page: each an accordion, the expert ones closed until a person opens them (or a
preset sets one of their knobs); the Order family's line shows the chain as the next run applies it, and its picker
writes the Sampler order box, which the run follows."""

import re

import pytest
from playwright.sync_api import Page, expect

from playground.plots.style import stage_label
from playground.ui.knob_families import drawn_families, family_id
from playground.ui.presets import llama_cpp_order
from tests.browser.test_page import (  # noqa: F401
    ARTIFACTS,
    ask,
    browser,
    choose_preset,
    exported,
    page,
    reveal,
    set_number,
)

pytestmark = pytest.mark.browser
OPEN = re.compile(r"\bopen\b")
LLAMA = "llama.cpp order: temperature last"


def header(tab: Page, family: str):
    """A family's accordion header: a click opens or closes it."""
    return tab.locator(f"#{family_id(family)} button.label-wrap").first


def side_column(tab: Page, name: str) -> None:
    """A screenshot of the side column alone."""
    ARTIFACTS.mkdir(exist_ok=True)
    tab.locator("#side-knobs").screenshot(path=ARTIFACTS / f"{name}.png")


def pick(tab: Page, *labels: str) -> None:
    """Picks stages in the order picker, one after another, as a person clicks them in its list."""
    tab.get_by_label("Pick the order").click()
    for label in labels:
        tab.get_by_role("option", name=label, exact=True).click()
    tab.keyboard.press("Escape")


def picked(tab: Page):
    """The picker's chosen stages, as the page shows them."""
    return tab.locator("#order-picker .token")


def test_the_families_show_as_accordions_and_a_closed_one_opens_to_set_its_knob(page):  # noqa: F811
    for family, _ in drawn_families():
        if family.name in ("Beam search", "Mirostat"):  # greedy, as the page opens: their knobs serve sampling or beams
            expect(page.locator(f"#{family_id(family.name)}")).to_be_hidden()
            continue
        expect(header(page, family.name)).to_be_visible()
        shown = expect(header(page, family.name))
        shown.to_have_class(OPEN) if family.open else shown.not_to_have_class(OPEN)
    box = page.get_by_label("Sampler order")
    expect(box).to_have_count(0)  # a closed family's controls are not on the page
    side_column(page, "knob-families-closed")
    header(page, "Order").click()
    expect(box).to_be_visible()
    box.fill("top_p;top_k")
    box.press("Tab")
    expect(picked(page)).to_have_text(["Top-p", "Top-k"])  # the box moves the picker
    expect(page.locator("#chain-line")).to_contain_text("no stage is on: the most likely token is taken")
    page.get_by_label("Beam search", exact=True).check()
    expect(page.get_by_label("range slider for Number of beams")).to_be_visible()
    side_column(page, "knob-families-open")


def test_the_chain_line_follows_temperature_last_and_the_filters(page):  # noqa: F811
    reveal(page, "Temperature last")
    line = page.locator("#chain-line")
    expect(line).to_contain_text("Set but used only when sampling: Top-k.")  # greedy, as the page opens
    page.get_by_label("Sampling", exact=True).check()
    expect(line).to_contain_text("As it runs: Top-k, then a token is drawn.")
    set_number(page, "Temperature", "0.7")
    expect(line).to_contain_text("As it runs: Temperature → Top-k, then a token is drawn.")
    page.get_by_label("Temperature last").check()
    expect(line).to_contain_text("As it runs: Top-k → Temperature, then a token is drawn.")
    set_number(page, "Min-p", "0.1")
    expect(line).to_contain_text("As it runs: Top-k → Min-p → Temperature, then a token is drawn.")
    page.get_by_label("Sampler order").fill("top_k;nucleus")
    expect(line).to_contain_text("The chain cannot run: sampler_order: 'nucleus' is not a stage")


def test_picking_the_order_writes_the_box_and_the_run_follows_it(page, tmp_path):  # noqa: F811
    page.get_by_label("Sampling", exact=True).check()
    set_number(page, "Temperature", "0.7")
    reveal(page, "Sampler order")
    box, line = page.get_by_label("Sampler order"), page.locator("#chain-line")
    pick(page, "Temperature", "Top-k")
    expect(box).to_have_value("temperature;top_k")
    expect(line).to_contain_text("As it runs: Temperature → Top-k,")
    # Reordering: take Temperature out and pick it again, last.
    picked(page).filter(has_text="Temperature").locator(".token-remove").click()
    expect(box).to_have_value("top_k")
    pick(page, "Temperature")
    expect(box).to_have_value("top_k;temperature")
    expect(line).to_contain_text("As it runs: Top-k → Temperature,")
    ask(page, "Name a colour.", 3)
    trace = exported(page, tmp_path / "ordered.json")
    assert trace.settings["sampler_order"] == ["top_k", "temperature"]
    assert trace.stage_order() == ("raw", "top_k", "temperature", "final")
    page.get_by_role("button", name="Default order").click()
    expect(box).to_have_value("")
    expect(picked(page)).to_have_count(0)
    expect(line).to_contain_text("As it runs: Temperature → Top-k,")


def test_a_preset_that_sets_the_order_opens_its_family_and_shows_its_chain(page):  # noqa: F811
    expect(header(page, "Order")).not_to_have_class(OPEN)
    choose_preset(page, LLAMA)
    expect(header(page, "Order")).to_have_class(OPEN)
    expect(page.get_by_label("Sampler order")).to_be_visible()
    expect(page.get_by_label("Temperature last")).to_be_visible()
    expect(picked(page)).to_have_text([stage_label(name) for name in llama_cpp_order()])  # the box moved it
    expect(page.locator("#chain-line")).to_contain_text("→ Temperature, then a token is drawn.")
    side_column(page, "knob-families-preset")
    # The page settles: the box, set while its family was closed, does not keep the line and the picker answering.
    answers = []
    page.on("request", lambda request: answers.append(request.url) if "/run/predict" in request.url else None)
    page.wait_for_timeout(2_000)
    assert answers == [], f"{len(answers)} page events in 2 s after the preset settled"
