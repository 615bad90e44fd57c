"""The arithmetic of speculative decoding, as pure functions: the residual distribution, what target and draft
gave each proposal, the estimated acceptance rate, prompt-lookup proposals and the adaptive schedule. The rules
that use them to decide what the target keeps are in `verification.py`.
"""

from __future__ import annotations

import torch

CONFIDENCE_THRESHOLD = 0.4  # adaptive drafting stops below this draft probability (transformers' default)


def residual(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """normalize(max(0, p - q)): where to draw from after a rejection. (V,), (V,) -> (V,)

    When p == q everywhere (no mass left) the rule never rejects, but guard anyway by falling back to p.
    """
    diff = torch.clamp(p - q, min=0.0)
    total = diff.sum()
    return diff / total if total > 0 else p


def proposal_probs(proposed: list[int], p: torch.Tensor, q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """p_j(x_j) and q_j(x_j): what target and draft gave each proposed token. -> (g,), (g,) on p's device.

    Args:
        proposed: the g draft tokens.
        p: (g + 1, V) or (g, V) target probabilities; q: (g, V) draft probabilities.
    """
    rows = torch.arange(len(proposed), device=p.device)
    tokens = torch.tensor(proposed, dtype=torch.long, device=p.device)
    return p[rows, tokens], q[rows, tokens]


def acceptance_alpha(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Estimated acceptance rate of a round: the mean over positions of sum_x min(p(x), q(x)). (g, V) each ->
    a 0-dim tensor on p's device (0 when nothing was proposed), read with the round's other figures."""
    if q.shape[0] == 0:
        return p.new_zeros(())
    return torch.minimum(p[: q.shape[0]], q).sum(dim=-1).mean()


def prompt_lookup(token_ids: list[int], max_ngram: int, num_tokens: int) -> tuple[list[int], int]:
    """Draft tokens copied from earlier in the text: find the most recent earlier occurrence of the last n
    tokens (n from max_ngram down to 1) and propose what followed it.

    Args:
        token_ids: prompt and generated tokens so far.
        max_ngram: the longest suffix to match.
        num_tokens: how many tokens to propose at most.

    Returns:
        up to num_tokens proposals (empty when nothing matches), and the index in `token_ids` of the first one
        copied (-1 when nothing matches).
    """
    length = len(token_ids)
    for n in range(min(max_ngram, length - 1), 0, -1):
        suffix = token_ids[length - n :]
        for start in range(length - n - 1, -1, -1):  # most recent match first, excluding the suffix itself
            if token_ids[start : start + n] == suffix:
                follow = token_ids[start + n : start + n + num_tokens]
                if follow:
                    return follow, start + n
    return [], -1


def lookup_source(at: int, prompt_length: int, typed: tuple[int, int]) -> str:
    """Where the token at index `at` of the text comes from (`trace.LOOKUP_SOURCES`): "prompt" inside the span
    the person typed, "template" elsewhere in the prompt's `prompt_length` tokens (the chat template's markers
    and default system prompt), "output" after them (generated, or a branch's forced tokens).

    Args:
        typed: [start, end) of the typed text among the prompt's tokens.
    """
    if at >= prompt_length:
        return "output"
    return "prompt" if typed[0] <= at < typed[1] else "template"


def next_gamma(gamma: int, accepted: int, proposed: int, low: int = 1, high: int = 16) -> int:
    """Adaptive schedule (as transformers' assisted generation): +2 after a fully accepted round, -1 otherwise."""
    if proposed == 0:
        return gamma
    return min(high, gamma + 2) if accepted == proposed else max(low, gamma - 1)
