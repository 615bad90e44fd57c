"""LLMLingua's iterative token-level compression with the loaded model as the small model.

The compressible part of the prompt is cut into segments of `segment_size` tokens. Each segment is scored after
the already compressed text before it (a KV cache of the kept tokens only): its per-token loss
-log p(x_i | kept tokens before it) decides, through `select.keep_mask`, which of its tokens stay. Tokens outside
the compressible part are kept and condition the ones after them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from playground.compress.result import Compression

if TYPE_CHECKING:
    from playground.models import LoadedModel

# Where a sentence ends: its closing punctuation (and any closing quote or bracket) then white space, or a line break.
SENTENCE_END = re.compile(r"[.!?][\"')\]]*\s+|\n+")


def default_span(prompt: str) -> tuple[int, int]:
    """[start, end) characters of `prompt` to compress by default: everything but the last sentence (the question,
    as a long context usually ends). A prompt of one sentence is compressed whole."""
    body = prompt.rstrip()
    ends = [match.end() for match in SENTENCE_END.finditer(body) if match.end() < len(body)]
    return (0, ends[-1]) if ends else (0, len(prompt))


def compress_prompt(
    loaded: LoadedModel,
    prompt: str,
    ratio: float = 0.5,
    *,
    budget: int | None = None,
    span: tuple[int, int] | None = None,
    force_tokens: Sequence[str] = (),
    segment_size: int = 200,
    chat: bool = True,
    progress: Callable[[float], None] | None = None,
) -> Compression:
    """Compresses `prompt` as LLMLingua does: drops, segment by segment, the tokens the model finds most predictable
    given the already compressed text before them.

    Args:
        loaded: the model that scores the tokens (its lock is held while it is used).
        prompt: the text (with chat on, the user's message, scored after the chat template's prefix).
        ratio: the share of the compressible part's tokens to keep, in (0, 1].
        budget: tokens of the compressible part to keep instead of a ratio (>= 1; more than it has keeps all).
        span: [start, end) character offsets in `prompt` of the part to compress; None: `default_span(prompt)`.
        force_tokens: words never dropped: every token of each occurrence of a word in the prompt is kept.
        segment_size: tokens per segment (LLMLingua: 200), >= 2.
        chat: render the chat template around the prompt (the model must have one).
        progress: called with the share of segments done after each segment.

    Returns:
        The Compression: every token with its loss and whether it was kept, the compressed text and ids.

    Raises:
        SettingsError naming the bad knob: ratio outside (0, 1], budget < 1, span out of range or empty,
        segment_size < 2, an empty prompt.
    """
    raise NotImplementedError("the compressor follows in the next commit")
