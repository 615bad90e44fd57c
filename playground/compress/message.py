"""The prompt's tokens as the model reads them for compression: the context before the message (the chat
template's prefix, a BOS the tokenizer adds), the message's own tokens, and each one's characters in it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

from playground.settings import SettingsError

MARKER = "\ue000prompt\ue000"  # private-use characters: no prompt holds them by chance (as context.render_prompt)


class MessageTokens(NamedTuple):
    """The message's tokens and what the model reads before them."""

    context: list[int]  # read before the message, never compressed: the template's prefix or a BOS
    ids: list[int]  # the message's tokens
    offsets: list[tuple[int, int]]  # [start, end) characters of the message that each token spells


def message_tokens(tokenizer, text: str, chat: bool) -> MessageTokens:
    """Tokenizes `text` as the model reads it: with chat on, after the chat template's prefix for one user turn
    (rendered around a marker, as `context.render_prompt` does; a control token spelled in the message is read as
    text); with chat off, after what the tokenizer adds in front (a BOS).

    Raises:
        SettingsError("chat") when chat is on and the tokenizer has no template, or one that rewrites the message.
    """
    if not getattr(tokenizer, "is_fast", False):
        raise SettingsError("model", "compression needs a fast tokenizer (one that gives character offsets)")
    if not chat:
        own = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        full = tokenizer(text)["input_ids"]
        ids = own["input_ids"]
        front = next((k for k in range(len(full) - len(ids) + 1) if full[k : k + len(ids)] == ids), 0)
        return MessageTokens(full[:front], ids, [tuple(pair) for pair in own["offset_mapping"]])
    if not getattr(tokenizer, "chat_template", None):
        raise SettingsError("chat", "chat is on, but this model's tokenizer has no chat template")
    turn = [{"role": "user", "content": MARKER}]
    around = tokenizer.apply_chat_template(turn, add_generation_prompt=True, tokenize=False)
    rendered = tokenizer.apply_chat_template(
        [{"role": "user", "content": text}], add_generation_prompt=True, tokenize=False
    )
    if around.count(MARKER) != 1 or around.replace(MARKER, text) != rendered:
        raise SettingsError("chat", "this model's chat template rewrites the message: compress with chat off")
    before = around.split(MARKER)[0]
    context = tokenizer(before, add_special_tokens=False)["input_ids"]
    own = tokenizer(text, add_special_tokens=False, split_special_tokens=True, return_offsets_mapping=True)
    return MessageTokens(context, own["input_ids"], [tuple(pair) for pair in own["offset_mapping"]])


def in_span(offsets: Sequence[tuple[int, int]], start: int, end: int) -> list[bool]:
    """Which tokens belong to the characters [start, end): those whose last character lies there (a token that
    spells a space and a word belongs where its word is), or, spelling none, whose position does."""
    return [start <= max(first, last - 1) < end for first, last in offsets]


def forced_tokens(offsets: Sequence[tuple[int, int]], text: str, words: Sequence[str]) -> list[bool]:
    """Which tokens spell part of an occurrence of one of `words` in `text` (a word that starts or ends with a
    letter or digit matches only as a whole word: "cat" is not forced inside "concatenate")."""
    hits: list[tuple[int, int]] = []
    for word in words:
        head = r"(?<!\w)" if re.match(r"\w", word[0]) else ""
        tail = r"(?!\w)" if re.match(r"\w", word[-1]) else ""
        hits += [match.span() for match in re.finditer(head + re.escape(word) + tail, text)]
    return [any(first < hit_end and last > hit_start for hit_start, hit_end in hits) for first, last in offsets]
