"""The logits-processing stages of a run: transformers' own processor classes, in transformers' order.

`generate` builds a LogitsProcessorList and applies it in one call; here each processor is a named stage so
the distribution after every stage can be recorded. The arithmetic is transformers'; only the bookkeeping
is ours.
"""

from __future__ import annotations

import torch
from transformers import (
    EpsilonLogitsWarper,
    EtaLogitsWarper,
    MinNewTokensLengthLogitsProcessor,
    MinPLogitsWarper,
    NoRepeatNGramLogitsProcessor,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
    TypicalLogitsWarper,
)
from transformers.generation.logits_process import LogitsProcessor

from playground.settings import Settings

Stage = tuple[str, LogitsProcessor]

# Stages whose scores depend on the tokens before a position (the others treat every row alike).
HISTORY_STAGES = frozenset({"repetition_penalty", "no_repeat_ngram", "min_new_tokens"})


def build_stages(settings: Settings, prompt_len: int, eos_ids: list[int], device: torch.device) -> list[Stage]:
    """The active processing stages for `settings`, in the order transformers' `generate` applies them.

    Args:
        settings: the run's settings; warpers (temperature ... eta_cutoff) apply to sampling only.
        prompt_len: prompt length in tokens, for min_new_tokens.
        eos_ids: end-of-sequence token ids, masked until min_new_tokens exist.
        device: the model's device, where the scores will be (min_new_tokens keeps its EOS ids there).
    """
    stages: list[Stage] = []
    if settings.repetition_penalty != 1.0:
        stages.append(
            (
                "repetition_penalty",
                RepetitionPenaltyLogitsProcessor(settings.repetition_penalty),
            )
        )
    if settings.no_repeat_ngram_size > 0:
        stages.append(
            (
                "no_repeat_ngram",
                NoRepeatNGramLogitsProcessor(settings.no_repeat_ngram_size),
            )
        )
    if settings.min_new_tokens > 0 and eos_ids:
        stages.append(
            (
                "min_new_tokens",
                MinNewTokensLengthLogitsProcessor(
                    prompt_len, settings.min_new_tokens, torch.tensor(eos_ids, device=device), device=device
                ),
            )
        )
    if not settings.samples:
        return stages
    if settings.temperature != 1.0:
        stages.append(("temperature", TemperatureLogitsWarper(settings.temperature)))
    if settings.top_k != 0:
        stages.append(("top_k", TopKLogitsWarper(top_k=settings.top_k)))
    if settings.top_p < 1.0:
        stages.append(("top_p", TopPLogitsWarper(top_p=settings.top_p)))
    if settings.min_p > 0.0:
        stages.append(("min_p", MinPLogitsWarper(min_p=settings.min_p)))
    if settings.typical_p < 1.0:
        stages.append(("typical_p", TypicalLogitsWarper(mass=settings.typical_p)))
    if settings.epsilon_cutoff > 0.0:
        stages.append(("epsilon_cutoff", EpsilonLogitsWarper(epsilon=settings.epsilon_cutoff)))
    if settings.eta_cutoff > 0.0:
        # EtaLogitsWarper keeps its cutoff as a tensor on `device`, next to the scores.
        stages.append(("eta_cutoff", EtaLogitsWarper(epsilon=settings.eta_cutoff, device=device)))
    return stages


def apply_stages(
    stages: list[Stage], input_ids: torch.LongTensor, scores: torch.Tensor
) -> list[tuple[str, torch.Tensor]]:
    """Runs the stages in order and returns the scores after each, starting with ("raw", scores).

    Args:
        stages: from `build_stages`.
        input_ids: (B, T) every token so far, prompt included; the penalties look at them.
        scores: (B, V) float32 logits (or log-probabilities, for beam search).

    Returns:
        [(stage name, (B, V) scores)], one entry per stage plus "raw"; the last entry is what gets decoded.
        transformers' processors never modify their input in place, so the entries are independent.
    """
    staged = [("raw", scores)]
    for name, processor in stages:
        scores = processor(input_ids, scores)
        staged.append((name, scores))
    return staged


def apply_stages_rows(
    stages: list[Stage], pasts: list[list[int]], scores: torch.Tensor
) -> list[tuple[str, torch.Tensor]]:
    """`apply_stages` for rows that each have their own past: row r of `scores` (R, V) follows `pasts[r]`, every
    token before it (a verified draft's positions, a draft tree's nodes), as a token-by-token run would have
    processed it.

    Stages that look at the past run row by row; when none is active, all rows go through at once (the first
    row's past stands in for every row's, since no remaining stage reads it).
    """
    if not any(name in HISTORY_STAGES for name, _ in stages):
        ids = torch.tensor([pasts[0]], dtype=torch.long, device=scores.device).expand(scores.shape[0], -1)
        return apply_stages(stages, ids, scores)
    rows = [
        apply_stages(stages, torch.tensor([past], dtype=torch.long, device=scores.device), scores[r : r + 1])
        for r, past in enumerate(pasts)
    ]
    # [(stage, (R, V))] with the rows stacked again.
    return [(name, torch.cat([row[i][1] for row in rows])) for i, (name, _) in enumerate(rows[0])]
