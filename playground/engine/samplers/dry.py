"""DRY, "don't repeat yourself" (p-e-w; text-generation-webui PR #5677, llama.cpp PR #9702): a token that would
extend a repeat of an earlier span is pushed down, more the longer the repeat.

For each candidate t, L is the length of the longest suffix of the context that, followed by t, already occurs in
it. If L >= allowed_length, `logit[t] -= multiplier * base ** (L - allowed_length)`. A sequence breaker token ends
every match: a suffix never reaches back past the last breaker, and a breaker is never penalized itself (llama.cpp's
rule for single-token breakers).

The suffix matches come from the Z-algorithm on the reversed context, as llama.cpp computes them: linear in the
context's length. Sequence breakers arrive as token ids; which tokens break is the engine's to say (it reads the
breaker strings against the tokenizer's vocabulary once per run).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import torch

from playground.engine.samplers.state import StageState

# ln of float32's largest value: llama.cpp clamps the exponent so that base ** exponent stays below it.
FLOAT32_MAX_LOG = 88.7228391
# Penalized tokens a step's note names at most: the step view shows the top candidates, and a long loop can put
# dozens of tokens in reach of a repeat; the ones the model liked most are the ones worth a word.
NOTED = 8


def z_array(seq: list[int]) -> list[int]:
    """z[k] = the length of the longest common prefix of `seq` and `seq[k:]` (z[0] = len(seq)), in linear time."""
    n = len(seq)
    z = [0] * n
    if n:
        z[0] = n
    left = right = 0  # [left, right) is the rightmost window known to match a prefix of `seq`
    for k in range(1, n):
        length = min(right - k, z[k - left]) if k < right else 0
        while k + length < n and seq[length] == seq[k + length]:
            length += 1
        z[k] = length
        if k + length > right:
            left, right = k, k + length
    return z


def breaker_limit(context: list[int], breakers: frozenset[int]) -> int:
    """How many tokens at the end of `context` follow its last sequence breaker (all of them without one)."""
    for back, token in enumerate(reversed(context)):
        if token in breakers:
            return back
    return len(context)


def repeat_spans(context: list[int], breakers: frozenset[int]) -> dict[int, tuple[int, int]]:
    """For each token that follows an earlier occurrence of a suffix of `context`, the longest such suffix's length
    L (at most the tokens after the last breaker) and where that earlier occurrence starts in `context` (the latest
    of the longest, when several are as long); tokens with no match (L = 0) are left out.

    With rev = context reversed, z[k] is how far the suffix matches the span ending k tokens before the end, and
    context[n - k] is the token that followed that span, which starts at n - k - L.
    """
    n = len(context)
    limit = breaker_limit(context, breakers)
    spans: dict[int, tuple[int, int]] = {}
    if limit == 0:
        return spans
    z = z_array(context[::-1])
    for k in range(1, n):
        length = min(z[k], limit)
        follower = context[n - k]
        if length > spans.get(follower, (0, 0))[0]:
            spans[follower] = (length, n - k - length)
    return spans


def repeat_lengths(context: list[int], breakers: frozenset[int]) -> dict[int, int]:
    """`repeat_spans`' lengths alone: token -> L."""
    return {token: length for token, (length, _) in repeat_spans(context, breakers).items()}


def dry_penalties(
    lengths: dict[int, int], multiplier: float, base: float, allowed_length: int, breakers: frozenset[int]
) -> dict[int, float]:
    """The penalty of each token whose repeat length reaches `allowed_length` (breakers excepted), its exponent
    clamped as llama.cpp does so that the penalty stays finite in float32."""
    max_exponent = math.floor(FLOAT32_MAX_LOG / math.log(base)) if base > 1.000001 else None
    penalties = {}
    for token, length in lengths.items():
        if length < allowed_length or token in breakers:
            continue
        exponent = length - allowed_length
        if max_exponent is not None:
            exponent = min(exponent, max_exponent)
        penalties[token] = multiplier * base**exponent
    return penalties


def breaker_token_ids(tokenizer, breakers: tuple[str, ...]) -> frozenset[int]:
    """The token ids that act as sequence breakers: every token whose text, decoded on its own, contains one of the
    `breakers` strings (so "\\n\\n" and ":\\n" break as "\\n" and ":" do), as text-generation-webui reads them. A
    breaker string that no single token holds (split across tokens) breaks nothing: llama.cpp's token sequences are
    not matched. Remembered per tokenizer, its size and the breakers: reading SmolLM2's 49,152 tokens takes half a
    second, and every run with DRY on would pay it again."""
    return _breaker_ids(tokenizer, len(tokenizer), tuple(breakers))


