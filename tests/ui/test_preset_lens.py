"""The logit lens lesson at fp32 on the embedded model: greedy answers " Paris", the tab's sentence names the layer
the engine computes, that layer is the first whose hand-decoded hidden state ranks " Paris" first, and it is one
of the last few layers, as the lesson says."""

import torch

from playground.engine import generate
from playground.engine.logit_lens import lens_step
from playground.plots.logit_lens import top1_sentence
from playground.ui.lens_tab import lens_views
from playground.ui.presets import CAPITAL, LENS_LESSON, presets

LESSON = next(p for p in presets() if p.name == LENS_LESSON)
LAST_FEW = 3  # "one of the last few layers"


class Served:
    def __init__(self, loaded) -> None:
        self.loaded = loaded

    def load(self, model, precision):
        return self.loaded


@torch.no_grad()
def first_top1_by_hand(loaded, ids: list[int], token: int) -> int | None:
    """The first layer (from 1) whose hidden state, through the final norm and head, ranks `token` first;
    transformers' last hidden state is already normed."""
    model = loaded.model
    hidden = model(input_ids=torch.tensor([ids]), output_hidden_states=True).hidden_states
    rows = [model.lm_head(model.model.norm(h[0, -1])) for h in hidden[1:-1]] + [model.lm_head(hidden[-1][0, -1])]
    return next((layer for layer, row in enumerate(rows, start=1) if row.argmax().item() == token), None)


def test_the_lesson_shows_the_layer_where_paris_becomes_top1(bundled_fp32):
    assert LESSON.prompt == CAPITAL and LESSON.precision == "fp32"
    assert LESSON.settings.strategy == "greedy" and LESSON.settings.chat is False
    trace = generate(bundled_fp32, LESSON.prompt, LESSON.settings)
    assert trace.steps[0].chosen.text == " Paris"
    lens = lens_step(bundled_fp32, trace, 1)
    _, line, heatmap, *_ = lens_views(Served(bundled_fp32), trace, 1)
    assert line == top1_sentence(lens) and f"at layer {lens.first_top1_layer} of" in line
    assert lens.first_top1_layer == first_top1_by_hand(bundled_fp32, trace.prompt.token_ids, trace.steps[0].chosen.id)
    assert lens.num_layers - LAST_FEW < lens.first_top1_layer <= lens.num_layers
    assert len(heatmap.data[0].y) == lens.num_layers + 1
    assert '" Paris"' in LESSON.lesson and "Logit lens" in LESSON.lesson
