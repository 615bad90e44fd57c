"""The XTC lesson's claims on the bundled model, as worded: the overview marks the steps where XTC excluded tokens;
at each of them the step view says what it excluded (its bars marked ✂ XTC) and the token taken is not the model's
first choice; and the run with XTC at 0 and the same seed is the same text until the two part at a marked step."""

from playground.engine import generate
from playground.plots.stage_notes import note_lines, note_series
from playground.ui.presets import presets

PRESET = next(p for p in presets() if p.name == "XTC: creative by excluding the obvious")


def test_each_marked_step_says_what_it_excluded_and_takes_another_token_than_the_models_first(bundled_fp32):
    settings = PRESET.settings.replace(max_new_tokens=24, chat=True)
    trace = generate(bundled_fp32, PRESET.prompt, settings)
    (series,) = note_series(trace)
    marked = [step for step, mark in zip(series.steps, series.values, strict=True) if mark]  # 1-based
    assert marked, "the overview marks some step"
    for step in (trace.steps[number - 1] for number in marked):
        first = step.candidates[0]  # ranked by the model's own distribution
        assert first.id in step.notes["xtc"]["excluded"] and first.removed_by == "xtc"
        assert any(line.startswith("XTC fired: excluded ") for line in note_lines(trace, step.index))
        assert step.chosen.id != first.id and step.chosen.id not in step.notes["xtc"]["excluded"]
    # A coin that fired with fewer than two tokens above 10% is not marked (the lesson claims nothing there).
    assert all(s.index + 1 not in marked for s in trace.steps if not s.notes["xtc"]["excluded"])
    plain = generate(bundled_fp32, PRESET.prompt, settings.replace(xtc_probability=0.0))
    pairs = zip(plain.output.token_ids, trace.output.token_ids, strict=False)
    parted = next(number for number, (a, b) in enumerate(pairs, start=1) if a != b)  # the obvious version differs
    assert parted in marked, f"the texts part at step {parted}, which the overview does not mark ({marked})"
