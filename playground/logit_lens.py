"""The logit lens's record (nostalgebraist 2020): for one step of a run, what every layer's residual stream would
say if it were the last, decoded through the model's own final norm and LM head.

Rows are counted as the model's layers are: row 0 is the embeddings (the residual stream before the first layer),
row i (1 <= i <= L) the stream after layer i; row L is the model's own raw distribution. Plain data, as the trace
is: the CLI prints it, /lens returns it as JSON, the tab draws it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class LensToken:
    id: int
    text: str
    prob: float  # under this layer's decoded distribution


@dataclass
class LensLayer:
    layer: int  # 0: the embeddings; i: after the model's i-th layer (counted from 1)
    top: list[LensToken]  # this layer's most likely tokens, best first
    chosen_rank: int  # the step's chosen token's 1-based rank among all tokens at this layer
    chosen_prob: float
    kl: float  # KL(this layer || last layer), nats


@dataclass
class LensStep:
    step: int  # 1-based, as the Output and the step slider count
    token_id: int  # the token the run chose at this step
    token_text: str
    num_layers: int  # L, the model's layers (rows are L + 1, the embeddings first)
    first_top1_layer: int | None  # the first layer (1..L) where the chosen token is top-1; None if none is
    layers: list[LensLayer] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The record as plain JSON-ready data (the CLI's --json and /lens)."""
        return asdict(self)
