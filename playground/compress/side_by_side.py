"""What a compression costs the answer: the original and the compressed prompt run with the same settings, and
the original's answer read after the compressed prompt by teacher forcing (Compare's machinery), so that
KL(original || compressed) at every step of that answer says how far the compressed prompt moves the model.

Both runs' prefill (the prompt's forward pass) is measured by the engine (`Trace.timing.prefill_s`): the saving
is what a person pays less before the first token, on this machine, in this run.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from playground.compress.result import Compression
from playground.engine import stream
from playground.engine.compare import compare_path, first_difference
from playground.settings import Settings
from playground.trace import StepDivergence, Trace

if TYPE_CHECKING:
    from playground.models import LoadedModel


@dataclass
class SideBySide:
    """A compression, both prompts' runs, and the original's answer compared under the compressed prompt."""

    compression: Compression
    original: Trace  # the run of the whole prompt
    compressed: Trace  # the run of the compressed prompt (`compression.text`), with the same settings
    steps: list[StepDivergence]  # per token of the original's answer: original (A) against compressed (B)

    @property
    def first_difference(self) -> int:
        """Tokens both answers share before they first differ."""
        return first_difference(self.original.output.token_ids, self.compressed.output.token_ids)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (an infinite KL is null, as in a Comparison): both runs' answers and prefill, the KL per
        step of the original's answer, and where the answers first differ."""
        return {
            "original": run_summary(self.original),
            "compressed": run_summary(self.compressed),
            "kl": [step.kl if math.isfinite(step.kl) else None for step in self.steps],
            "first_difference": self.first_difference,
            "prefill_tokens_saved": len(self.original.prompt.token_ids) - len(self.compressed.prompt.token_ids),
            "prefill_s_saved": self.original.timing.prefill_s - self.compressed.timing.prefill_s,
        }


def run_summary(trace: Trace) -> dict[str, Any]:
    """One run as /compress reports it: its answer and what its prompt cost to read."""
    return {
        "text": trace.output.text,
        "token_ids": list(trace.output.token_ids),
        "stop_reason": trace.output.stop_reason,
        "prefill_tokens": len(trace.prompt.token_ids),
        "prefill_s": trace.timing.prefill_s,
    }


def answer(loaded: LoadedModel, prompt: str, settings: Settings, cancel: threading.Event | None = None) -> Trace:
    """One run of `prompt` to its end, or to `cancel` (its trace then ends "cancelled", keeping what was made)."""
    trace = None
    for update in stream(loaded, prompt, settings, cancel=cancel):
        trace = update.trace
    assert trace is not None, "a strategy must end with an Update that carries the trace"
    return trace


def answer_kl(loaded: LoadedModel, settings: Settings, original: Trace, compressed: Trace) -> list[StepDivergence]:
    """The original's answer read after each prompt: at step i, the original prompt's distribution (A) against
    the compressed prompt's (B), both after `settings`' processors."""
    prompt_ids, tokens = original.prompt.token_ids, original.output.token_ids
    return compare_path(loaded, settings, loaded, settings, prompt_ids, tokens, compressed.prompt.token_ids)


def side_by_side(
    loaded: LoadedModel,
    prompt: str,
    compression: Compression,
    settings: Settings,
    cancel: threading.Event | None = None,
) -> SideBySide:
    """Runs `prompt` and its compression (`compression.text`) with `settings`, then compares the original's
    answer under both prompts. A run stopped by `cancel` keeps what it made; the comparison is left out then."""
    original = answer(loaded, prompt, settings, cancel)
    compressed = answer(loaded, compression.text, settings, cancel)
    stopped = cancel is not None and cancel.is_set()
    steps = [] if stopped else answer_kl(loaded, settings, original, compressed)
    return SideBySide(compression=compression, original=original, compressed=compressed, steps=steps)
