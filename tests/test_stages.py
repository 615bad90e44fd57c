"""The stage registry is complete: every stage has each part every surface reads (a knob and its label, a colour,
an explanation section, the Settings fields it names), and the trace's stage list follows it."""

import dataclasses
import re

import pytest

from playground import stages
from playground.knobs import BY_NAME as KNOBS
from playground.plots.style import STAGE_COLOURS, STAGE_LABELS
from playground.settings import Settings
from playground.trace import STAGES
from playground.ui.explain import explanations

SPECS = [pytest.param(spec, id=spec.name) for spec in stages.CHAIN]
FIELDS = {f.name for f in dataclasses.fields(Settings)} - {"limits"}


@pytest.mark.parametrize("spec", SPECS)
def test_every_stage_has_every_part(spec):
    assert spec.kind in stages.KINDS
    assert spec.fields and set(spec.fields) <= FIELDS, "a stage reads Settings fields"
    assert spec.knob in KNOBS, "a stage's knob, in playground/knobs.py, names it on the page"
    assert KNOBS[spec.knob].label and STAGE_LABELS[spec.name] == f"after {spec.label or KNOBS[spec.knob].label}"
    assert re.fullmatch(r"#[0-9A-F]{6}", spec.colour) and STAGE_COLOURS[spec.name] == spec.colour
    title, body = explanations()[spec.knob]  # a KeyError: the stage has no section in assets/explanations.md
    assert title and body
    assert spec.processor.rpartition(".")[2].endswith(("LogitsProcessor", "LogitsWarper"))


@pytest.mark.parametrize("spec", SPECS)
def test_a_stage_is_on_the_page_for_the_strategies_that_apply_it(spec):
    knob = KNOBS[spec.knob]
    assert knob.used("greedy") is not spec.sampling_only
    assert knob.used("sample")


def test_the_trace_lists_the_registry_between_raw_and_final_with_no_name_twice():
    assert ("raw", *(spec.name for spec in stages.CHAIN), "final") == STAGES
    assert len(set(STAGES)) == len(STAGES)
    assert {spec.name for spec in stages.CHAIN if spec.kind == "filter"} == stages.FILTERS
    assert {"repetition_penalty", "no_repeat_ngram", "min_new_tokens", "presence_frequency", "dry"} == stages.HISTORY


def active(settings: Settings, where: stages.Where) -> list[str]:
    return [spec.name for spec in stages.CHAIN if spec.applies(settings, where)]


def test_off_settings_make_no_stage_and_penalties_apply_to_every_strategy():
    where = stages.Where(prompt_len=3, eos_ids=[0], device="cpu")
    assert active(Settings(strategy="sample", top_k=0), where) == []
    greedy = Settings(repetition_penalty=1.2, temperature=0.5, top_k=5, min_new_tokens=2)
    assert active(greedy, where) == ["repetition_penalty", "min_new_tokens"]
    penalties = Settings(presence_penalty=0.5, dry_multiplier=0.8)
    assert active(penalties, where) == ["presence_frequency", "dry"]  # every strategy, as the penalties
    assert active(penalties.replace(penalty_last_n=0, dry_penalty_last_n=0), where) == []  # llama.cpp's 0 = off
    no_eos = stages.Where(prompt_len=3, eos_ids=[], device="cpu")
    assert not stages.BY_NAME["min_new_tokens"].applies(greedy, no_eos)  # no EOS to mask
