"""The decoding engine: one explicit loop per strategy over the model's forward pass, each returning a Trace.

`stream` yields an `Update` after every decided step and a last one carrying the Trace; `generate` runs to
the end. The model's lock is held for the whole run: a loaded model serves one run at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from playground.engine.beam import beam_search
from playground.engine.branch import branched
from playground.engine.constrained import constrained_beam_search
from playground.engine.context import Update, prepare
from playground.engine.many import sample_many
from playground.engine.sampling import decode_tokens
from playground.engine.speculative import speculative_decode, tree_decode
from playground.engine.speedup_timing import with_speedup
from playground.settings import AUTO, MEDUSA, Settings
from playground.trace import Trace

if TYPE_CHECKING:
    from playground.medusa.draft import HeadsDraft
    from playground.models import LoadedModel

__all__ = ["Update", "generate", "stream"]

_STRATEGIES = {
    "greedy": decode_tokens,
    "sample": decode_tokens,
    "beam": beam_search,
    "constrained": constrained_beam_search,
    "speculative": speculative_decode,
}


def stream(
    loaded: LoadedModel,
    prompt: str,
    settings: Settings,
    cancel: threading.Event | None = None,
    draft: LoadedModel | HeadsDraft | None = None,
) -> Iterator[Update]:
    """Runs one decoding experiment, yielding an Update per step and a final Update with the Trace.

    Args:
        loaded: the model and tokenizer (from `playground.models.load_model`).
        prompt: the user's text; the chat template is applied when `settings.chat` says so.
        settings: every knob, already validated.
        cancel: set it from another thread to end the run at its next step; the final Update still carries
            the trace of what was made, with stop_reason "cancelled".
        draft: speculative decoding's draft model, or Medusa heads (from `engine.speculative.load_draft`, which
            the caller runs: the decoding loops load no model themselves).

    Raises:
        SettingsError: the prompt is empty or longer than the server allows, or the draft does not fit.
    """
    ctx = prepare(loaded, prompt, settings, cancel, draft)
    # Many samples of the sample strategy decode as one batch; Medusa heads and the automatic draft verify trees.
    if settings.num_samples > 1:
        strategy = sample_many
    elif settings.strategy == "speculative" and settings.draft_model in (MEDUSA, AUTO):
        strategy = tree_decode
    else:
        strategy = _STRATEGIES[settings.strategy]
    if settings.strategy == "speculative" and settings.measure_speedup:
        strategy = with_speedup(strategy)  # times it against plain decoding once it has run
    with loaded.lock:
        yield from branched(ctx, strategy) if ctx.prefix else strategy(ctx)


def generate(
    loaded: LoadedModel, prompt: str, settings: Settings, draft: LoadedModel | HeadsDraft | None = None
) -> Trace:
    """Runs one decoding experiment to the end and returns its Trace (arguments as for `stream`)."""
    trace = None
    for update in stream(loaded, prompt, settings, draft=draft):
        trace = update.trace
    assert trace is not None, "a strategy must end with an Update that carries the trace"
    return trace
