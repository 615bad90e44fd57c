"""Smoothing, or quadratic sampling (text-generation-webui's QuadraticSamplingLogitsWarper): every logit is bent
by its distance d = logit - max from the top one, logit' = max - k * f * d**2 + s * f * d**3, with
k = (3 - curve) / 2 and s = (curve - 1) / 2.

At curve 1 it is a pure quadratic (s = 0): the top logit stays where it is, a token within 1/f of it comes
closer (f * d**2 < |d|) and one farther away falls faster, so a small factor flattens the head of the
distribution and a large one sharpens it. A curve above 1 adds the cubic term, which steepens the tail further.
"""

from __future__ import annotations

import torch
from transformers.generation.logits_process import LogitsProcessor


def smooth_logits(scores: torch.Tensor, factor: float, curve: float) -> torch.Tensor:
    """Quadratic sampling's transform of each row; -inf logits (tokens already removed) stay -inf. A new tensor.

    Args:
        scores: (B, V) logits.
        factor: the smoothing factor f (> 0).
        curve: the smoothing curve; 1 is a pure quadratic.

    Returns:
        (B, V) max - k * f * d**2 + s * f * d**3, d = scores - the row's max.
    """
    k = (3 - curve) / 2
    s = (curve - 1) / 2
    # The row's own maximum: text-generation-webui takes `scores.max()` over the whole batch, which bends one
    # row by another's top logit when several rows go through at once.
    top = scores.amax(dim=-1, keepdim=True)  # (B, 1)
    d = scores - top
    bent = top - k * factor * d**2 + s * factor * d**3
    return torch.where(torch.isneginf(scores), scores, bent)


class SmoothingLogitsWarper(LogitsProcessor):
    """Smoothing (quadratic sampling) as a transformers warper.

    Args:
        smoothing_factor: f, how strongly the logits are bent; must be > 0.
        smoothing_curve: the curve; 1 (a pure quadratic) or more.
    """

    def __init__(self, smoothing_factor: float, smoothing_curve: float = 1.0):
        if not (isinstance(smoothing_factor, float) and smoothing_factor > 0):
            raise ValueError(f"`smoothing_factor` has to be a float > 0, but is {smoothing_factor}")
        if not (isinstance(smoothing_curve, float) and smoothing_curve >= 1):
            raise ValueError(f"`smoothing_curve` has to be a float >= 1, but is {smoothing_curve}")
        self.smoothing_factor = smoothing_factor
        self.smoothing_curve = smoothing_curve

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        return smooth_logits(scores, self.smoothing_factor, self.smoothing_curve)
