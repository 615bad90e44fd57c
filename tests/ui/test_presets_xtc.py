"""The XTC lesson's claim on the bundled model: at every step where its coin fired and two or more tokens reached
the threshold, the token taken is not the model's first choice, which XTC excluded (and the step view marks so)."""

from playground.engine import generate
from playground.ui.presets import presets

PRESET = next(p for p in presets() if p.name == "XTC: creative by excluding the obvious")


def test_a_fired_step_never_takes_the_models_first_choice(bundled_fp32):
    settings = PRESET.settings.replace(max_new_tokens=24, chat=True)
    trace = generate(bundled_fp32, PRESET.prompt, settings)
    fired = [s for s in trace.steps if s.notes["xtc"]["fired"] and s.notes["xtc"]["above"] >= 2]
    assert fired, "the coin fires at some step where two tokens reach 10%"
    for step in fired:
        first = step.candidates[0]  # ranked by the model's own distribution
        assert first.id in step.notes["xtc"]["excluded"] and first.removed_by == "xtc"
        assert step.chosen.id != first.id and step.chosen.id not in step.notes["xtc"]["excluded"]
    # Without XTC the same seed takes the first choice at some of those steps: the lesson's "obvious version".
    plain = generate(bundled_fp32, PRESET.prompt, settings.replace(xtc_probability=0.0))
    assert plain.output.token_ids != trace.output.token_ids
