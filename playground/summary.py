"""The one-line summary of a finished run, as the page's status line and the command line both print it."""

from __future__ import annotations

from collections import Counter

from playground.plots.style import stage_setting
from playground.settings import AUTO, Settings
from playground.speedup import speedup_text
from playground.stages import Where, run_chain
from playground.trace import MassTree, Speculative, Trace
from playground.words import counted

STOP_REASON_TEXT = {
    "eos": "end of sequence",
    "max_new_tokens": "max new tokens reached",
    "stop_string": "stop string",
    "max_time": "time limit reached",
    "cancelled": "stopped by you",
}


def branch_part(trace: Trace) -> str:
    """Where a branch was taken, and the token it took there with its probability."""
    branch = trace.branch
    return f"branched at step {branch.at}: took {branch.token.text!r} (p = {branch.token.prob:.3g})"


def summary(trace: Trace, detail: bool = False) -> str:
    """Model, tokens, speed (a beam search's work instead), time and why the run stopped, then whether constraints
    were met and how the draft did. `detail` adds where the model ran and speculative decoding's call counts and
    times (the terminal has room for them)."""
    timing = trace.timing
    model = f"{trace.model.id} {trace.model.precision}" + (f" on {trace.model.device}" if detail else "")
    reason = STOP_REASON_TEXT.get(trace.output.stop_reason, trace.output.stop_reason)
    parts = [model, counted(len(trace.output.token_ids), "token"), *speed_parts(trace), f"stopped: {reason}"]
    if trace.samples is not None:
        branched = [f"{branch_part(trace)}, the samples continue after it"] if trace.branch is not None else []
        return " · ".join([model, *samples_parts(trace), *branched])
    if trace.branch is not None:
        parts.append(f"{branch_part(trace)}, {timing.new_tokens} decided after it")
    if trace.beams is not None and trace.beams.constraints:
        met = bool(trace.beams.sequences) and trace.beams.sequences[0].satisfies_constraints
        parts.append("constraints met" if met else "constraints NOT met: try more max new tokens or beams")
    spec = trace.speculative
    if spec:
        if spec.draft.source == "medusa":
            deep = ", ".join(f"{a:.0%}" for a in (spec.acceptance_by_depth or []))
            parts.append(
                f"Medusa tree of {spec.draft.tree_size} guesses: {spec.tokens_per_round:.2f} tokens per target pass, "
                f"accepted by depth {deep}"
            )
        elif spec.draft.source == AUTO:
            parts.append(f"automatic draft: {spec.tokens_per_round:.2f} tokens per target pass, {auto_sources(spec)}")
        else:
            parts.append(
                f"{spec.acceptance_rate:.0%} of draft tokens accepted, {spec.tokens_per_round:.2f} tokens per target "
                "pass"
            )
        if detail:
            drafter = "heads" if spec.draft.source == "medusa" else "draft"
            parts.append(
                f"{spec.target_calls} target and {spec.draft_calls} {drafter} calls, "
                f"{drafter} {spec.draft_s:.2f} s, verify {spec.verify_s:.2f} s"
            )
        if spec.speedup:
            parts.append(f"speed-up over plain decoding {speedup_text(spec)}")
    return " · ".join(parts)


def auto_sources(spec: Speculative) -> str:
    """How many rounds each source of the automatic draft drafted, and the plain steps: "rounds: 5 by prompt
    lookup, 9 by the Medusa heads, 3 plain steps"."""
    names = {"prompt-lookup": "by prompt lookup", "suffix": "by the suffix index", "medusa": "by the Medusa heads"}
    counts = Counter(r.source for r in spec.rounds)
    parts = [f"{counts[source]} {name}" for source, name in names.items() if counts[source]]
    if counts["none"]:
        parts.append(counted(counts["none"], "plain step"))
    return "rounds: " + ", ".join(parts)


def speed_parts(trace: Trace) -> list[str]:
    """How fast the run went: tokens/s and the wall time; for beam search, the wall time and how many candidates
    its beams scored (the tree's nodes). A search's answer over its wall time is no rate anything decoded at: the
    time went to every beam at every step, not to the answer's tokens alone."""
    timing = trace.timing
    if trace.beams is None:
        return [f"{timing.tokens_per_s:.1f} tokens/s", f"{timing.total_s:.2f} s"]
    # A search keeps at least two beams and weighs at least two candidates a step: the nouns are plural.
    beams, candidates = int(trace.settings["num_beams"]), len(trace.beams.nodes)
    return [f"{timing.total_s:.2f} s", f"{beams} beams scored {candidates:,} candidates"]


def samples_parts(trace: Trace) -> list[str]:
    """A many-sample run's summary: how many samples, how many differ, what the batch cost and how they ended."""
    samples = trace.samples.samples
    distinct = len({tuple(sample.token_ids) for sample in samples})
    ends: dict[str, int] = {}
    for sample in samples:
        ends[sample.stop_reason] = ends.get(sample.stop_reason, 0) + 1
    ended = ", ".join(f"{count} {STOP_REASON_TEXT.get(reason, reason)}" for reason, count in sorted(ends.items()))
    settings = trace.settings  # samples are always drawn: say with what, whatever strategy the page showed
    drawn = f"temperature {settings['temperature']:g}, top-k {settings['top_k']}, top-p {settings['top_p']:g}"
    return [
        f"{len(samples)} samples, {distinct} distinct (sampled at {drawn})",
        counted(trace.timing.new_tokens, "token"),
        f"{trace.timing.tokens_per_s:.1f} tokens/s",
        f"{trace.timing.total_s:.2f} s",
        f"{trace.samples.forward_passes} forward passes",
        f"stopped: {ended}",
    ]


def mass_summary(tree: MassTree) -> str:
    """One line on a mass tree: what it holds, the likeliest first token, and what it cost."""
    first = tree.root.children[0] if tree.root.children else None
    top = f"likeliest first token {first.text!r} (p = {first.prob:.3f})" if first else "no first token is that likely"
    capped = f" (stopped at the server's cap of {tree.nodes})" if tree.capped else ""
    shaped = applied_stages(Settings.from_dict(tree.settings), len(tree.prompt.token_ids))
    shaped = shaped or "the model's own probabilities (no stage changes them)"
    return (
        f"{tree.model.id} {tree.model.precision} · {tree.nodes} continuations up to {counted(tree.depth, 'token')} "
        f"at p ≥ {tree.threshold:g}{capped} under {shaped} · {top} · {tree.forward_passes} forward passes · "
        f"{tree.seconds:.2f} s"
    )


def applied_stages(settings: Settings, prompt_len: int) -> str:
    """The stages a run with `settings` applies (`stages.run_chain`), in its order, each named as its control with
    its value ("top-k 50 → min-p 0.05 → XTC 0.5"); "" where none does (greedy with no penalty).

    Args:
        settings: the run's settings.
        prompt_len: the prompt's tokens, where min-new-tokens starts counting.
    """
    # A mass tree keeps no end-of-sequence ids: min-new-tokens applies wherever the model has one, as every model
    # the page serves does, so any id stands for them here.
    where = Where(prompt_len=prompt_len, eos_ids=[0], device=None)
    values = settings.to_dict()
    return " → ".join(stage_setting(spec.name, values) for spec in run_chain(settings, where))
