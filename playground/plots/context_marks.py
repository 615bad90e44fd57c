"""Why a penalty touched a candidate: where it appeared earlier in the context, and which n-gram it would
have repeated. Pure functions of a trace: the context at step i is the prompt's token ids, then the tokens
chosen at steps 1..i (a branch's inherited and forced tokens among them), as the processors saw it."""

from __future__ import annotations

from dataclasses import dataclass

from playground.trace import Trace


def context_ids(trace: Trace, index: int) -> list[int]:
    """The token ids the model had read when it chose step `index` (0-based): prompt, then earlier choices."""
    return [*trace.prompt.token_ids, *(step.chosen.id for step in trace.steps[:index])]


@dataclass
class Earlier:
    """Where a token occurs in a step's context."""

    in_prompt: int  # how many times in the prompt
    steps: list[int]  # the 1-based steps that chose it

    def __str__(self) -> str:
        parts = []
        if self.in_prompt:
            parts.append("in the prompt" + (f" ({self.in_prompt}×)" if self.in_prompt > 1 else ""))
        if self.steps:
            parts.append(("at step " if len(self.steps) == 1 else "at steps ") + ", ".join(map(str, self.steps)))
        return " and ".join(parts)


def earlier(trace: Trace, index: int) -> dict[int, Earlier]:
    """Every token id in step `index`'s context, with where it occurred: the tokens a repetition penalty
    pushes down at that step."""
    found: dict[int, Earlier] = {}
    for token in trace.prompt.token_ids:
        found.setdefault(token, Earlier(0, [])).in_prompt += 1
    for step in trace.steps[:index]:
        found.setdefault(step.chosen.id, Earlier(0, [])).steps.append(step.index + 1)
    return found


@dataclass
class Repeat:
    """The n-gram a candidate would complete again, and where it first occurred."""

    token_ids: list[int]
    first_step: int | None  # the 1-based step that chose its last token; None when it lies in the prompt


def repeated_ngram(trace: Trace, index: int, token_id: int, n: int) -> Repeat | None:
    """The n-gram that `token_id` would complete at step `index` if it already occurs in the context (the
    n-gram ban's reason to remove it), else None. n < 2 bans nothing."""
    context = context_ids(trace, index)
    if n < 1 or len(context) < n - 1:
        return None
    gram = [*context[len(context) - n + 1 :], token_id]
    prompt = len(trace.prompt.token_ids)
    for start in range(len(context) - n + 1):
        if context[start : start + n] == gram:
            end = start + n - 1  # position of the n-gram's last token in the context
            return Repeat(gram, None if end < prompt else end - prompt + 1)
    return None


def token_texts(trace: Trace) -> dict[int, str]:
    """Token id -> text for every token the trace names (its choices and candidates): enough to spell an
    n-gram, whose tokens mostly come from the output; the prompt's own tokens are not stored as text."""
    texts = {}
    for step in trace.steps:
        texts.update((c.id, c.text) for c in step.candidates)
        texts[step.chosen.id] = step.chosen.text
    return texts
