"""Dynamic temperature (llama.cpp's `temp-ext`, from koboldcpp's entropy sampling): each row is divided by a
temperature of its own, higher where the model is unsure, lower where it is sure.

    T = T_min + (T_max - T_min) * (H / ln N) ** exponent,  T_min = max(0, temperature - range),
                                                           T_max = temperature + range

H is the entropy (nats) of the softmax of the scores the stage receives and N the number of finite ones, the
candidates still in play (ln N is the most entropy N tokens can hold, so H / ln N lies in [0, 1]). A row with one
candidate or none is left as it is, as llama.cpp leaves it.

T can come out 0 (T_min = 0 and a distribution whose float32 softmax is one-hot): llama.cpp then keeps only the top
token. Here every row is shifted by its maximum before the division, so the top scores become 0 and the others
fall towards -inf as T shrinks: the same distribution as dividing by T whenever T > 0, the top token alone at
T = 0, and never an overflow to +inf (which would turn softmax into NaN) for any T however small.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from playground.engine.samplers.state import StageState


def entropy_and_count(scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each row's softmax entropy in nats (float64) and how many of its scores are finite.

    Args:
        scores: (B, V) logits; -inf marks a token an earlier stage removed.

    Returns:
        ((B,) float64 entropy, (B,) int64 count of finite scores).
    """
    finite = torch.isfinite(scores)  # (B, V)
    logp = torch.log_softmax(scores.double(), dim=-1)
    # p * log p is 0 * -inf = NaN for a removed token: it holds no probability, so it adds nothing.
    terms = torch.where(finite, logp.exp() * logp, torch.zeros_like(logp))
    return -terms.sum(dim=-1), finite.sum(dim=-1)


def dynamic_temperatures(
    entropy: torch.Tensor, count: torch.Tensor, temperature: float, spread: float, exponent: float
) -> torch.Tensor:
    """The temperature of each row: T_min + (T_max - T_min) * (H / ln N) ** exponent; NaN where N <= 1.

    Args:
        entropy: (B,) H in nats.
        count: (B,) N, the finite candidates.
        temperature: the centre of the range.
        spread: the range either side of it (dynatemp_range, > 0); the bottom is held at 0.
        exponent: how the normalized entropy maps to the range (1 = linearly).

    Returns:
        (B,) float64 temperatures.
    """
    low, high = max(0.0, temperature - spread), temperature + spread
    most = torch.log(count.double())  # ln N: the entropy of N equally likely tokens
    # H / ln N can round a hair above 1 (a uniform row): clamped, T stays within the range.
    normalized = (entropy / most).clamp(0.0, 1.0)
    return torch.where(count > 1, low + (high - low) * normalized**exponent, math.nan)


def scale_by_rows(scores: torch.Tensor, temperatures: torch.Tensor) -> torch.Tensor:
    """Each row divided by its own temperature, after shifting it by its maximum (see the module's note); a row
    whose temperature is NaN (one candidate or none) is left as it is. A new tensor.

    Args:
        scores: (B, V) logits.
        temperatures: (B,) float64, >= 0 or NaN.
    """
    top = scores.amax(dim=-1, keepdim=True)  # (B, 1)
    # The smallest positive normal float keeps T = 0 a division: 0 stays 0 and any lower score goes to -inf.
    floor = torch.finfo(scores.dtype).tiny
    t = temperatures.to(scores.dtype).clamp(min=floor)[:, None]  # (B, 1); NaN stays NaN
    scaled = torch.where(torch.isneginf(scores), scores, (scores - top) / t)
    return torch.where(torch.isnan(t), scores, scaled)


class DynamicTemperatureLogitsWarper(StageState):
    """Dynamic temperature as a transformers warper that notes, for each row, the T it used with H and N.

    Args:
        temperature: the centre of the range (the run's temperature knob).
        spread: dynatemp_range, > 0; T runs from max(0, temperature - spread) to temperature + spread.
        exponent: dynatemp_exponent, > 0.
    """

    def __init__(self, temperature: float, spread: float, exponent: float = 1.0) -> None:
        if not spread > 0:
            raise ValueError(f"`spread` has to be > 0, but is {spread}")
        if not exponent > 0:
            raise ValueError(f"`exponent` has to be > 0, but is {exponent}")
        self.temperature, self.spread, self.exponent = temperature, spread, exponent
        self._last: torch.Tensor | None = None  # (3, B): T, H, N of the last call, on the scores' device
        self._rows: list[list[float]] | None = None  # the same, read to the host once, when first noted

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        entropy, count = entropy_and_count(scores)
        temperatures = dynamic_temperatures(entropy, count, self.temperature, self.spread, self.exponent)
        self._last, self._rows = torch.stack([temperatures, entropy, count.double()]), None
        return scale_by_rows(scores, temperatures)

    def notes(self, row: int) -> dict[str, Any] | None:
        """The T the last call used for `row` (absent with one candidate or none), its entropy H and count N."""
        if self._last is None:
            return None
        if self._rows is None:  # one read of the step's numbers, only by a view that records notes
            self._rows = self._last.T.tolist()
        t, h, n = self._rows[row]
        note: dict[str, Any] = {"H": h, "N": int(n)}
        if not math.isnan(t):
            note["T"] = t
        return note

    def keep(self, rows: list[int]) -> None:
        """The last call's numbers follow the rows that go on."""
        if self._last is not None:
            index = torch.tensor(rows, dtype=torch.long, device=self._last.device)
            self._last, self._rows = self._last[:, index], None
