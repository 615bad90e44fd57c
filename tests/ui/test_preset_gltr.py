"""The GLTR lesson's claim, against the engine at the lesson's precision (fp32, the same on any CPU): the model's
own text has a far larger share of top-10 tokens than the sentence a person wrote in the prompt."""

from playground.engine import generate
from playground.engine.prompt_figures import prompt_figures
from playground.ui.colour_by import gltr_bucket
from playground.ui.presets import GLTR_LESSON, presets

LESSON = next(p for p in presets() if p.name == GLTR_LESSON)


def top_10_share(ranks: list[int]) -> float:
    return sum(gltr_bucket(r) == "r0" for r in ranks) / len(ranks)


def test_the_models_text_is_mostly_top_10_and_the_persons_sentence_is_not(bundled_fp32):
    assert LESSON.precision == "fp32" and not LESSON.settings.chat  # the prompt is the sentence alone
    trace = generate(bundled_fp32, LESSON.prompt, LESSON.settings)
    own = top_10_share([step.chosen.rank for step in trace.steps])
    typed = top_10_share([token.rank for token in prompt_figures(bundled_fp32, trace.prompt.token_ids)[1:]])
    assert own >= 0.6 and typed <= 0.5 and own - typed >= 0.2, (own, typed)
    buckets = {gltr_bucket(token.rank) for token in prompt_figures(bundled_fp32, trace.prompt.token_ids)[1:]}
    assert {"r1", "r2"} <= buckets  # the yellow and vermillion the lesson points to
    assert "GLTR rank" in LESSON.lesson and "Colour the prompt" in LESSON.lesson
