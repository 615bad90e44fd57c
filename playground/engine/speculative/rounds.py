"""What the chain and tree loops share once a round is verified: emitting its tokens one by one, whether the run
stops after it, how it ended (for its record), and the run's totals over all rounds."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass

from playground.engine.context import RunContext, Update
from playground.engine.recording import RowSummary, to_step
from playground.engine.speculative.verification import TreeVerdict, Verdict
from playground.trace import DraftInfo, Emitted, Speculative, SpeculativeRound, Step


@dataclass
class RoundEnd:
    """How a round ended, as its record reads it."""

    start: int  # index of the round's first generated token
    tokens: int  # how many of its tokens the round emitted (fewer when the run stopped inside it)
    verdict: Verdict | TreeVerdict
    p_token: float  # the target's probability of its own token, read with the round's other figures

    def emitted(self, text: str) -> Emitted:
        """The record of the target's own token, `text` being its text."""
        return Emitted(id=self.verdict.token, text=text, kind=self.verdict.kind, p=self.p_token)


@dataclass
class Work:
    """What a run's rounds cost: passes of the target and of the draft, and the seconds drafting and verifying."""

    target_calls: int = 0
    draft_calls: int = 0
    draft_s: float = 0.0
    verify_s: float = 0.0


def emit(
    ctx: RunContext, emitted: list[int], summary: RowSummary, generated: list[int], steps: list[Step]
) -> Generator[Update, None, str | None]:
    """Appends a round's tokens one by one, yielding an Update for each; returns the stop reason ("eos" or
    "stop_string") if one of them ends the run, else None (the round's later tokens are then not emitted)."""
    for j, token in enumerate(emitted):
        step = to_step(len(generated), summary, j, token, ctx.texts, ctx.settings.top_n)
        steps.append(step)
        generated.append(token)
        text, hit_stop = ctx.visible_text(generated)
        yield Update(text=text, step=step)
        if token in ctx.eos_ids:
            return "eos"
        if hit_stop:
            return "stop_string"
    return None


def stop_after_round(ctx: RunContext, ended: str | None, generated: list[int]) -> str | None:
    """Why the run ends after a round: a token of it ended the run (`emit`'s answer), or time ran out (Stop, or
    the time limit) before max_new_tokens; None to go on."""
    if ended:
        return ended
    if ctx.deadline.passed() and len(generated) < ctx.settings.max_new_tokens:
        return ctx.deadline.reason
    return None


def totals(
    draft: DraftInfo,
    num_draft_tokens: int,
    schedule: str,
    rounds: list[SpeculativeRound],
    work: Work,
    acceptance_by_depth: list[float] | None = None,
) -> Speculative:
    """The run's speculative part: its rounds and their totals.

    Args:
        num_draft_tokens, schedule: the settings' (a tree's size for Medusa heads, whose schedule is constant).
        acceptance_by_depth: Medusa heads' (`tree.acceptance_by_depth`); None for a chain.
    """
    proposed = sum(len(r.proposed) for r in rounds)
    accepted = sum(r.accepted_count() for r in rounds)
    emitted = sum(r.tokens for r in rounds)
    return Speculative(
        draft=draft,
        num_draft_tokens=num_draft_tokens,
        schedule=schedule,
        rounds=rounds,
        acceptance_rate=accepted / proposed if proposed else 0.0,
        mean_accepted_per_round=accepted / len(rounds) if rounds else 0.0,
        tokens_per_round=emitted / len(rounds) if rounds else 0.0,
        target_calls=work.target_calls,
        draft_calls=work.draft_calls,
        draft_s=work.draft_s,
        verify_s=work.verify_s,
        acceptance_by_depth=acceptance_by_depth,
    )
