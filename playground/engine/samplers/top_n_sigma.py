"""Top-nσ (Tang et al. 2024, arXiv 2411.07641, "Top-nσ: Not All Logits Are You Need"): keep the tokens whose
logit is within n standard deviations of the top logit.

The cut is measured in logits, not probabilities, so a temperature scales the maximum and σ alike and leaves the
kept set as it was: the filter does not care about temperature, before it or after it.
"""

from __future__ import annotations

import torch
from transformers.generation.logits_process import LogitsProcessor


def top_n_sigma_threshold(scores: torch.Tensor, n: float) -> torch.Tensor:
    """The lowest logit each row keeps: max - n * σ over that row's finite logits.

    Args:
        scores: (B, V) logits; -inf marks a token an earlier stage removed.
        n: how many standard deviations below the top logit the cut sits (> 0).

    Returns:
        (B, 1) the threshold; -inf for a row with no finite logit (nothing left to cut).
    """
    finite = torch.isfinite(scores)  # (B, V)
    count = finite.sum(dim=-1, keepdim=True).clamp(min=1)  # (B, 1)
    # σ over the finite logits only, as the paper defines it: a removed token has no logit. Counting it as 0 (as
    # text-generation-webui's warper does) pulls the mean towards 0 and inflates σ with every token removed.
    values = scores.masked_fill(~finite, 0.0)
    mean = values.sum(dim=-1, keepdim=True) / count
    # The population standard deviation (divided by the count, not count - 1), as the paper's reference code and
    # llama.cpp's llama_sampler_top_n_sigma compute it.
    variance = ((values - mean) ** 2).masked_fill(~finite, 0.0).sum(dim=-1, keepdim=True) / count
    top = scores.masked_fill(~finite, float("-inf")).amax(dim=-1, keepdim=True)  # (B, 1)
    return top - n * variance.sqrt()


def top_n_sigma_filter(scores: torch.Tensor, n: float, filter_value: float = -float("inf")) -> torch.Tensor:
    """`scores` with every logit below `top_n_sigma_threshold` set to `filter_value`; a new tensor.

    Args:
        scores: (B, V) logits.
        n: the number of standard deviations kept below the top logit (> 0).
        filter_value: what a removed token's logit becomes.
    """
    return scores.masked_fill(scores < top_n_sigma_threshold(scores, n), filter_value)


class TopNSigmaLogitsWarper(LogitsProcessor):
    """Top-nσ as a transformers warper: keeps the tokens with logit >= max(logit) - n * σ(finite logits).

    Args:
        n_sigma: the number of standard deviations kept below the top logit; must be > 0 (0 = off is the
            registry's business: an inactive stage makes no warper).
        filter_value: what a removed token's logit becomes.
    """

    def __init__(self, n_sigma: float, filter_value: float = -float("inf")):
        if not (isinstance(n_sigma, float) and n_sigma > 0):
            raise ValueError(f"`n_sigma` has to be a float > 0, but is {n_sigma}")
        self.n_sigma = n_sigma
        self.filter_value = filter_value

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        return top_n_sigma_filter(scores, self.n_sigma, self.filter_value)
