"""The one-line summary of a finished run, as the page's status line and the command line both print it."""

from __future__ import annotations

from playground.trace import Trace

STOP_REASON_TEXT = {
    "eos": "end of sequence",
    "max_new_tokens": "max new tokens reached",
    "stop_string": "stop string",
    "max_time": "time limit reached",
    "cancelled": "stopped by you",
}


def summary(trace: Trace, detail: bool = False) -> str:
    """Model, tokens, speed, time and why the run stopped, then whether constraints were met and how the draft
    did. `detail` adds where the model ran and speculative decoding's call counts and times (the terminal has
    room for them)."""
    timing = trace.timing
    model = f"{trace.model.id} {trace.model.precision}" + (f" on {trace.model.device}" if detail else "")
    reason = STOP_REASON_TEXT.get(trace.output.stop_reason, trace.output.stop_reason)
    parts = [
        model,
        f"{len(trace.output.token_ids)} tokens",
        f"{timing.tokens_per_s:.1f} tokens/s",
        f"{timing.total_s:.2f} s",
        f"stopped: {reason}",
    ]
    if trace.branch is not None:
        branch = trace.branch
        parts.append(
            f"branched at step {branch.at}: took {branch.token.text!r} (p = {branch.token.prob:.3g}), "
            f"{timing.new_tokens} decided after it"
        )
    if trace.beams is not None and trace.beams.constraints:
        met = bool(trace.beams.sequences) and trace.beams.sequences[0].satisfies_constraints
        parts.append("constraints met" if met else "constraints NOT met: try more max new tokens or beams")
    spec = trace.speculative
    if spec:
        parts.append(
            f"{spec.acceptance_rate:.0%} of draft tokens accepted, {spec.tokens_per_round:.2f} tokens per target pass"
        )
        if detail:
            parts.append(
                f"{spec.target_calls} target and {spec.draft_calls} draft calls, "
                f"draft {spec.draft_s:.2f} s, verify {spec.verify_s:.2f} s"
            )
        if spec.speedup:
            parts.append(f"{spec.speedup:.2f}× plain decoding")
    return " · ".join(parts)
