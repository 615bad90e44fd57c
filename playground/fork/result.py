"""What a forking analysis returns: per analysed position, the branches sampled there (the chosen token and
its top alternatives) with their samples and outcomes, the outcome distribution o_t, and its change from the
position before.

Plain data, JSON-ready (`to_dict` / `from_dict`), as a Trace is: the CLI's `--json`, the API and the page all
read this one record, and nothing downstream runs the model again to draw it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from playground.fork.fork_math import histogram
from playground.fork.request import ForkRequest
from playground.trace import Sample


@dataclass
class ForkProgress:
    """How far a running analysis is: `done` of `total` branches sampled, `index` the position being sampled."""

    done: int
    total: int
    index: int


@dataclass
class ForkBranch:
    """One token taken at a position (the chosen one or an alternative) and the continuations sampled after it."""

    token_id: int
    text: str  # the token's text
    prob: float  # p(token | the run before it), under the distribution the continuations sample from
    weight: float  # `prob` renormalised over the branches sampled at this position
    samples: list[Sample]  # the continuations: each holds the run's tokens before the position, this token first
    outcomes: list[str | None]  # each sample's outcome under the rule (None: it has none)

    def histogram(self) -> dict[str, float]:
        """The share of samples with each outcome label ("(none)" for None), most frequent first."""
        return histogram(self.outcomes)


@dataclass
class ForkPosition:
    """One analysed position t of the run."""

    index: int  # the step index t in the run's output (0-based): the token at t is the chosen one or an alternative
    chosen_id: int  # the run's own token at t
    branches: list[ForkBranch]  # the chosen token's first, then the alternatives by probability
    o: dict[str, float]  # o_t: sum over branches of weight x histogram, over outcome labels
    tv: float  # total-variation distance from the previous analysed position's o (0.0 for the first)


@dataclass
class ForkAnalysis:
    """A whole analysis (or what a Stop or the time limit left of one)."""

    rule: str  # the outcome rule in force, as a sentence (`OutcomeRule.describe`)
    outcomes: list[str]  # every outcome label, by total mass over the positions: for stable colours
    positions: list[ForkPosition]
    change_points: list[int]  # the `index`es of positions whose tv exceeds the request's threshold
    request: ForkRequest
    new_tokens: int  # tokens sampled, all continuations together
    seconds: float
    stopped: str | None  # why it ended early: "stopped" (Stop) or "max_time"; None when complete

    def cut_short(self) -> tuple[int, int]:
        """(continuations that reached the request's max_new_tokens before they ended, all continuations): a cut
        text may not have reached its answer yet, so its outcome may not be its last."""
        samples = [s for p in self.positions for b in p.branches for s in b.samples]
        return sum(s.stop_reason == "max_new_tokens" for s in samples), len(samples)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: what `python -m playground fork --json` prints."""
        data = asdict(self)
        data["request"] = self.request.to_dict()
        return data

    def to_json(self) -> str:
        """`to_dict` as one line of JSON."""
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ForkAnalysis:
        """The analysis that `to_dict` wrote."""
        positions = [
            ForkPosition(
                index=p["index"],
                chosen_id=p["chosen_id"],
                branches=[_branch(b) for b in p["branches"]],
                o=dict(p["o"]),
                tv=p["tv"],
            )
            for p in data["positions"]
        ]
        return cls(
            rule=data["rule"],
            outcomes=list(data["outcomes"]),
            positions=positions,
            change_points=list(data["change_points"]),
            request=ForkRequest.from_dict(data["request"]),
            new_tokens=data["new_tokens"],
            seconds=data["seconds"],
            stopped=data["stopped"],
        )


def _branch(data: dict[str, Any]) -> ForkBranch:
    return ForkBranch(
        token_id=data["token_id"],
        text=data["text"],
        prob=data["prob"],
        weight=data["weight"],
        samples=[Sample(**sample) for sample in data["samples"]],
        outcomes=list(data["outcomes"]),
    )
