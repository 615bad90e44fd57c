"""The "Compress the prompt" tab's server side on the tiny model: the part to compress, the server's ratio range,
the token view, and both prompts' runs with the KL along the original's answer, stopped or not."""

import threading

import gradio as gr
import pytest

from playground.compress import Compression, PromptToken
from playground.compress.request import ALL_BUT_LAST, MARKED, WHOLE, checked_ratio, marked_part
from playground.settings import SettingsError
from playground.ui.compress_view import answers_html, compression_html, compression_line, kl_figure, prefill_line
from playground.ui.compressions import Ask, compressed, force_words, stages
from tests.ui.conftest import VALUES

PROMPT = "the cat sat on the mat. the dog ran to the park. where did the dog run?"


def test_the_marked_part_is_compressed_and_its_marks_are_removed():
    prompt, span = marked_part("keep this [[cut this]] and this", MARKED)
    assert prompt == "keep this cut this and this" and prompt[span[0] : span[1]] == "cut this"
    assert marked_part("a b. c?", WHOLE) == ("a b. c?", (0, 7))
    assert marked_part("a b. c?", ALL_BUT_LAST) == ("a b. c?", (0, 5))
    for bad in ("no marks", "]] reversed [[", "[[two]] [[marks]]", "empty [[]] part"):
        with pytest.raises(SettingsError, match=r"mark the part|is empty") as caught:
            marked_part(bad, MARKED)
        assert caught.value.field == "part"


@pytest.mark.parametrize("ratio", [0.0, 0.04, 1.01, "0.5", True, None])
def test_the_server_refuses_a_ratio_outside_its_range(ratio):
    with pytest.raises(SettingsError, match=r"from 0\.05 to 1\.0"):
        checked_ratio(ratio)
    assert checked_ratio(0.05) == 0.05 and checked_ratio(1) == 1.0


def test_force_words_are_separated_by_commas():
    assert force_words(" 1874, Ada ,, ") == ["1874", "Ada"] and force_words(None) == []


def token(text, loss, kept=True, compressible=True, forced=False):
    return PromptToken(id=0, text=text, loss=loss, kept=kept, compressible=compressible, forced=forced)


def test_every_token_is_shaded_by_its_chance_and_the_dropped_ones_struck_through():
    tokens = [
        token("Q", None, compressible=False),
        token(" rare", 4.0),  # p = 0.018: the darkest band
        token(" the", 0.01, kept=False),  # p = 0.99: no shade, struck through
        token(" 1874", 0.5, forced=True),
    ]
    compression = Compression(tokens, "Q rare 1874", [0, 0, 0], 0.5, 2 / 3, [(1, 4)], 0.25)
    shown = compression_html(compression)
    assert '<span class="tok outside" title="outside the part compressed: kept">Q</span>' in shown
    assert '<span class="tok p0" title="kept · loss 4.00 nats · p = 0.018"> rare</span>' in shown
    assert '<span class="tok p4 dropped" title="dropped · loss 0.01 nats · p = 0.990"> the</span>' in shown
    assert 'class="tok p3 forced" title="kept (forced) · loss 0.50 nats · p = 0.607"' in shown
    line = compression_line(compression)
    assert line.startswith("Kept 2 of the 3 tokens compressed, dropped 1: ratio 0.67 (asked 0.50)")
    assert "the prompt: 4 → 3 tokens" in line


def test_compressing_from_the_controls_gives_the_compressors_own_result(runs):
    values = {**VALUES, "prompt": "the [[cat sat on the mat and the dog ran]] far."}
    prompt, shown = runs.compressions.compress(values, 0.5, "dog", MARKED)
    assert prompt == "the cat sat on the mat and the dog ran far."
    forced = [t for t in shown.tokens if t.forced]
    assert "".join(t.text for t in forced) == "dog" and all(t.kept for t in forced)
    assert not any(t.compressible for t in shown.tokens[:4]) and not shown.tokens[-1].compressible
    with pytest.raises(gr.Error, match=r"from 0\.05 to 1\.0"):
        runs.compressions.compress(values, 0.01, "", MARKED)


def test_both_prompts_run_and_the_kl_is_compared_along_the_original_answer(runs):
    from playground.engine.compare import compare_path
    from playground.ui.controls import make_settings, single

    settings = make_settings(single(VALUES)).replace(max_new_tokens=6)
    prompt, compression = compressed(runs.gate, "tiny-random-llama", "fp32", PROMPT, settings, Ask(0.5))
    made = list(stages(runs.gate, "tiny-random-llama", "fp32", settings, prompt, compression, threading.Event()))
    assert [m.note.split()[0] for m in made] == ["Running", "Running", "Reading", "Done."]
    result = made[-1].result
    loaded = runs.gate.default
    assert result.original.prompt.text == prompt and result.compressed.prompt.text == compression.text
    expected = compare_path(
        loaded, settings, loaded, settings, result.original.prompt.token_ids, result.original.output.token_ids,
        b_prompt_ids=result.compressed.prompt.token_ids,
    )  # fmt: skip
    assert [s.kl for s in result.steps] == [s.kl for s in expected] and len(expected) == 6
    data = result.to_dict()
    assert data["prefill_tokens_saved"] == len(prompt) - len(compression.text) > 0  # one token a character
    assert data["original"]["prefill_s"] == result.original.timing.prefill_s > 0
    assert "saved" in prefill_line(result.original, result.compressed)
    assert kl_figure(result).data[0].y == tuple(s.js for s in result.steps)
    shown = answers_html(result.original, result.compressed)
    assert shown.count('class="answer"') == 2 and "not run yet" not in shown


def test_stopped_runs_keep_their_answers_and_leave_the_kl_out(runs):
    from playground.ui.controls import make_settings, single

    settings = make_settings(single(VALUES))
    prompt, compression = compressed(runs.gate, "tiny-random-llama", "fp32", PROMPT, settings, Ask(0.5))
    cancel = threading.Event()
    cancel.set()
    made = list(stages(runs.gate, "tiny-random-llama", "fp32", settings, prompt, compression, cancel))
    last = made[-1]
    assert last.note.startswith("Stopped") and last.result is None
    assert last.original.output.stop_reason == last.compressed.output.stop_reason == "cancelled"
    assert "not run yet" in answers_html(last.original, None)
