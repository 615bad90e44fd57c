"""The page's event functions, called directly: control values to Settings, streamed pairs, errors as gr.Error."""

import gradio as gr
import pytest

from playground.ui.callbacks import make_settings, run_generation, split_phrases, split_sets

CONTROLS = ("greedy", 1.0, 1.0, 50.0, 1.0, 8.0, 4.0, 0.0)  # a browser sends whole numbers as floats


def test_whole_floats_become_ints_and_fractions_are_named():
    settings = make_settings(*CONTROLS)
    assert (settings.top_k, settings.max_new_tokens, settings.num_beams, settings.seed) == (50, 8, 4, 0)
    with pytest.raises(ValueError, match=r"top_k must be a whole number, got 2\.5"):
        make_settings("sample", 1.0, 1.0, 2.5, 1.0, 8, 4, 0)


def test_run_streams_text_and_status_then_a_summary(tiny_loaded):
    pairs = list(run_generation(tiny_loaded, "the cat", *CONTROLS))
    steps = len(pairs) - 1
    assert [status for _, status, _ in pairs[:-1]] == [f"Generating… step {i}" for i in range(1, steps + 1)]
    assert all(trace is None for _, _, trace in pairs[:-1])
    text, status, trace = pairs[-1]
    assert trace.output.text == text
    assert text == pairs[-2][0] and status.startswith(f"{steps} tokens · ") and "tokens/s" in status
    assert status.endswith(("stopped: max new tokens reached", "stopped: end of sequence"))


def test_bad_value_becomes_a_gradio_error_with_markup_escaped(tiny_loaded):
    with pytest.raises(gr.Error) as err:
        list(run_generation(tiny_loaded, "hi", "<b>beam</b>", *CONTROLS[1:]))
    expected = "strategy must be one of greedy, sample, beam, constrained, speculative, got '&lt;b&gt;beam&lt;/b&gt;'"
    assert expected in err.value.message


def test_constraint_inputs_are_split_into_phrases_and_sets():
    assert split_phrases("umbrella, rainy day\n\n old boot ") == ("umbrella", "rainy day", "old boot")
    assert split_sets("red | blue|green\n\nyes|no") == (("red", "blue", "green"), ("yes", "no"))
    assert split_sets("red || blue") == (("red", "", "blue"),)
    settings = make_settings("constrained", *CONTROLS[1:], "umbrella", "red | blue")
    assert settings.force_words == ("umbrella",) and settings.force_one_of == (("red", "blue"),)


def test_status_line_reports_constraints_and_draft_acceptance(tiny_loaded):
    constrained = list(run_generation(tiny_loaded, "the cat", "constrained", *CONTROLS[1:], "dog", ""))[-1][1]
    assert "· constraints met" in constrained
    impossible = ("constrained", 1.0, 1.0, 50, 1.0, 2, 4, 0, "elephant", "")
    assert "constraints NOT met" in list(run_generation(tiny_loaded, "the cat", *impossible))[-1][1]
    speculative = ("speculative", 1.0, 1.0, 50, 1.0, 8, 4, 0, "", "", "prompt-lookup", 3, False)
    assert "of draft tokens accepted" in list(run_generation(tiny_loaded, "the cat", *speculative))[-1][1]
