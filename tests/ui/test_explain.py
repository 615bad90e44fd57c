"""The explanations in assets/: one for every control, view and processing stage, each two or three sentences."""

import re

import pytest

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


def test_the_knob_list_on_the_page_covers_every_knob():
    knobs = set(CONTROLS) - {"prompt", "strategy"}
    assert set(KNOB_HELP) == knobs
    assert explain("temperature").startswith("**Temperature.** Divides")
