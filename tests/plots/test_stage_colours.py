"""The step view draws every stage the registry lists, in its own colour and named by its control (or its own label,
for a stage of several controls), from a run the engine recorded on a tiny random model (so a new stage is drawn from
its row alone: Top-H is the latest)."""

import pytest

from playground.engine import generate
from playground.knobs import BY_NAME as KNOBS
from playground.palette import GREY
from playground.plots import stage_figure
from playground.settings import Settings
from playground.stages import CHAIN

# Every stage switched on; Top-H's small share keeps a few of the tiny model's nearly uniform 101 tokens.
ALL_ON = dict(strategy="sample", temperature=0.7, top_h=0.1, top_k=50, top_p=0.99, min_p=0.001, typical_p=0.99)
ALL_ON |= dict(smoothing_factor=0.05, top_n_sigma=3.0, xtc_probability=0.5)
ALL_ON |= dict(epsilon_cutoff=0.0001, eta_cutoff=0.0001, repetition_penalty=1.3, no_repeat_ngram_size=2)
ALL_ON |= dict(min_new_tokens=3, presence_penalty=0.5, frequency_penalty=0.1, dry_multiplier=0.8, seed=0)
ALL_ON |= dict(max_new_tokens=3, chat=False, mirostat=2)


# Mirostat is refused beside XTC, and dynamic temperature takes the temperature's place: two runs draw every stage.
@pytest.mark.parametrize(("left_out", "changes"), [
    (("mirostat", "dynatemp"), dict(mirostat=0)),
    (("xtc", "temperature"), dict(xtc_probability=0.0, dynatemp_range=0.3)),
])  # fmt: skip
def test_the_step_view_draws_every_stage_in_its_colour_under_its_label(tiny_loaded, left_out, changes):
    trace = generate(tiny_loaded, "the cat sat", Settings(**(ALL_ON | changes)))
    drawn = [spec for spec in CHAIN if spec.name not in left_out]
    assert list(trace.steps[0].candidates[0].probs) == ["raw", *(spec.name for spec in drawn), "final"]
    bars = {bar.name: bar.marker.color for bar in stage_figure(trace, 0).data if bar.type == "bar"}
    assert bars == {"raw": GREY, **{f"after {spec.label or KNOBS[spec.knob].label}": spec.colour for spec in drawn}}


def test_the_step_view_marks_the_tokens_top_h_removed(tiny_loaded):
    trace = generate(tiny_loaded, "the cat sat", Settings(strategy="sample", top_k=0, top_h=0.1, max_new_tokens=2))
    step = trace.steps[0]
    assert any(c.removed_by == "top_h" for c in step.candidates)
    fig = stage_figure(trace, 0)
    assert "✂ Top-H" in [a.text for a in fig.layout.annotations]
    assert [bar.name for bar in fig.data if bar.type == "bar"] == ["raw", "after Top-H"]
