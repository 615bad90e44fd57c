"""The explanations in assets/: one for every control, view and processing stage, each two or three sentences."""

import re

import pytest

from playground.plots.style import stage_label
from playground.stages import CHAIN
from playground.ui.controls import CONTROLS, STRATEGY_CHOICES
from playground.ui.explain import explain, explanations
from playground.ui.page import KNOB_HELP

VIEWS = [
    "output",
    "model_reads",
    "token_distributions",
    "branch",
    "temperatures",
    "compare",
    "overview",
    "beam_tree",
    "draft_acceptance",
]
KEYS = [*VIEWS, *[name for name in CONTROLS if name != "prompt"], *[f"strategy_{v}" for _, v in STRATEGY_CHOICES]]
KEYS += [spec.knob for spec in CHAIN if spec.knob not in KEYS]  # a stage is explained under its knob's key


@pytest.mark.parametrize("key", KEYS)
def test_every_control_and_view_has_two_or_three_sentences(key):
    title, body = explanations()[key]
    assert title and body
    sentences = [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z0-9(])", body) if s]
    assert 2 <= len(sentences) <= 3, sentences


def test_the_sampling_strategy_describes_every_kind_of_stage_and_points_to_the_full_list():
    """The strategy's text need not change with each new stage: it says what each kind of stage does (with examples)
    and where the whole chain is listed; a new kind of stage, or a sampler named nowhere in it, fails here."""
    _, body = explanations()["strategy_sample"]
    does = {"penalty": "penalties", "transform": "reshape", "filter": "remove"}
    assert all(does[spec.kind] in body for spec in CHAIN)
    assert "The Order family's line lists every stage" in body
    for stage in ("dynatemp", "xtc", "mirostat", "presence_frequency", "dry"):  # the newer samplers, by example
        assert stage_label(stage).split()[0].lower() in body.lower(), stage


def test_the_knob_list_on_the_page_covers_every_knob():
    knobs = set(CONTROLS) - {"prompt", "strategy"}
    assert set(KNOB_HELP) == knobs
    assert explain("temperature").startswith("**Temperature.** Divides")
