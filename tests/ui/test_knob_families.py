"""The side column's families: each side knob drawn once, in the table's family order; closed families open when
a preset or a run sets one of their knobs away from the page's default; the page draws one accordion per family."""

import gradio as gr
import pytest

from playground.knobs import FAMILIES, PAGE_KNOBS
from playground.settings import Settings
from playground.ui.controls import control_values, page_defaults
from playground.ui.knob_families import drawn_families, families_to_open, family_id, side_knobs
from playground.ui.presets import presets
from tests.tiny import make_tiny_model, wrap_loaded
from tests.ui.conftest import as_browser_sends


def test_each_side_knob_is_drawn_once_in_its_family_and_families_keep_the_tables_order():
    drawn = drawn_families()
    assert [knob for _, knobs in drawn for knob in knobs] == sorted(
        side_knobs(), key=lambda knob: [f.name for f in FAMILIES].index(knob.widget.family)
    )
    named = {knob.widget.family for knob in side_knobs()}
    assert [family.name for family, _ in drawn] == [family.name for family in FAMILIES if family.name in named]
    assert all(knob.widget.family == family.name for family, knobs in drawn for knob in knobs)


def test_a_familys_element_id_is_its_name_in_lower_case_with_dashes():
    assert family_id("Temperature and shape") == "family-temperature-and-shape"
    assert family_id("DRY") == "family-dry" and family_id("Length and seed") == "family-length-and-seed"


def sent(settings: Settings) -> dict:
    return as_browser_sends(control_values(settings, "a prompt"))


def test_a_closed_family_opens_when_one_of_its_knobs_differs_from_the_pages_default():
    assert families_to_open(page_defaults()) == []
    assert families_to_open(sent(Settings.within())) == []
    assert families_to_open(sent(Settings(sampler_order=("top_k",)))) == ["Order"]
    assert families_to_open(sent(Settings(strategy="sample", temperature_last=True))) == ["Order"]
    # An open family's knob changes nothing here: it is in sight already.
    assert families_to_open(sent(Settings(temperature=0.5, dry_multiplier=0.8, dry_base=2.0))) == []
    llama = next(p for p in presets() if p.name == "llama.cpp order: temperature last")
    assert families_to_open(sent(llama.settings)) == ["Order"]


@pytest.fixture
def page(monkeypatch, tiny_tokenizer):
    """The page laid out around the tiny model."""
    import playground.ui.page as page_module

    monkeypatch.setattr(
        page_module, "load_model", lambda *a, **k: wrap_loaded(make_tiny_model(tiny_tokenizer), tiny_tokenizer)
    )
    return page_module.build_demo("tiny-random-llama", "fp32", ["tiny-random-llama"])


def inside(block) -> list:
    """Every block under `block`."""
    found = []
    for child in getattr(block, "children", []):
        found += [child, *inside(child)]
    return found


def test_the_page_draws_each_family_as_an_accordion_holding_its_knobs(page):
    accordions = {block.label: block for block in page.blocks.values() if isinstance(block, gr.Accordion)}
    for family, knobs in drawn_families():
        accordion = accordions[family.name]
        assert accordion.open is family.open and accordion.elem_id == family_id(family.name)
        labels = {getattr(block, "label", None) for block in inside(accordion)}
        assert {knob.label for knob in knobs} <= labels
    assert accordions["Beam search"].visible is False  # greedy, as the page opens: beam search's knobs only
    assert "Pick the order" in {getattr(block, "label", None) for block in inside(accordions["Order"])}
    assert len([k for k in PAGE_KNOBS if k.widget.family]) == len(side_knobs())
