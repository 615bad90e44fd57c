"""The forking analysis's knobs, with their defaults and the server's caps, validated on construction.

The analysis samples `samples` continuations of `max_new_tokens` tokens for the chosen token and up to
`alternatives` others at every `stride`-th position of a run (the first `max_positions` of them): its cost in
sampled tokens is bounded before any work, and refused above `Limits.max_fork_tokens`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from playground.fork.outcome import resolve_rule
from playground.settings import Limits, SettingsError

MAX_ALTERNATIVES = 8  # alternatives besides the chosen token at one position
MAX_STRIDE = 64
MAX_POSITIONS = 128


@dataclass(frozen=True)
class ForkRequest:
    """What to analyse. Construct it with keywords; it validates itself (SettingsError naming the field)."""

    samples: int = 8  # continuations per branch (N); at most Limits.max_samples
    alternatives: int = 2  # top alternatives besides the chosen token, by probability
    stride: int = 1  # analyse every stride-th position of the run
    max_positions: int = 24  # at most this many positions (the first ones)
    max_new_tokens: int = 24  # each continuation's length; at most Limits.max_sample_tokens
    threshold: float = 0.3  # a position whose TV distance from the one before exceeds it is a change point
    rule: str = "auto"  # the outcome rule (`outcome.RULES`)
    pattern: str = ""  # the marker or regular expression of the marker / regex rules
    limits: Limits = field(default_factory=Limits.from_env, compare=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("samples", "alternatives", "stride", "max_positions", "max_new_tokens"):
            value = getattr(self, name)
            if isinstance(value, float) and value.is_integer():  # a slider's 8.0 is 8
                object.__setattr__(self, name, int(value))
        lim = self.limits
        _check_int("samples", self.samples, 1, lim.max_samples)
        _check_int("alternatives", self.alternatives, 0, MAX_ALTERNATIVES)
        _check_int("stride", self.stride, 1, MAX_STRIDE)
        _check_int("max_positions", self.max_positions, 1, MAX_POSITIONS)
        _check_int("max_new_tokens", self.max_new_tokens, 1, lim.max_sample_tokens)
        threshold = self.threshold
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 <= threshold <= 1:
            raise SettingsError("threshold", f"threshold must be a number from 0 to 1, got {threshold!r:.40}")
        resolve_rule(self.rule, self.pattern, "")  # an unknown rule or a bad pattern, named

    def positions(self, run_len: int) -> list[int]:
        """The step indexes analysed in a run of `run_len` tokens: 0, stride, 2 * stride, ..., the first
        max_positions of them."""
        return list(range(0, run_len, self.stride))[: self.max_positions]

    def cost_tokens(self, run_len: int) -> int:
        """An upper bound of the tokens the analysis samples for a run of `run_len` tokens: positions x branches
        (the chosen token and its alternatives) x samples x max_new_tokens."""
        return len(self.positions(run_len)) * (1 + self.alternatives) * self.samples * self.max_new_tokens

    def check_budget(self, run_len: int) -> None:
        """Raises SettingsError("max_fork_tokens") when `cost_tokens(run_len)` exceeds the server's budget."""
        cost, budget = self.cost_tokens(run_len), self.limits.max_fork_tokens
        if cost > budget:
            raise SettingsError(
                "max_fork_tokens",
                f"the analysis would sample up to {cost:,} tokens (positions x branches x samples x tokens), "
                f"the server allows {budget:,} (PLAYGROUND_MAX_FORK_TOKENS): fewer positions, alternatives, "
                "samples or tokens",
            )

    def to_dict(self) -> dict[str, Any]:
        """The knobs as plain JSON-ready data (limits left out: they belong to the server)."""
        data = asdict(self)
        del data["limits"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], limits: Limits | None = None) -> ForkRequest:
        """The request `to_dict` wrote (unknown keys refused by name), checked against `limits`."""
        names = {name for name in cls.__dataclass_fields__ if name != "limits"}
        unknown = sorted(set(data) - names)
        if unknown:
            raise SettingsError(unknown[0], f"unknown fork setting {unknown[0]!r:.40}")
        return cls(**data, limits=limits or Limits.from_env())


def _check_int(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SettingsError(name, f"{name} must be a whole number from {low} to {high}, got {value!r:.40}")
