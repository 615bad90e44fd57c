"""XTC, "exclude top choices" (p-e-w; text-generation-webui PR #6335, llama.cpp PR #9742): with probability
`xtc_probability` a step flips its coin, and if two or more tokens have p >= `xtc_threshold` it removes all of them
but the least probable, so the text leaves its most obvious path while a token the model still finds likely stays.

p is the probability of the distribution XTC receives (the softmax of its input scores); a token an earlier stage
removed (-inf) is not a candidate, so it never counts as above the threshold (llama.cpp reads only the candidates
left). text-generation-webui also spares the newline and EOS tokens; llama.cpp, whose spelling we follow, does not.

The coin has generators of its own, one per row, as llama.cpp's XTC has its own seeded RNG: each is seeded from its
row's generator's seed plus a fixed offset (`coin_generators`), so a seed replays a run, and the run's own draws are
left alone: a run with XTC takes the same tokens as the run without it until the first step whose coin fires and
excludes something. Where nothing is drawn (`start(None)`: Compare, the mass tree, a branch's forced tokens) the
step samples from the mixture (1 - q) * P(not fired) + q * P(fired): the stage gives both outcomes with their
weights (`outcomes`) and the engine runs the rest of the chain on each (`processors.apply_stages`).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from playground.engine.placement import read_values
from playground.engine.samplers.state import Outcomes, StageState, mix_outcomes

NOTED = 10  # at most this many excluded ids in a step's note (at threshold 0.1 at most 9 can be excluded)


def xtc_removed(scores: torch.Tensor, threshold: float) -> torch.Tensor:
    """The tokens XTC removes when its coin fires: every token with p >= `threshold` but the least probable of
    them, in the rows where at least two are; none elsewhere. Among tokens tied for least probable, the one with
    the lowest id stays.

    Args:
        scores: (B, V) scores; -inf marks a token an earlier stage removed (never above the threshold).
        threshold: the probability a token needs to count as a top choice (0 to 1).

    Returns:
        (B, V) bool, True where the token goes.
    """
    probs = torch.softmax(scores.float(), dim=-1)  # (B, V)
    above = (probs >= threshold) & ~torch.isneginf(scores)
    # The least probable token above the threshold (argmin takes the first of equal values): (B, 1). A row with
    # none above points at a token that is not above either, so the row loses nothing; with one above, it stays.
    lowest = probs.masked_fill(~above, math.inf).argmin(dim=-1, keepdim=True)
    stays = torch.zeros_like(above).scatter(-1, lowest, True)
    return above & ~stays


def xtc_filter(
    scores: torch.Tensor, threshold: float, fired: torch.Tensor, filter_value: float = -math.inf
) -> torch.Tensor:
    """`scores` with `xtc_removed`'s tokens set to `filter_value` in the rows whose coin fired; a new tensor.

    Args:
        scores: (B, V) scores.
        threshold: see `xtc_removed`.
        fired: (B,) bool, whether each row's coin fired.
        filter_value: what a removed token's score becomes.
    """
    return scores.masked_fill(xtc_removed(scores, threshold) & fired[:, None], filter_value)


COIN_SEED_OFFSET = 0x58544300  # "XTC\0": far from seed + i, the seeds of Sample many's other rows


def coin_generators(generators: list[torch.Generator]) -> list[torch.Generator]:
    """XTC's own generator for each of the run's: on the same device, seeded with its seed plus COIN_SEED_OFFSET
    (modulo 2**64, the seeds torch takes), so that the coin never moves the run's own draws."""
    return [
        torch.Generator(device=g.device).manual_seed((g.initial_seed() + COIN_SEED_OFFSET) % 2**64) for g in generators
    ]


def flip_coins(generators: list[torch.Generator], probability: float, device: torch.device) -> torch.Tensor:
    """One coin per row, each from its row's generator: (B,) bool, True with probability `probability` (a draw
    u in [0, 1) fires when u < probability, so 0 never fires and 1 always does)."""
    draws = [torch.rand(1, generator=g, device=device) for g in generators]  # [(1,)] * B
    return torch.cat(draws) < probability


