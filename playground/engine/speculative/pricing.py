"""What a round really costs in this run, by the kind of draft it took: c(k) prices the target's pass alone, but a
round also plans (the heads' own pass, an index lookup), builds a tree's attention mask, runs the stages over
more rows and records more nodes. On a 2-core CPU that is a few percent of a pass, as much as a draft that is
right one time in ten gains, so the automatic draft prices each kind of round at what such rounds have taken.

Every round is timed twice: its pass (what c(k) measures: the forward pass and the LM head over its k tokens)
and the whole round (planning to record). The run's own one-token pass time is read from the passes, pass
seconds / c(k) (the median of the recent ones, so that a machine slower now than when c(k) was measured moves
the unit, not the overheads). A kind's overhead is then its rounds' mean time in those units minus their c(k),
each round's within +-1 pass. A kind with no round yet is given the least overhead seen: what every round pays.
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass

RECENT = 32  # the passes the unit is the median of
LIMIT = 1.0  # a round's overhead is counted at most this many passes (a pause of the whole process is no cost of it)


@dataclass
class Kind:
    """The rounds of one kind so far: how many, and their overheads summed (each in passes, within +-LIMIT)."""

    rounds: int = 0
    excess: float = 0.0

    def mean(self) -> float:
        return max(0.0, self.excess / self.rounds)


class RoundCosts:
    """Each kind of round's overhead beyond c(k), in one-token passes, learned from the run's timed rounds.

    Args:
        curve: c(k), k = 1..K.
    """

    def __init__(self, curve: list[float]) -> None:
        self.curve = curve
        self.units: deque[float] = deque(maxlen=RECENT)  # the recent passes' seconds / c(k)
        self.kinds: dict[str, Kind] = {}

    def add(self, kind: str, size: int, pass_s: float, round_s: float) -> None:
        """A round of `kind` that fed `size` tokens: its pass took `pass_s` seconds and the whole round `round_s`."""
        cost = self.curve[min(size, len(self.curve)) - 1]
        self.units.append(pass_s / cost)
        excess = round_s / statistics.median(self.units) - cost
        seen = self.kinds.setdefault(kind, Kind())
        seen.rounds += 1
        seen.excess += min(LIMIT, max(-LIMIT, excess))

    def overhead(self, kind: str) -> float:
        """The mean overhead of `kind`'s rounds beyond their c(k), in passes (at least 0); for a kind not seen
        yet, the least of the others' (0 before any round)."""
        if kind in self.kinds:
            return self.kinds[kind].mean()
        return min((seen.mean() for seen in self.kinds.values()), default=0.0)

    def priced(self, kind: str, plain: str = "none") -> list[float]:
        """c(k) with the overheads added: a plain round (k = 1) at `plain`'s, every larger pass at `kind`'s. The
        best draft of a kind is the one with the most expected tokens per unit of this curve."""
        extra = self.overhead(kind)
        return [self.curve[0] + self.overhead(plain), *(c + extra for c in self.curve[1:])]
