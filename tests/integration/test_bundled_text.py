"""The Output's text on SmolLM2-135M-Instruct, whose byte-level tokenizer splits most CJK characters over
several tokens: joined for display, it is the text the tokenizer decodes from the same token ids.

At fp32: the thresholds count what the model writes, and nf4 writes differently on different CPUs."""

import html
import re

import pytest

from playground.characters import candidate_text, pending_before
from playground.engine import generate
from playground.settings import Settings
from playground.ui.tokens import trace_html

pytestmark = pytest.mark.integration


def page_text(trace) -> str:
    """The Output's text as a browser renders trace_html: the spans' contents."""
    return html.unescape(re.sub(r"<[^>]+>", "", trace_html(trace)))


def test_split_characters_are_joined_into_the_decoded_text(bundled_fp32):
    split = 0
    for prompt, tokens in [
        ("How do you write 'thank you' in Japanese?", 24),
        ("Say hello in Chinese characters.", 24),  # ends inside a character: the decoded text ends in "�"
        ("Write the word 'cat' in Japanese.", 20),
    ]:
        trace = generate(bundled_fp32, prompt, Settings(max_new_tokens=tokens))
        assert page_text(trace) == bundled_fp32.tokenizer.decode(trace.output.token_ids)
        assert len(re.findall(r'<span class="tok ', trace_html(trace))) == len(trace.steps)  # a span per token
        split += sum(step.chosen.bytes is not None for step in trace.steps)
    assert split >= 10, "these prompts make the model write characters its tokenizer splits"


def test_alternatives_inside_a_character_read_as_the_tokenizer_decodes_them(bundled_fp32):
    """Every recorded candidate that is part of a character, at every step, reads as what the tokenizer's own
    decode gains when that token follows the text so far: the characters it completes, then "�" for bytes it
    leaves unfinished (shown as its bytes in ‹›)."""
    decode = bundled_fp32.tokenizer.decode
    checked = completing = 0
    for prompt in ["How do you write 'thank you' in Japanese?", "Write the word 'water' in Chinese."]:
        trace = generate(bundled_fp32, prompt, Settings(max_new_tokens=16))
        ids = trace.output.token_ids
        for i, step in enumerate(trace.steps):
            pending = pending_before(trace.steps[:i])
            before = decode(ids[:i])
            stable = before[:-1] if pending else before  # the unfinished character decodes as one "�"
            for cand in step.candidates:
                if cand.bytes is None:
                    continue
                shown, unfinished = candidate_text(cand, pending).partition("‹")[::2]
                assert decode([*ids[:i], cand.id]) == stable + shown + ("\ufffd" if unfinished else ""), cand
                checked += 1
                completing += bool(shown) and not unfinished
    assert checked >= 50 and completing >= 10, (checked, completing)
