"""The automatic-draft lesson's claims on the bundled model, as worded: each round is marked with the draft that
made it (or as a plain step), sized by the cost curve the run measured; the email copies the note's facts, so
some rounds are copies found in the prompt; and the text is plain greedy decoding's (fp32)."""

from playground.engine import generate
from playground.engine.speculative import load_draft
from playground.trace import DRAFT_SOURCES
from playground.ui.presets import presets

PRESET = next(p for p in presets() if p.name == "Speculative decoding that picks its draft")


def test_rounds_name_their_draft_and_copies_come_from_the_note(bundled_fp32):
    settings = PRESET.settings.replace(measure_speedup=False, max_time=None)  # a loaded machine must not cut it
    trace = generate(bundled_fp32, PRESET.prompt, settings, draft=load_draft(settings, bundled_fp32))
    spec = trace.speculative
    assert spec.draft.source == "auto" and len(spec.cost_curve) >= 8 and spec.cost_curve[0] == 1.0
    assert all(r.source in DRAFT_SOURCES and r.cost == spec.cost_curve[len(r.tree) - 1] for r in spec.rounds)
    copies = [r for r in spec.rounds if r.source == "prompt-lookup" and r.lookup == "prompt"]
    assert any(r.accepted_count() >= 2 for r in copies), "some copy of the note's words is kept"
    plain = generate(bundled_fp32, PRESET.prompt, settings.replace(strategy="greedy"))
    assert trace.output.token_ids == plain.output.token_ids
