"""Small page events, called directly: a click on an Output token, the controls a strategy shows."""

import gradio as gr

from playground.engine import generate
from playground.knobs import BY_NAME
from playground.settings import Settings
from playground.ui.events import select_step, show_controls


def click(index):
    return gr.SelectData(None, {"index": index, "value": "tok"})


def test_clicking_a_token_opens_its_step_and_odd_clicks_change_nothing(tiny_loaded):
    trace = generate(tiny_loaded, "the cat", Settings(chat=False, max_new_tokens=5, min_new_tokens=5))
    step, tabs = select_step(trace, click(2))
    assert step["value"] == 3 and tabs.selected == "distributions"
    assert select_step(trace, click(99))[0]["value"] == 5  # clamped to the last step
    for odd in ("2", None, True, 2.5):
        assert select_step(trace, click(odd)) == (gr.update(), gr.update())
    assert select_step(None, click(0)) == (gr.update(), gr.update())


# One knob of each group the page shows or hides: constrained row, speculative row, sampling group, beam group
GROUPS = [BY_NAME[name] for name in ("force_words", "draft_model", "min_p", "num_beams")]


def test_each_strategy_shows_its_own_controls():
    rows = {
        strategy: [u.get("visible") for u in show_controls(GROUPS, strategy, False)[:4]]
        for strategy in ("greedy", "sample", "beam", "constrained", "speculative")
    }
    assert rows == {
        "greedy": [False, False, False, False],
        "sample": [False, False, True, False],
        "beam": [False, False, False, True],
        "constrained": [True, False, False, True],
        "speculative": [False, True, False, False],
    }
    assert show_controls(GROUPS, "speculative", True)[2]["visible"] is True  # speculative sampling uses the filters
    assert show_controls(GROUPS, "speculative", True)[-1].startswith("**Speculative decoding.**")
