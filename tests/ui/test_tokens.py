"""The Output's token HTML, built from hand-made steps: bands, hover cards, escaping."""

import html
import itertools
import json
import re

from hypothesis import assume, given
from hypothesis import strategies as st

from playground.characters import Characters
from playground.trace import Candidate, Chosen, Comparison, OutputInfo, Step
from playground.ui.tokens import (
    LEGEND,
    aligned_html,
    alternatives,
    band,
    hover_card,
    next_span,
    plain_text,
    token_span,
    trace_html,
)
from tests.helpers import byte_candidate


def step(index, text, prob, alternatives):
    """A step whose final distribution is `alternatives` (text -> prob), `text` chosen."""
    candidates = [
        Candidate(id=i, text=t, logit=0.0, probs={"raw": p, "final": p}, removed_by=None)
        for i, (t, p) in enumerate(alternatives.items())
    ]
    chosen_id = next(c.id for c in candidates if c.text == text)
    return Step(index=index, chosen=Chosen(id=chosen_id, text=text, prob=prob), entropy=1.25, candidates=candidates)


def test_bands_split_probability_at_5_20_50_and_90_percent():
    assert [band(p) for p in (0.0, 0.049, 0.05, 0.19, 0.2, 0.5, 0.89, 0.9, 1.0)] == [
        "p0", "p0", "p1", "p1", "p2", "p3", "p3", "p4", "p4",
    ]  # fmt: skip
    assert all(f'class="tok {b}"' in LEGEND for b in ("p0", "p1", "p2", "p3", "p4"))


def test_hover_card_lists_the_top_alternatives_by_final_probability_and_marks_the_chosen_one():
    s = step(6, " cat", 0.2, {" dog": 0.5, " cat": 0.2, "\n": 0.1, " a": 0.05, " the": 0.04, " x": 0.01})
    lines = hover_card(s).splitlines()
    assert lines[0] == "step 7 · p = 0.200 · entropy 1.25 nats"
    assert lines[1] == "rank not recorded · 2.32 bits · varentropy not recorded"  # a trace without them
    assert [line[2:].split()[0] for line in lines[2:]] == ["␣dog", "␣cat", "⏎", "␣a", "␣the"]  # five, best first
    assert lines[3].startswith("▸ ␣cat") and not lines[2].startswith("▸")


def test_token_text_and_card_are_escaped():
    s = step(0, '<b>"hi"</b>', 0.95, {'<b>"hi"</b>': 0.95, "&": 0.05})
    span = token_span(s)
    assert '<span class="tok p4 nr-rank e1 s0" data-step="0" data-tip="' in span
    assert "<b>" not in span and "&lt;b&gt;&quot;hi&quot;&lt;/b&gt;" in span
    tip = re.search(r'data-tip="([^"]*)"', span).group(1)
    assert html.unescape(tip) == hover_card(s)


def test_a_click_offers_the_five_likeliest_tokens_not_taken_with_ids_for_the_branch():
    s = step(3, " cat", 0.2, {" dog": 0.5, " cat": 0.2, "\n": 0.1, " a": 0.05, " the": 0.04, " x": 0.01, "<": 0.001})
    assert alternatives(s) == [[0, "␣dog", 0.5], [2, "⏎", 0.1], [3, "␣a", 0.05], [4, "␣the", 0.04], [5, "␣x", 0.01]]
    # In the span as JSON, escaped for the attribute: the page's script reads it back with JSON.parse.
    alts = re.search(r'data-alts="([^"]*)"', token_span(s)).group(1)
    assert json.loads(html.unescape(alts)) == alternatives(s)
    assert alternatives(step(0, "a", 1.0, {"a": 1.0})) == []  # a sure step offers nothing


class FakeTrace:
    def __init__(self, steps, text):
        self.steps = steps
        self.output = OutputInfo(text=text, token_ids=[], stop_reason="eos")


def test_trace_html_is_one_span_per_step_or_plain_text_without_steps():
    steps = [step(0, "Hi", 0.6, {"Hi": 0.6, "Yo": 0.4}), step(1, "!", 0.01, {".": 0.99, "!": 0.01})]
    shown = trace_html(FakeTrace(steps, "Hi!"))  # the run ended on EOS: its last token is marked
    assert shown == token_span(steps[0]) + token_span(steps[1], " eos")
    found = re.findall(r'class="tok ([^"]*)" data-step="(\d)"', shown)
    assert found == [("p3 nr-rank e1 s0", "0"), ("p0 nr-rank e1 s3 eos", "1")]  # a band per "Colour by" mode
    assert trace_html(FakeTrace([], "a < b")) == '<span class="plain">a &lt; b</span>'
    assert trace_html(None) == "" and plain_text("") == ""


def byte_step(index, raw: bytes):
    """A step whose token is the bytes `raw`, not whole characters: its own text has a "�"."""
    text = raw.decode("utf-8", errors="replace")
    chosen = Chosen(id=100 + index, text=text, prob=0.5, bytes=raw.hex() if "\ufffd" in text else None)
    return Step(index=index, chosen=chosen, entropy=1.0, candidates=[])


