"""The Output's text on SmolLM2-135M-Instruct, whose byte-level tokenizer splits most CJK characters over
several tokens: joined for display, it is the text the tokenizer decodes from the same token ids."""

import html
import re

import pytest

from playground.engine import generate
from playground.settings import Settings
from playground.ui.tokens import trace_html

pytestmark = pytest.mark.integration


def page_text(trace) -> str:
    """The Output's text as a browser renders trace_html: the spans' contents."""
    return html.unescape(re.sub(r"<[^>]+>", "", trace_html(trace)))


def test_split_characters_are_joined_into_the_decoded_text(bundled_nf4):
    split = 0
    for prompt, tokens in [
        ("How do you write 'thank you' in Japanese?", 24),
        ("Say hello in Chinese characters.", 24),  # ends inside a character: the decoded text ends in "�"
        ("Write the word 'cat' in Japanese.", 20),
    ]:
        trace = generate(bundled_nf4, prompt, Settings(max_new_tokens=tokens))
        assert page_text(trace) == bundled_nf4.tokenizer.decode(trace.output.token_ids)
        assert len(re.findall(r'<span class="tok ', trace_html(trace))) == len(trace.steps)  # a span per token
        split += sum(step.chosen.bytes is not None for step in trace.steps)
    assert split >= 10, "these prompts make the model write characters its tokenizer splits"
