"""The Order family's parts, called directly: the chain line says which stages the next run applies and in what
order, or why it cannot run; the picker and the Sampler order box follow each other."""

import gradio as gr

from playground import stages
from playground.knobs import PAGE_KNOBS
from playground.settings import Settings
from playground.ui.chain_order import (
    CHAIN_CONTROLS,
    PICKER_CHOICES,
    chain_line,
    follow_box,
    order_picks,
    picked_order,
)
from playground.ui.controls import control_values, make_settings
from tests.ui.conftest import as_browser_sends

SAMPLING = as_browser_sends(control_values(Settings(strategy="sample"), "a prompt"))


def test_the_line_names_the_stages_a_greedy_run_applies_and_the_ones_it_skips():
    assert chain_line({}) == (
        "**As it runs:** no stage is on: the most likely token is taken. Set but used only when sampling: Top-k."
    )
    line = chain_line({"repetition_penalty": 1.3, "dry_multiplier": 0.8, "temperature": 0.7})
    assert line == (
        "**As it runs:** Repetition penalty → DRY, then the most likely token is taken. "
        "Set but used only when sampling: Temperature, Top-k."
    )
    assert (
        chain_line({"strategy": "beam", "top_k": 0.0})
        == "**As it runs:** no stage is on: beam search keeps the best beams."
    )


def test_mirostat_left_on_under_a_strategy_that_draws_nothing_is_skipped_like_every_sampling_stage():
    on = {"mirostat": 2.0, "top_k": 0.0}
    for strategy, after in [("greedy", "the most likely token is taken"), ("beam", "beam search keeps the best beams")]:
        assert chain_line({**on, "strategy": strategy}) == (
            f"**As it runs:** no stage is on: {after}. Set but used only when sampling: Mirostat."
        )
    assert chain_line({**on, "strategy": "speculative"}).endswith("Set but used only when sampling: Mirostat.")
    refused = chain_line({**on, "strategy": "speculative", "do_sample": True})
    assert refused.startswith("**The chain cannot run:** mirostat must be 0 with speculative sampling: ")


def test_the_presence_frequency_stage_is_named_for_both_its_penalties_in_the_line_and_the_picker():
    assert chain_line({"frequency_penalty": 0.5, "top_k": 0.0}) == (
        "**As it runs:** Presence/frequency penalty, then the most likely token is taken."
    )
    assert ("Presence/frequency penalty", "presence_frequency") in PICKER_CHOICES


def test_the_line_follows_temperature_last_the_filters_and_the_typed_order():
    assert chain_line(SAMPLING) == "**As it runs:** Top-k, then a token is drawn."
    warm = {**SAMPLING, "temperature": 0.7}
    assert chain_line(warm) == "**As it runs:** Temperature → Top-k, then a token is drawn."
    assert (
        chain_line({**warm, "temperature_last": True}) == "**As it runs:** Top-k → Temperature, then a token is drawn."
    )
    filtered = {**warm, "min_p": 0.1, "top_n_sigma": 1.0}
    assert chain_line(filtered) == "**As it runs:** Temperature → Top-nσ → Top-k → Min-p, then a token is drawn."
    ordered = {**filtered, "sampler_order": "min_p;top_n_sigma;top_k;temperature"}
    assert chain_line(ordered) == "**As it runs:** Min-p → Top-nσ → Top-k → Temperature, then a token is drawn."


def test_a_value_the_run_would_refuse_shows_its_message():
    assert chain_line({**SAMPLING, "sampler_order": "top_k;nucleus"}).startswith(
        "**The chain cannot run:** sampler_order: 'nucleus' is not a stage; the stages are repetition_penalty,"
    )
    left_out = chain_line({**SAMPLING, "sampler_order": "top_p;temperature"})
    assert left_out.startswith("**The chain cannot run:** sampler_order leaves out top_k, which this run applies")
    assert chain_line({**SAMPLING, "temperature": 0.0}).startswith("**The chain cannot run:** temperature")
    assert "must list each stage once" in chain_line({**SAMPLING, "sampler_order": "top_k;top_k"})


def test_the_line_reads_every_page_knob_a_stage_reads_and_what_decides_sampling():
    read = {field for spec in stages.CHAIN for field in spec.fields}
    page = {knob.name for knob in PAGE_KNOBS}
    assert set(CHAIN_CONTROLS) == (read & page) | {"strategy", "do_sample", "sampler_order", "temperature_last"}


def test_the_picker_and_the_box_follow_each_other():
    assert picked_order(["temperature", "top_k"]) == "temperature;top_k" and picked_order(None) == ""
    assert order_picks(" top_k; nucleus ;top_p;top_k") == ["top_k", "top_p"]  # each once; no unknown name
    assert order_picks("") == [] and order_picks(None) == []
    assert follow_box("top_k;top_p", ["top_k", "top_p"]) == gr.update()  # set from the picker: left alone
    assert follow_box("top_p;top_k", ["top_k"]) == gr.update(value=["top_p", "top_k"])
    assert follow_box("", ["top_k"]) == gr.update(value=[])


def test_the_box_takes_the_stages_as_the_picker_shows_them_and_keeps_their_names():
    typed = {**SAMPLING, "temperature": 0.7, "sampler_order": "Top-k; TEMPERATURE"}  # the picker's labels, any case
    assert chain_line(typed) == "**As it runs:** Top-k → Temperature, then a token is drawn."
    assert make_settings(typed).sampler_order == ("top_k", "temperature")
    assert order_picks("Presence/frequency penalty;min_p;top-nσ") == ["presence_frequency", "min_p", "top_n_sigma"]
    for label, name in PICKER_CHOICES:  # every label the picker shows reads as its stage, and so does the name
        for typed in (label, label.lower(), name, name.upper()):
            assert make_settings({**SAMPLING, "sampler_order": typed}).sampler_order == (name,)
            assert order_picks(typed) == [name]
