"""The token probe's and the entropy map's lessons: what each says to look at is what the engine gives at fp32."""

import pytest

from playground.engine.probe import probe
from playground.plots.entropy_map import region
from playground.ui.presets import ENTROPY_LESSON, PROBE_LESSON, presets
from tests.helpers import run


def lesson(name: str):
    return next(p for p in presets() if p.name == name)


@pytest.fixture(scope="module")
def probe_run(bundled_fp32):
    return run(bundled_fp32, lesson(PROBE_LESSON).prompt, lesson(PROBE_LESSON).settings)


def test_the_probe_lesson_finds_maybe_where_no_view_shows_it(bundled_fp32, probe_run):
    preset = lesson(PROBE_LESSON)
    assert preset.precision == "fp32" and probe_run.output.text.startswith("No")
    settings, ids = preset.settings, (probe_run.prompt.token_ids, probe_run.output.token_ids)
    bare = probe(bundled_fp32, settings, *ids, "Maybe", space=False)
    first = probe_run.steps[0]
    assert len(first.candidates) == 20 and bare.token_ids[0] not in {c.id for c in first.candidates}
    assert 100 <= bare.steps[0].ranks["raw"] < 1000 and bare.steps[0].probs["raw"] > 0  # "in the hundreds"
    spaced = probe(bundled_fp32, settings, *ids, "Maybe")
    assert spaced.form == " Maybe" and spaced.token_ids != bare.token_ids
    assert spaced.steps[0].probs["raw"] < bare.steps[0].probs["raw"] / 100  # "far less likely there"
    berry = probe(bundled_fp32, settings, *ids, "Blueberry")
    assert len(berry.token_ids) == 2 and all(row.word_probs is not None for row in berry.steps)
    assert "20 candidates" in preset.lesson and "untick After a space" in preset.lesson


def test_the_entropy_lesson_has_sure_copied_words_a_fork_at_step_1_and_an_unsure_step(bundled_fp32):
    preset = lesson(ENTROPY_LESSON)
    trace = run(bundled_fp32, preset.prompt, preset.settings)
    regions = {step.chosen.text: region(step.entropy, step.varentropy).key for step in trace.steps}
    assert regions[" lazy"] == regions[" dog"] == "LELV"
    assert region(trace.steps[0].entropy, trace.steps[0].varentropy).key == "LEHV"
    assert "HEHV" in regions.values()