@functools.lru_cache(maxsize=16)
def _breaker_ids(tokenizer, size: int, breakers: tuple[str, ...]) -> frozenset[int]:
    if not breakers:
        return frozenset()
    texts = tokenizer.batch_decode([[i] for i in range(size)], skip_special_tokens=False)
    return frozenset(i for i, text in enumerate(texts) if any(b in text for b in breakers))


@dataclass(frozen=True)
class Penalized:
    """A token DRY pushed down at a step: the repeat it would extend and what that cost it."""

    token: int
    length: int  # L, the repeated span's length
    start: int  # where the earlier occurrence of the span starts, as a position in the whole context
    penalty: float  # subtracted from its logit


class DRYLogitsProcessor(StageState):
    """Subtracts DRY's penalty from each token that would extend a repeat, and notes, per row, what it penalized:
    for the (at most NOTED) tokens scored highest before the penalty, L, where the span they would repeat starts
    in the context (0 = the first token of the prompt) and the penalty.

    Args:
        multiplier: the penalty at L = allowed_length; 0 would switch DRY off (the registry leaves it out).
        base: how fast the penalty grows with each further repeated token (>= 1).
        allowed_length: the longest repeat left alone (>= 1).
        last_n: how many of the last tokens are searched; -1 for the whole context.
        breakers: token ids that end every match.
        tokenizer, sequence_breakers: more breakers, as strings, read through the tokenizer once
            (`breaker_token_ids`, remembered per tokenizer): the tokens whose text holds one of them.
    """

    def __init__(
        self,
        multiplier: float,
        base: float,
        allowed_length: int,
        last_n: int,
        breakers: frozenset[int] = frozenset(),
        tokenizer: Any = None,
        sequence_breakers: tuple[str, ...] = (),
    ) -> None:
        if base < 1.0:
            raise ValueError(f"`base` has to be >= 1, but is {base}")
        if allowed_length < 1:
            raise ValueError(f"`allowed_length` has to be >= 1, but is {allowed_length}")
        self.multiplier = multiplier
        self.base = base
        self.allowed_length = allowed_length
        self.last_n = last_n
        read = breaker_token_ids(tokenizer, sequence_breakers) if tokenizer is not None else frozenset()
        self.breakers = frozenset(breakers) | read
        self._found: list[list[Penalized]] = []  # per row of the last call: the tokens it penalized
        self._before: torch.Tensor | None = None  # (B, V) the last call's scores before the penalty

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        window = input_ids if self.last_n < 0 else input_ids[:, max(input_ids.shape[1] - self.last_n, 0) :]
        offset = input_ids.shape[1] - window.shape[1]  # the window's first position in the context
        before, scores = scores, scores.clone()
        self._found = []
        for row, context in enumerate(window.tolist()):  # (B, n) -> B lists of token ids
            spans = repeat_spans(context, self.breakers)
            lengths = {token: length for token, (length, _) in spans.items()}
            penalties = dry_penalties(lengths, self.multiplier, self.base, self.allowed_length, self.breakers)
            self._found.append([Penalized(t, spans[t][0], offset + spans[t][1], p) for t, p in penalties.items()])
            if penalties:
                amounts = torch.tensor(list(penalties.values()), dtype=torch.float64)
                index = torch.tensor(list(penalties), dtype=torch.long, device=scores.device)
                scores[row, index] -= amounts.clamp(max=torch.finfo(scores.dtype).max).to(scores)
        self._before = before  # (B, V): ranks the penalized tokens when a note is asked for
        return scores

    def notes(self, row: int) -> dict[str, Any] | None:
        """The last call's penalized tokens of `row`, the NOTED scored highest before the penalty, highest first:
        {"penalized": [{"id", "L", "start", "penalty"}], "count": how many it penalized}; None when none."""
        if not self._found or not self._found[row]:
            return None
        penalized = self._found[row]
        # One read of the penalized tokens' scores, only by a view that records notes.
        index = torch.tensor([p.token for p in penalized], dtype=torch.long, device=self._before.device)
        ranked = sorted(zip(self._before[row, index].tolist(), penalized, strict=True), key=lambda pair: -pair[0])
        named = [dict(id=p.token, L=p.length, start=p.start, penalty=p.penalty) for _, p in ranked[:NOTED]]
        return {"penalized": named, "count": len(penalized)}

    def keep(self, rows: list[int]) -> None:
        """The last call's findings follow the rows that go on."""
        if self._found:
            self._found = [self._found[r] for r in rows]
            self._before = self._before[torch.tensor(rows, dtype=torch.long, device=self._before.device)]
