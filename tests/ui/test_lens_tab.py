"""The "Logit lens" tab's views and the lens's figures and text, on a tiny model's run."""

import plotly.graph_objects as go

from playground.engine import generate
from playground.engine.logit_lens import lens_step
from playground.plots.logit_lens import chosen_figure, kl_figure, lens_heatmap, lens_table, top1_sentence
from playground.settings import Settings
from playground.ui.lens_tab import EMPTY, VIEWS, if_shown, lens_views
from tests.tiny import make_tiny_model, wrap_loaded


class OneModel:
    def __init__(self, loaded) -> None:
        self.loaded = loaded

    def load(self, model, precision):
        assert (model, precision) == (self.loaded.info.id, self.loaded.info.precision)
        return self.loaded


def tiny_run(tiny_tokenizer):
    loaded = wrap_loaded(make_tiny_model(tiny_tokenizer, seed=0, eos_boost=0.0), tiny_tokenizer)
    return loaded, generate(loaded, "Hi", Settings(max_new_tokens=4))


def test_the_views_draw_the_engines_lens_of_the_step(tiny_tokenizer):
    loaded, trace = tiny_run(tiny_tokenizer)
    slider, line, heatmap, chosen, kl = lens_views(OneModel(loaded), trace, 3)
    lens = lens_step(loaded, trace, 3)
    assert slider["value"] == 3 and slider["maximum"] == 4
    assert line == top1_sentence(lens)
    assert list(heatmap.data[0].y) == ["emb", "1", "2"]
    assert [list(row) for row in heatmap.data[0].z] == [[t.prob for t in row.top] for row in lens.layers]
    assert list(chosen.data[1].y) == [row.chosen_rank for row in lens.layers]
    assert list(kl.data[0].y) == [row.kl for row in lens.layers]


def test_no_run_draws_placeholders(tiny_tokenizer):
    _, line, heatmap, *_ = lens_views(None, None, 1)
    assert line == EMPTY and isinstance(heatmap, go.Figure)


def test_the_sentence_names_the_first_top1_layer_and_the_table_has_a_row_per_layer(tiny_tokenizer):
    loaded, trace = tiny_run(tiny_tokenizer)
    lens = lens_step(loaded, trace, 1)
    lens.first_top1_layer = 2
    assert "first becomes top-1 at layer 2 of 2" in top1_sentence(lens)
    lens.first_top1_layer = None
    assert "no layer ranks the chosen token" in top1_sentence(lens)
    table = lens_table(lens).splitlines()
    assert [line.split()[0] for line in table[1:-1]] == ["emb", "1", "2"]
    assert "<b>" in "".join(lens_heatmap(lens).data[0].text[-1]) or lens.layers[-1].chosen_rank > 10
    assert isinstance(chosen_figure(lens), go.Figure) and isinstance(kl_figure(lens), go.Figure)


def test_the_lens_makes_no_pass_while_its_tab_is_not_in_front(tiny_tokenizer):
    loaded, trace = tiny_run(tiny_tokenizer)
    drawn = []

    def draw(shown_trace, step):
        drawn.append(step)
        return lens_views(OneModel(loaded), shown_trace, step)

    hidden = if_shown(draw, False, trace, 2)
    assert drawn == [] and len(hidden) == len(VIEWS) and all(update == {"__type__": "update"} for update in hidden)
    assert if_shown(draw, True, trace, 2)[1] == top1_sentence(lens_step(loaded, trace, 2)) and drawn == [2]
