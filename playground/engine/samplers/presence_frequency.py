"""Presence and frequency penalties, with OpenAI's semantics as llama.cpp's penalties sampler applies them:
`logit[t] -= count(t) * frequency + (count(t) > 0) * presence`, counted over the last `last_n` tokens.

The tokens counted are the ones the processor is given: the prompt (after the chat template) and what was generated
since, as llama.cpp counts every token it accepted, the prompt's included.
"""

from __future__ import annotations

import torch
from transformers.generation.logits_process import LogitsProcessor


def token_counts(window: torch.LongTensor, vocab_size: int) -> torch.Tensor:
    """How often each token occurs in each row: (B, n) token ids -> (B, V) float counts."""
    counts = torch.zeros(window.shape[0], vocab_size, dtype=torch.float32, device=window.device)
    return counts.scatter_add_(1, window, torch.ones_like(window, dtype=torch.float32))


def penalize_counts(scores: torch.Tensor, counts: torch.Tensor, presence: float, frequency: float) -> torch.Tensor:
    """`scores` (B, V) less `counts * frequency + (counts > 0) * presence` (counts (B, V)), as a new tensor."""
    penalty = counts * frequency + (counts > 0).to(counts.dtype) * presence
    return scores - penalty.to(scores.dtype)


def last_tokens(input_ids: torch.LongTensor, last_n: int) -> torch.LongTensor:
    """The last `last_n` columns of `input_ids` (B, T), all of them for -1 (the whole context)."""
    return input_ids if last_n < 0 else input_ids[:, max(input_ids.shape[1] - last_n, 0) :]


class PresenceFrequencyPenaltyLogitsProcessor(LogitsProcessor):
    """Subtracts the presence and frequency penalties of the tokens in the last `last_n` tokens.

    Args:
        presence: subtracted once from every token that occurs in the window.
        frequency: subtracted once per occurrence.
        last_n: the window, in tokens; -1 for the whole context. 0 would count nothing: the registry leaves the
            stage out then.
    """

    def __init__(self, presence: float, frequency: float, last_n: int) -> None:
        if last_n < -1:
            raise ValueError(f"`last_n` has to be -1 or >= 0, but is {last_n}")
        self.presence = presence
        self.frequency = frequency
        self.last_n = last_n

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        counts = token_counts(last_tokens(input_ids, self.last_n), scores.shape[-1])  # (B, V)
        return penalize_counts(scores, counts, self.presence, self.frequency)
