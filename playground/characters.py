"""Characters split over tokens, for display: a byte-level tokenizer cuts a character outside ASCII into tokens
that each decode to "�" on their own (their bytes are in the trace, `engine/token_bytes.py`). These functions
join such bytes back into characters, for the chosen tokens of a text and for a step's candidates."""

from __future__ import annotations

import codecs
from collections.abc import Iterable

from playground.trace import Candidate, Chosen, Step


class Characters:
    """Joins a character's bytes across the tokens that split it, one token at a time (so a streaming run and
    a finished trace show the same): a token that is only some bytes of a character shows nothing, the one
    that completes it shows the whole character. Bytes never completed show as "�" at the start of the next
    whole token, or at the end of the text."""

    def __init__(self) -> None:
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    @property
    def pending(self) -> bytes:
        """The bytes of a character begun by the tokens so far and not yet completed (b"" between characters)."""
        return self.decoder.getstate()[0]

    def shown(self, step: Step) -> str:
        """What the span of `step`, the next token, shows."""
        return self.piece(step.chosen.text, step.chosen.bytes)

    def piece(self, text: str, raw: str | None) -> str:
        """What the span of the next token shows: its `text`, or its bytes `raw` (hex) joined with those
        before them."""
        data = _bytes(raw)
        if data is None:
            left = self.decoder.decode(b"", final=True)  # "" unless bytes were left incomplete
            self.decoder.reset()
            return left + text
        return self.decoder.decode(data)

    def finish(self) -> str:
        """What is left once the text ends: "�" when it ended inside a character, else nothing."""
        return self.decoder.decode(b"", final=True)

    @classmethod
    def joined(cls, tokens: list[tuple[str, str | None]]) -> list[str]:
        """What each span of a whole text shows, from its tokens' (text, bytes as hex or None)."""
        chars = cls()
        shown = [chars.piece(text, raw) for text, raw in tokens]
        if shown:
            shown[-1] += chars.finish()
        return shown


def pending_before(steps: Iterable[Step]) -> bytes:
    """The bytes of an unfinished character that `steps`' chosen tokens end with (b"" when they end whole)."""
    chars = Characters()
    for step in steps:
        chars.shown(step)
    return chars.pending


def candidate_text(candidate: Candidate | Chosen, pending: bytes = b"") -> str:
    """What `candidate` (or the chosen token) would add to the text, after `pending` bytes of an unfinished
    character: its own text when that is whole characters; else the characters its bytes complete ("日" for the
    last byte of 日), then any bytes it leaves unfinished, as hex in ‹›: "‹e6 97›"."""
    data = _bytes(candidate.bytes)
    if data is None:
        return candidate.text
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    done = decoder.decode(pending + data)
    left = decoder.getstate()[0]
    if not done:  # still inside the character: the token's own bytes (the earlier ones are other tokens')
        left = data
    return done + (f"‹{left.hex(' ')}›" if left else "")


def _bytes(raw: str | None) -> bytes | None:
    try:
        return None if raw is None else bytes.fromhex(raw)
    except ValueError:  # not hex (a hand-edited file): the token's own text stands
        return None
