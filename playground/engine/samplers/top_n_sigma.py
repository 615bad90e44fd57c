"""Top-nσ (Tang et al. 2024, arXiv 2411.07641, "Top-nσ: Not All Logits Are You Need"): keep the tokens whose
logit is within n standard deviations of the top logit.

The cut is measured in logits, not probabilities, so a temperature scales the maximum and σ alike and leaves the
kept set as it was: the filter does not care about temperature, before it or after it.

Each step notes, per row, how many tokens it kept and where it cut, in the logits it received (`notes`).
"""

from __future__ import annotations

from typing import Any

import torch

from playground.engine.samplers.state import StageState


def top_n_sigma_threshold(scores: torch.Tensor, n: float) -> torch.Tensor:
    """The lowest logit each row keeps: max - n * σ over that row's finite logits.

    Args:
        scores: (B, V) logits; -inf marks a token an earlier stage removed.
        n: how many standard deviations below the top logit the cut sits (> 0).

    Returns:
        (B, 1) the threshold; -inf for a row with no finite logit (nothing left to cut).
    """
    top, sigma = top_and_sigma(scores)
    return top - n * sigma


def top_and_sigma(scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each row's top logit and the population standard deviation σ of its finite logits.

    Args:
        scores: (B, V) logits; -inf marks a token an earlier stage removed.

    Returns:
        ((B, 1) top logit, -inf for a row with no finite logit; (B, 1) σ, 0 for such a row).
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
    return top, variance.sqrt()


def top_n_sigma_filter(scores: torch.Tensor, n: float, filter_value: float = -float("inf")) -> torch.Tensor:
    """`scores` with every logit below `top_n_sigma_threshold` set to `filter_value`; a new tensor.

    Args:
        scores: (B, V) logits.
        n: the number of standard deviations kept below the top logit (> 0).
        filter_value: what a removed token's logit becomes.
    """
    return scores.masked_fill(scores < top_n_sigma_threshold(scores, n), filter_value)


class TopNSigmaLogitsWarper(StageState):
    """Top-nσ as a transformers warper: keeps the tokens with logit >= max(logit) - n * σ(finite logits), and
    notes for each row how many it kept, the cut-off, the top logit and σ.

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
        self._last: torch.Tensor | None = None  # (4, B): cut-off, top logit, σ, tokens kept, of the last call
        self._rows: list[list[float]] | None = None  # the same, read to the host once, when first noted

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        top, sigma = top_and_sigma(scores)  # (B, 1) each
        threshold = top - self.n_sigma * sigma
        removed = scores < threshold  # (B, V); a removed token (-inf) stays removed and is not counted as kept
        kept = (~removed & torch.isfinite(scores)).sum(dim=-1)  # (B,)
        numbers = (threshold[:, 0], top[:, 0], sigma[:, 0], kept)  # in float64: a count stays exact
        self._last, self._rows = torch.stack([x.double() for x in numbers]), None
        return scores.masked_fill(removed, self.filter_value)

    def notes(self, row: int) -> dict[str, Any] | None:
        """What the last call did to `row`: tokens kept, the cut-off (top - n * σ: a logit below it is removed),
        the top logit and σ, all in the logits the stage received; None for a row with no finite logit."""
        if self._last is None:
            return None
        if self._rows is None:  # one read of the step's numbers, only by a view that records notes
            self._rows = self._last.T.tolist()
        cutoff, top, sigma, kept = self._rows[row]
        if not kept:
            return None
        return {"kept": int(kept), "cutoff": cutoff, "top": top, "sigma": sigma}

    def keep(self, rows: list[int]) -> None:
        """The last call's numbers follow the rows that go on."""
        if self._last is not None:
            index = torch.tensor(rows, dtype=torch.long, device=self._last.device)
            self._last, self._rows = self._last[:, index], None
