"""The lesson "Mirostat holds the surprise near tau" says what its run does: on the embedded model at fp32, the
chosen tokens' mean surprise over the run is within the stated band of tau, mirostat's cut removed tokens on the
way, and mu moved with every token as the update says."""

import math
import statistics

import pytest

from playground.engine import generate
from playground.ui.presets import MIROSTAT_BAND, MIROSTAT_LESSON, presets

LESSON = next(p for p in presets() if p.name == MIROSTAT_LESSON)


def test_the_lessons_text_states_its_band_and_tau():
    assert f"within {MIROSTAT_BAND} bit of tau" in LESSON.lesson
    # The run's length as the preset sets it (the integration test below checks the claim over that many tokens).
    assert f"over these {LESSON.settings.max_new_tokens} tokens" in LESSON.lesson
    assert "tau = 2 bits" in LESSON.lesson and LESSON.settings.mirostat_tau == 2.0
    assert LESSON.settings.top_k == 0 and LESSON.settings.mirostat == 2  # "the other filters are off"


@pytest.mark.integration
def test_the_mean_surprise_lies_within_the_band_of_tau(bundled_fp32):
    settings = LESSON.settings
    trace = generate(bundled_fp32, LESSON.prompt, settings)
    notes = [step.notes["mirostat"] for step in trace.steps]
    assert len(notes) == settings.max_new_tokens
    # The surprise is the model's own: with every other stage off, -log2 of the chosen token's raw probability.
    for step, note in zip(trace.steps, notes, strict=True):
        raw = next(c for c in step.candidates if c.id == step.chosen.id).probs["raw"]
        assert note["surprise"] == pytest.approx(-math.log2(raw), abs=1e-3)
        assert note["mu_after"] == pytest.approx(note["mu"] - settings.mirostat_eta * (note["surprise"] - 2.0))
    mean = statistics.fmean(note["surprise"] for note in notes)
    assert abs(mean - settings.mirostat_tau) <= MIROSTAT_BAND, f"mean surprise {mean:.2f} bits"
    assert any(c.removed_by == "mirostat" for step in trace.steps for c in step.candidates), "the cut did cut"
    assert notes[0]["mu"] == 2 * settings.mirostat_tau and notes[-1]["mu_after"] > notes[0]["mu"]
