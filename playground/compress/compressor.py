"""LLMLingua's iterative token-level compression with the loaded model as the small model.

The compressible part of the prompt is cut into segments of `segment_size` tokens. Each segment is scored after
the already compressed text before it (a KV cache of the kept tokens only): its per-token loss
-log p(x_i | kept tokens before it) decides, through `select.keep_mask`, which of its tokens stay. Tokens outside
the compressible part are kept and condition the ones after them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import torch

from playground.compress.checks import check_knobs
from playground.compress.message import forced_tokens, in_span, message_tokens
from playground.compress.result import Compression, PromptToken
from playground.compress.scoring import KeptTextScorer
from playground.compress.select import keep_mask
from playground.settings import Limits, SettingsError

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
    check_knobs(prompt, ratio, budget, span, force_tokens, segment_size, Limits.from_env())
    span = default_span(prompt) if span is None else tuple(span)
    with loaded.lock:
        started = time.perf_counter()
        message = message_tokens(loaded.tokenizer, prompt, chat)
        check_length(loaded, len(message.context) + len(message.ids))
        inside = in_span(message.offsets, *span)
        if not any(inside):
            raise SettingsError("span", f"span {list(span)} holds none of the prompt's tokens")
        first, end = inside.index(True), len(inside) - inside[::-1].index(True)  # [first, end): compressible
        target = ratio if budget is None else min(1.0, budget / (end - first))
        forced = forced_tokens(message.offsets, prompt, force_tokens)
        segments = [(start, min(start + segment_size, end)) for start in range(first, end, segment_size)]
        scorer = KeptTextScorer(loaded.model, message.context + message.ids[:first])
        losses, kept = compress_segments(scorer, message.ids, segments, target, forced, progress)
        seconds = time.perf_counter() - started
    return assemble(loaded.tokenizer, message.ids, losses, kept, (first, end), forced, target, segments, seconds)


def compress_segments(
    scorer: KeptTextScorer,
    ids: list[int],
    segments: list[tuple[int, int]],
    target: float,
    forced: list[bool],
    progress: Callable[[float], None] | None,
) -> tuple[list[float | None], list[bool]]:
    """Scores `segments` of `ids` in turn, each after the kept tokens before it, and keeps `target` of each.

    Returns:
        Every token's loss (None where not scored) and whether it is kept (tokens outside the segments are).
    """
    losses: list[float | None] = [None] * len(ids)
    kept = [True] * len(ids)
    for done, (start, stop) in enumerate(segments, 1):
        scores = scorer.score(ids[start:stop])  # (L,): NaN for the prompt's very first token, which stays
        mask = keep_mask(scores.nan_to_num(0.0), target, torch.tensor(forced[start:stop]) | scores.isnan())
        kept[start:stop] = mask.tolist()
        scorer.keep([token for token, keep in zip(ids[start:stop], kept[start:stop], strict=True) if keep])
        losses[start:stop] = [None if score != score else score for score in scores.tolist()]  # NaN -> None
        if progress is not None:
            progress(done / len(segments))
    return losses, kept


def check_length(loaded: LoadedModel, length: int) -> None:
    """Raises SettingsError("prompt") when the prompt, as the model reads it, is longer than the server allows or
    the model's context window holds."""
    limit = Limits.from_env().max_prompt_tokens
    window = getattr(loaded.model.config, "max_position_embeddings", None)
    if isinstance(window, int):
        limit = min(limit, window)
    if length > limit:
        raise SettingsError("prompt", f"prompt is {length} tokens long, at most {limit} can be compressed")


def assemble(
    tokenizer,
    ids: list[int],
    losses: list[float | None],
    kept: list[bool],
    compressible: tuple[int, int],
    forced: list[bool],
    target: float,
    segments: list[tuple[int, int]],
    seconds: float,
) -> Compression:
    """The Compression of the message's tokens `ids` with their losses and fates; `compressible` is [first, end)."""
    first, end = compressible
    tokens = [
        PromptToken(
            id=token,
            text=tokenizer.decode([token]),
            loss=losses[j],
            kept=kept[j],
            compressible=first <= j < end,
            forced=forced[j],
        )
        for j, token in enumerate(ids)
    ]
    kept_ids = [token.id for token in tokens if token.kept]
    return Compression(
        tokens=tokens,
        text=tokenizer.decode(kept_ids),
        ids=kept_ids,
        target=target,
        ratio=sum(kept[first:end]) / (end - first),
        segments=segments,
        seconds=seconds,
    )
