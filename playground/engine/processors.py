"""The logits-processing stages of a run: transformers' own processor classes, in transformers' order.

`generate` builds a LogitsProcessorList and applies it in one call; here each processor is a named stage so
the distribution after every stage can be recorded. Which stages exist, when each is active and which processor
it makes is the stage registry's (`playground/stages.py`); the arithmetic is transformers'; only the bookkeeping
is ours.
"""

from __future__ import annotations

import importlib
from typing import Any

import torch
from transformers.generation.logits_process import LogitsProcessor

from playground.engine.samplers.state import Outcomes, StageState, mix_outcomes
from playground.settings import Settings
from playground.stages import HISTORY, StageSpec, Where, run_chain

Stage = tuple[str, LogitsProcessor]


def build_stages(
    settings: Settings, prompt_len: int, eos_ids: list[int], device: torch.device, tokenizer: Any = None
) -> list[Stage]:
    """The active processing stages for `settings`, in the run's order (`stages.run_chain`): by default the
    registry's, `stages.CHAIN`, the order transformers' `generate` applies them; else `settings.sampler_order`,
    with the transforms last when `settings.temperature_last`.

    Args:
        settings: the run's settings; warpers (temperature ... eta_cutoff) apply to sampling only.
        prompt_len: prompt length in tokens, for min_new_tokens.
        eos_ids: end-of-sequence token ids, masked until min_new_tokens exist.
        device: the model's device, where the scores will be (min_new_tokens keeps its EOS ids there).
        tokenizer: the run's tokenizer, for the stages that read token texts (DRY's breakers; none without it).

    Raises:
        SettingsError: `sampler_order` names no stage, or leaves out one this run applies.
    """
    where = Where(prompt_len, eos_ids, device, tokenizer)
    return [(spec.name, make_processor(spec, settings, where)) for spec in run_chain(settings, where)]


def make_processor(spec: StageSpec, settings: Settings, where: Where) -> LogitsProcessor:
    """The processor a registry row names, made with the arguments it takes from `settings`."""
    module, _, name = spec.processor.rpartition(".")
    return getattr(importlib.import_module(module), name)(**spec.arguments(settings, where))


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
        transformers' processors never modify their input in place, so the entries are independent. From a
        stage that gives several outcomes (a random one where nothing is drawn: `StageState.outcomes`) on, each
        entry is the mixture of what the chain gives on every outcome, as log-probabilities (`mix_outcomes`).
    """
    return [("raw", scores), *_through(stages, input_ids, scores)]


def _through(stages: list[Stage], input_ids: torch.LongTensor, scores: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
    """The scores after each of `stages`, branching at the first stage that gives outcomes."""
    staged = []
    for at, (name, processor) in enumerate(stages):
        ways = processor.outcomes(input_ids, scores) if isinstance(processor, StageState) else None
        if ways is not None:
            return [*staged, *_mixed(name, stages[at + 1 :], input_ids, ways)]
        scores = processor(input_ids, scores)
        staged.append((name, scores))
    return staged


def _mixed(name: str, rest: list[Stage], input_ids: torch.LongTensor, ways: Outcomes) -> list[tuple[str, torch.Tensor]]:
    """Stage `name`'s outcomes each taken through the `rest` of the chain, then every stage's entry mixed with the
    outcomes' weights: a filter after a random stage cuts each outcome, not their mixture."""
    ways = [(weight, scores) for weight, scores in ways if weight > 0]
    runs = [[(name, scores), *_through(rest, input_ids, scores)] for _, scores in ways]  # one chain per outcome
    weights = [weight for weight, _ in ways]
    return [
        (stage, mix_outcomes([(w, run[at][1]) for w, run in zip(weights, runs, strict=True)]))
        for at, (stage, _) in enumerate(runs[0])
    ]


def apply_stages_rows(
    stages: list[Stage], pasts: list[list[int]], scores: torch.Tensor
) -> list[tuple[str, torch.Tensor]]:
    """`apply_stages` for rows that each have their own past: row r of `scores` (R, V) follows `pasts[r]`, every
    token before it (a verified draft's positions, a draft tree's nodes), as a token-by-token run would have
    processed it.

    Stages that look at the past run row by row; when none is active, all rows go through at once (the first
    row's past stands in for every row's, since no remaining stage reads it).
    """
    if not any(name in HISTORY for name, _ in stages):
        ids = torch.tensor([pasts[0]], dtype=torch.long, device=scores.device).expand(scores.shape[0], -1)
        return apply_stages(stages, ids, scores)
    rows = [
        apply_stages(stages, torch.tensor([past], dtype=torch.long, device=scores.device), scores[r : r + 1])
        for r, past in enumerate(pasts)
    ]
    # [(stage, (R, V))] with the rows stacked again.
    return [(name, torch.cat([row[i][1] for row in rows])) for i, (name, _) in enumerate(rows[0])]


def stateful(stages: list[Stage]) -> list[tuple[str, StageState]]:
    """The stages with hooks (`samplers/state.py`), in the chain's order."""
    return [(name, p) for name, p in stages if isinstance(p, StageState)]


def start_stages(stages: list[Stage], generators: list[torch.Generator] | None) -> None:
    """Hands the run's generators, one per row (None: nothing is drawn), to every stage with hooks."""
    for _, processor in stateful(stages):
        processor.start(generators)


def after_choice(stages: list[Stage], tokens: torch.Tensor) -> None:
    """Tells every stage with hooks which (B,) tokens the step took."""
    for _, processor in stateful(stages):
        processor.chosen(tokens)


def keep_rows(stages: list[Stage], rows: list[int]) -> None:
    """Tells every stage with hooks that only `rows` of the batch go on."""
    for _, processor in stateful(stages):
        processor.keep(rows)


def resume_stages(stages: list[Stage], earlier: list[Stage]) -> None:
    """Each stage with hooks carries on from the same stage of `earlier`, the chain of the steps before."""
    before = dict(stateful(earlier))
    for name, processor in stateful(stages):
        if name in before:
            processor.resume(before[name])


def stage_notes(stages: list[Stage], row: int) -> dict[str, dict[str, Any]] | None:
    """What each stage with hooks said about `row` at the step just taken (`Step.notes`); None when none did."""
    notes = {name: note for name, p in stateful(stages) if (note := p.notes(row)) is not None}
    return notes or None
