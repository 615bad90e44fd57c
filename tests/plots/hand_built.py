"""Traces built by hand from a small full vocabulary: every probability computed here, in float64, so a figure
test knows each number it should draw without a model."""

from __future__ import annotations

import math

from playground.trace import Candidate, Chosen, ModelInfo, OutputInfo, PromptInfo, Step, Timing, Trace


def softmax(scores: list[float]) -> list[float]:
    """softmax over a whole vocabulary in float64; -inf scores get 0."""
    top = max(scores)
    weights = [math.exp(s - top) if s != -math.inf else 0.0 for s in scores]
    total = sum(weights)
    return [w / total for w in weights]


def log_sum_exp(scores: list[float]) -> float:
    """ln sum exp(scores) in float64, shifted by the largest score so nothing overflows."""
    top = max(scores)
    return top + math.log(sum(math.exp(s - top) for s in scores))


def top_k(scores: list[float], k: int) -> list[float]:
    """transformers' TopKLogitsWarper: every score below the k-th largest becomes -inf (a tie at the k-th stays)."""
    kth = sorted(scores, reverse=True)[k - 1]
    return [s if s >= kth else -math.inf for s in scores]


def hand_trace(
    logits: list[float],
    k: int | None = None,
    prompt: list[int] | None = None,
    penalty: float | None = None,
    top_p: float | None = None,
    temperatures: tuple[float, ...] = (),
) -> Trace:
    """A one-step trace over a vocabulary of len(logits) tokens ("t0", "t1", ...), every token a candidate,
    ranked by logit. Stages: a repetition penalty on the `prompt` tokens (when `penalty`), then top-k (when `k`),
    then a top-p line (when `top_p`, with top-p's probabilities equal to the stage before: only the line is
    drawn from them). The likeliest token left is chosen. The step records its normalisers at `temperatures`."""
    stages = {"raw": list(logits)}
    scores = list(logits)
    if penalty is not None:
        scores = [(s / penalty if s > 0 else s * penalty) if i in (prompt or []) else s for i, s in enumerate(scores)]
        stages["repetition_penalty"] = scores
    if k is not None:
        scores = top_k(scores, k)
        stages["top_k"] = scores
    if top_p is not None:
        stages["top_p"] = scores
    probs = {name: softmax(values) for name, values in stages.items()}
    probs["final"] = probs[list(stages)[-1]]
    order = sorted(range(len(logits)), key=lambda i: -logits[i])
    removed = {i: next((n for n in stages if n != "raw" and stages[n][i] == -math.inf), None) for i in order}
    candidates = [
        Candidate(id=i, text=f"t{i}", logit=logits[i], probs={n: p[i] for n, p in probs.items()}, removed_by=removed[i])
        for i in order
    ]
    chosen = max(order, key=lambda i: probs["final"][i])
    final = probs["final"]
    step = Step(
        index=0,
        chosen=Chosen(id=chosen, text=f"t{chosen}", prob=final[chosen], rank=order.index(chosen) + 1),
        entropy=-sum(p * math.log(p) for p in final if p > 0),
        candidates=candidates,
        kept=sum(p > 0 for p in final),
        log_z={f"{t:g}": log_sum_exp([x / t for x in logits]) for t in temperatures} or None,
    )
    settings = {"strategy": "sample", "top_k": k or 0, "top_p": top_p or 1.0, "repetition_penalty": penalty or 1.0}
    return Trace(
        model=ModelInfo("hand", "local", "fp32", "cpu", 0.0, len(logits)),
        settings=settings,
        prompt=PromptInfo("", "", list(prompt or [])),
        output=OutputInfo(f"t{chosen}", [chosen], "max_new_tokens"),
        steps=[step],
        timing=Timing(0.0, 0.0, 0.0, 0.0, 1, 0.0),
    )
