"""Dynamic temperature's step note in words: the T a step used, and the entropy it came from."""

from __future__ import annotations

import math
from typing import Any

from playground.trace import Trace


def dynatemp_sentence(note: dict[str, Any], trace: Trace, index: int) -> str | None:
    """Dynamic temperature's T, with the entropy it came from and the most entropy its N candidates could hold."""
    if "T" not in note:
        return "dynamic temperature: a single candidate left, nothing to scale"
    most = math.log(note["N"])  # the entropy of N equally likely tokens
    return f"dynamic temperature: T = {note['T']:.2f} (entropy {note['H']:.1f} of at most {most:.1f} nats)"