class XTCLogitsWarper(StageState):
    """XTC as a stage: a coin per row per step from its own generators (seeded from the run's), or both outcomes where
    nothing is drawn.

    Args:
        threshold: the probability that makes a token a top choice (0 to 1; above 0.5 it could never fire, which
            Settings refuses).
        probability: the chance q that a step's coin fires; must be > 0 (0 = off is the registry's business).
        filter_value: what a removed token's score becomes.
    """

    def __init__(self, threshold: float, probability: float, filter_value: float = -math.inf):
        if not (isinstance(threshold, float) and 0.0 <= threshold <= 1.0):
            raise ValueError(f"`threshold` has to be a float between 0 and 1, but is {threshold}")
        if not (isinstance(probability, float) and 0.0 < probability <= 1.0):
            raise ValueError(f"`probability` has to be a float > 0 and <= 1, but is {probability}")
        self.threshold, self.probability, self.filter_value = threshold, probability, filter_value
        self.generators: list[torch.Generator] | None = None  # the coins' own, one per row (`coin_generators`)
        self.last: dict[str, torch.Tensor] | None = None  # the last call's facts per row, on the scores' device
        self.read: dict[str, list] | None = None  # the same, read to the host once its notes are asked for

    def start(self, generators: list[torch.Generator] | None) -> None:
        self.generators = None if generators is None else coin_generators(generators)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if self.generators is None:  # called as a plain processor where nothing is drawn: the average
            return mix_outcomes(self.outcomes(input_ids, scores))
        if len(self.generators) != scores.shape[0]:
            raise ValueError(f"XTC holds {len(self.generators)} generators for {scores.shape[0]} rows")
        fired = flip_coins(self.generators, self.probability, scores.device)  # (B,)
        removed = xtc_removed(scores, self.threshold)
        self._remember(scores, removed, fired)
        return scores.masked_fill(removed & fired[:, None], self.filter_value)

    def outcomes(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> Outcomes | None:
        """Where nothing is drawn: the scores the step gives when its coin does not fire and when it does, each
        with its probability. None when the run draws (then it is called as any processor)."""
        if self.generators is not None:
            return None
        removed = xtc_removed(scores, self.threshold)
        self._remember(scores, removed, None)
        return [(1.0 - self.probability, scores), (self.probability, scores.masked_fill(removed, self.filter_value))]

    def _remember(self, scores: torch.Tensor, removed: torch.Tensor, fired: torch.Tensor | None) -> None:
        """Keeps what a step's note says, per row and still on the device (read only if a note is asked for)."""
        probs = torch.softmax(scores.float(), dim=-1)  # (B, V)
        above = (probs >= self.threshold) & ~torch.isneginf(scores)
        excluded = torch.topk(probs.masked_fill(~removed, -1.0), min(NOTED, probs.shape[-1]), dim=-1).indices
        stays = probs.masked_fill(~(above & ~removed), -1.0).argmax(dim=-1)  # (B,) the one top choice kept
        self.last = dict(above=above.sum(dim=-1), excluded=excluded, stays=stays)
        if fired is not None:
            self.last["fired"] = fired
        self.read = None

    def keep(self, rows: list[int]) -> None:
        if self.generators is not None:
            self.generators = [self.generators[r] for r in rows]
        if self.last is not None:
            index = torch.tensor(rows, dtype=torch.long, device=self.last["above"].device)
            self.last = {key: value[index] for key, value in self.last.items()}
            self.read = None

    def notes(self, row: int) -> dict[str, Any] | None:
        """Whether the coin fired ("fired"; "mixed" where nothing was drawn) and whether it then excluded something
        ("excluded_some": it fired with two or more tokens above the threshold), q, the threshold, how many tokens
        were above it, the ids excluded (those it would exclude, where mixed), most probable first, and the one kept."""
        if self.last is None:
            return None
        if self.read is None:  # one read for every row of the step
            self.read = dict(zip(self.last, read_values(*self.last.values()), strict=True))
        above = self.read["above"][row]
        note: dict[str, Any] = {"q": self.probability, "threshold": self.threshold, "above": above}
        if "fired" in self.read:
            note["fired"] = self.read["fired"][row]
            note["excluded_some"] = note["fired"] and above >= 2
        else:
            note["mixed"] = True
        shown = note.get("fired", True) and above >= 2
        note["excluded"] = self.read["excluded"][row][: above - 1] if shown else []
        note["kept"] = self.read["stays"][row] if above >= 1 else None
        return note
