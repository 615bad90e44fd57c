"""What a prompt compression returns: every prompt token with its loss and fate, and the compressed prompt.

Plain data, JSON-ready (`to_dict` / `from_dict`), as a Trace is: the CLI's `--json`, the API and the page all read
this one record, and nothing downstream runs the model again to draw it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class PromptToken:
    """One token of the prompt (the user's message when chat is on)."""

    id: int
    text: str  # the token's text (tokenizer.decode([id]))
    # -log p(token | the kept tokens before it), nats; None where not scored (outside the compressible part, and
    # the very first token, which nothing predicts)
    loss: float | None
    kept: bool
    # inside the part being compressed; outside it a token is kept (ratio 1), as LLMLingua's budget controller
    # keeps the instruction and the question
    compressible: bool
    forced: bool  # matched force_tokens: never dropped


@dataclass
class Compression:
    """A compressed prompt and how it came about."""

    tokens: list[PromptToken]  # every token of the prompt (the user's message when chat is on), in order
    text: str  # the compressed prompt: tokenizer.decode(ids)
    ids: list[int]  # the kept tokens' ids, in order
    target: float  # the keep ratio asked for (of the compressible part), or budget / its tokens
    ratio: float  # achieved: kept / all, over the compressible part
    segments: list[tuple[int, int]]  # [start, end) token indexes of the segments scored in turn
    seconds: float  # the compression's own time

    @property
    def kept(self) -> int:
        """Tokens kept in the whole prompt (compressible or not)."""
        return len(self.ids)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: what `python -m playground compress --json` prints."""
        data = asdict(self)
        data["segments"] = [list(segment) for segment in self.segments]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Compression:
        """The Compression that `to_dict` wrote."""
        return cls(
            tokens=[PromptToken(**token) for token in data["tokens"]],
            text=data["text"],
            ids=list(data["ids"]),
            target=float(data["target"]),
            ratio=float(data["ratio"]),
            segments=[(int(start), int(end)) for start, end in data["segments"]],
            seconds=float(data["seconds"]),
        )
