"""Top-nσ's note in the step view's words: how many tokens it kept and its cut-off, with whose logits they are when
an earlier stage changed them."""

import pytest

from playground.engine import generate
from playground.plots.distributions import stage_figure
from playground.plots.stage_notes import note_lines
from playground.settings import Settings
from tests.plots.hand_built import hand_trace


def noted(note: dict, order: list[str]):
    """A hand-built one-step trace whose candidates carry top_n_sigma's probabilities (top-k's, relabelled), and
    whose step notes `note` under top_n_sigma, run in `order`."""
    trace = hand_trace([2.0, 1.0, 0.5, -1.0], k=2)
    for candidate in trace.steps[0].candidates:
        candidate.probs["top_n_sigma"] = candidate.probs.pop("top_k")
    trace.steps[0].notes = {"top_n_sigma": note}
    trace.settings.update(top_n_sigma=1.5, top_k=0, sampler_order=order)
    return trace


NOTE = {"kept": 2, "cutoff": 0.9013, "top": 2.0, "sigma": 0.7325}


def test_the_sentence_says_what_it_kept_and_where_it_cut():
    assert note_lines(noted(NOTE, ["top_n_sigma"]), 0) == [
        "top-nσ kept 2 tokens: logit ≥ 0.90 (top 2.00 − 1.5σ, σ = 0.73)"
    ]
    assert "top-nσ kept 2 tokens" in stage_figure(noted(NOTE, ["top_n_sigma"]), 0).layout.title.subtitle.text


def test_the_sentence_names_the_stage_whose_logits_it_cut():
    trace = noted({**NOTE, "kept": 1}, ["temperature", "top_n_sigma"])
    for candidate in trace.steps[0].candidates:
        candidate.probs["temperature"] = candidate.probs["raw"]
    (line,) = note_lines(trace, 0)
    assert line.startswith("top-nσ kept 1 token: ") and line.endswith(", logits after Temperature")


def test_a_run_notes_every_step_and_the_step_view_says_it(tiny_loaded):
    settings = Settings(chat=False, strategy="sample", top_n_sigma=1.0, top_k=0, temperature=0.7, max_new_tokens=4)
    trace = generate(tiny_loaded, "the cat", settings)
    for index, step in enumerate(trace.steps):
        note = step.notes["top_n_sigma"]
        kept = [c for c in step.candidates if c.probs["top_n_sigma"] > 0]
        assert note["kept"] >= len(kept) >= 1 and note["cutoff"] == pytest.approx(note["top"] - note["sigma"])
        # In the logits top-nσ received, the temperature's: a candidate stays exactly when it reaches the cut-off.
        assert all((c.logit / 0.7 >= note["cutoff"] - 1e-5) == (c in kept) for c in step.candidates)
        assert note_lines(trace, index)[0].startswith(f"top-nσ kept {note['kept']} token")
    assert trace.steps[0].notes == type(trace).from_dict(trace.to_dict()).steps[0].notes  # through export