def test_a_character_split_over_tokens_shows_once_and_every_token_keeps_its_span():
    # " 日" as three byte tokens (as SmolLM2's tokenizer splits it), then "本" whole, then "é" as two.
    raws = [b" \xe6", b"\x97", b"\xa5", "本".encode(), b"\xc3", b"\xa9"]
    steps = [byte_step(i, raw) for i, raw in enumerate(raws)]
    shown = trace_html(FakeTrace(steps, " 日本é"))
    spans = re.findall(r'<span class="tok ([^"]*)" data-step="(\d)"[^>]*>([^<]*)</span>', shown)
    assert [text for _, _, text in spans] == [" ", "", "日", "本", "", "é"]
    assert "".join(text for _, _, text in spans) == b"".join(raws).decode()
    assert [step_ for _, step_, _ in spans] == ["0", "1", "2", "3", "4", "5"]  # one span per token
    assert [("bytes" in c, "part" in c) for c, _, _ in spans] == [
        (True, False), (True, True), (True, False), (False, False), (True, True), (True, False)
    ]  # fmt: skip
    assert "bytes e6 97 a5" not in shown and "bytes 97: part of a character split over tokens" in html.unescape(shown)


def test_bytes_that_never_complete_a_character_show_as_one_replacement_character():
    steps = [byte_step(0, b"\xe6\x97"), byte_step(1, b"a"), byte_step(2, b"\xc3")]
    spans = re.findall(r">([^<]*)</span>", trace_html(FakeTrace(steps, "")))
    # The cut character shows at the next whole token, and at the end when the run ended inside one.
    assert spans == ["", "\ufffda", "\ufffd"]


def test_streaming_joins_the_same_way_as_the_finished_trace():
    steps = [byte_step(i, raw) for i, raw in enumerate([b"\xf0\x9f", b"\x99", b"\x82", b"!"])]
    chars = Characters()
    streamed = "".join(next_span(chars, s) for s in steps)
    finished = trace_html(FakeTrace(steps, "🙂!")).replace(" eos", "")  # the finished run marks its end
    assert streamed == finished and ">🙂<" in streamed


@given(data=st.binary(max_size=48), cuts=st.lists(st.integers(min_value=1, max_value=47), max_size=24))
def test_joined_tokens_read_as_the_whole_text_decoded_at_once(data, cuts):
    """However a byte string is cut into tokens, the spans read as the string decoded in one go (a byte-level
    tokenizer's decode): a token's bytes are recorded exactly when its own text is not whole characters."""
    edges = sorted({0, len(data), *(c for c in cuts if c < len(data))})
    raws = [data[a:b] for a, b in itertools.pairwise(edges)]
    assume(raws)  # an empty string makes no token
    steps = [byte_step(i, raw) for i, raw in enumerate(raws)]
    spans = re.findall(r">([^<]*)</span>", trace_html(FakeTrace(steps, "")))
    assert len(spans) == len(raws) and html.unescape("".join(spans)) == data.decode("utf-8", errors="replace")


def test_the_compare_rows_join_split_characters_too():
    a_steps = [byte_step(i, raw) for i, raw in enumerate([b"\xe6\x97", b"\xa5", b"!"])]
    b_raws = [b"\xe6", b"\x97\xa5", b"?"]
    b_texts = [raw.decode("utf-8", errors="replace") for raw in b_raws]
    b_bytes = [raw.hex() if "\ufffd" in text else None for raw, text in zip(b_raws, b_texts, strict=True)]
    comparison = Comparison("a", "m", "nf4", {}, [], [1, 2, 3], b_texts, 2, b_bytes)
    rows = re.findall(r'<span class="text">(.*?)</span></div>', aligned_html(FakeTrace(a_steps, ""), comparison))
    assert [re.findall(r">([^<]*)</span>", row) for row in rows] == [["", "日", "!"], ["", "日", "?"]]
    older = Comparison("a", "m", "nf4", {}, [], [1, 2, 3], b_texts, 2)  # a file from before b_bytes
    assert "\ufffd" in aligned_html(FakeTrace(a_steps, ""), older).split('class="side">B')[1]


def test_alternatives_inside_a_character_read_as_what_they_would_add():
    # "日" as e6 | 97 a5; at step 2 the model could also have finished "旧" (e6 97 a7) or gone on with e6 97 only.
    first = byte_step(0, b"\xe6")
    options = [
        byte_candidate(1, b"\x97\xa5", 0.6),
        byte_candidate(2, b"\x97\xa7", 0.3),
        byte_candidate(3, b"\x97", 0.05),
        byte_candidate(4, b"!", 0.05),
    ]
    second = Step(index=1, chosen=Chosen(id=1, text="\ufffd", prob=0.6, bytes="97a5"), entropy=1.0, candidates=options)
    spans = trace_html(FakeTrace([first, second], "日"))
    alts = json.loads(html.unescape(re.findall(r'data-alts="([^"]*)"', spans)[1]))
    assert alts == [[2, "旧", 0.3], [3, "‹97›", 0.05], [4, "!", 0.05]]
    card = html.unescape(re.findall(r'data-tip="([^"]*)"', spans)[1]).splitlines()
    assert [line[2:].split()[0] for line in card[3:]] == ["日", "旧", "‹97›", "!"]  # after its figures, bytes
    # Streaming builds the same spans.
    chars = Characters()
    assert next_span(chars, first) + next_span(chars, second) == spans.replace(" eos", "")
