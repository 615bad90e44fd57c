"""A token's raw bytes, for the tokens whose text alone is not whole characters.

Byte-level tokenizers (GPT-2's, Llama 3's, SmolLM2's) split a character outside ASCII into several tokens when
no merge covers it ("日" is three); each such token decodes on its own to "�". The trace keeps their bytes so a
view can join a character's bytes across tokens. Two piece formats are read: GPT-2's printable stand-ins for
bytes, and SentencePiece's byte fallback ("<0xE6>"). The bytes are trusted only when they decode to the text the
tokenizer gave, so another format is left alone (its tokens keep their "�").
"""

from __future__ import annotations

import functools
import re

REPLACEMENT = "\ufffd"
BYTE_FALLBACK = re.compile(r"<0x([0-9A-Fa-f]{2})>")


@functools.cache
def byte_decoder() -> dict[str, int]:
    """GPT-2's map from the printable character that stands for a byte in a token's piece back to the byte.

    Printable Latin-1 bytes stand for themselves; the other 68 bytes take the characters from U+0100 on, in
    byte order (the map byte-level BPE tokenizers share).
    """
    kept = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    stand_in = {b: b for b in kept}
    for n, b in enumerate(b for b in range(256) if b not in stand_in):
        stand_in[b] = 256 + n
    return {chr(char): b for b, char in stand_in.items()}


def token_bytes(tokenizer, token_id: int, text: str) -> bytes | None:
    """The bytes of token `token_id`, whose text decoded on its own is `text`, when that text is not whole
    characters (it holds "�"); None otherwise, or when the tokenizer's piece does not spell bytes we can read."""
    if REPLACEMENT not in text:
        return None
    piece = tokenizer.convert_ids_to_tokens(token_id)
    if not isinstance(piece, str) or not piece:
        return None
    fallback = BYTE_FALLBACK.fullmatch(piece)
    if fallback:
        raw = bytes([int(fallback.group(1), 16)])
    else:
        decoder = byte_decoder()
        if not all(char in decoder for char in piece):
            return None
        raw = bytes(decoder[char] for char in piece)
    return raw if raw.decode("utf-8", errors="replace") == text else None
