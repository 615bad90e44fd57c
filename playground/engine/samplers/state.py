"""What a stage of ours may do beyond mapping scores to scores: remember per row, draw, and say what it did.

A transformers processor is a pure function of (input_ids, scores). Some samplers are not: XTC flips a coin each step
(from generators of its own, seeded from the run's, so a seed replays it), mirostat carries a target surprise mu from
one step to the next and updates it from the token drawn, and several stages have more to say about a step than the
probabilities show (the temperature dynamic temperature used, the span DRY found). Such a stage subclasses
`StageState`; the engine calls its hooks at fixed points of a run, and a plain processor has none of them
(`processors.stateful` picks the stages that do):

    start(generators)   before the first step, after any `resume` (whose state it keeps): the run's
                        generators, one per row; None when nothing is drawn (greedy, and the views that compute
                        a distribution rather than draw from it: Compare, the mass tree, a branch's forced
                        tokens), where a random stage gives exactly what the step samples from on average
    outcomes(ids, s)    every step, before __call__: where nothing is drawn, a random stage's possible scores,
                        each with its probability ([(weight, (B, V) scores)]); the engine then runs the rest of
                        the chain on each and mixes what they give (`mix_outcomes`), so that the final distribution
                        is exactly what the step samples from on average, whatever stages follow (a filter after
                        XTC acts on one outcome or the other, not on their mixture). None: call the stage.
                        A stage after it is then called once per outcome at the same step: keep its state
                        updates in `chosen`.
    __call__            every step, as any processor: (B, T) ids, (B, V) scores -> (B, V) scores
    chosen(tokens)      after the step's draw: the (B,) tokens taken, for a stage that updates from them
    notes(row)          then: what the stage did for that row at this step, JSON-ready, or None
    keep(rows)          the rows that go on, indices into the last call's batch; an index may repeat (the mass
                        tree's row that goes on as several children) and rows may leave (Sample many drops the
                        samples that ended). Per-row state, the last call's too, follows its row.
    resume(other)       take over `other`'s state: the same stage of the chain that ran the steps before
                        (a branch's forced tokens, then its strategy)

Notes are what the trace keeps (`Step.notes[stage name]`), so they hold plain numbers, strings and lists.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from transformers.generation.logits_process import LogitsProcessor

Outcomes = list[tuple[float, torch.Tensor]]  # [(probability, (B, V) scores)], the probabilities summing to 1


class StageState(LogitsProcessor):
    """A processor with the hooks above, each doing nothing until a subclass gives it something to do."""

    def start(self, generators: list[torch.Generator] | None) -> None:
        """The run's random generators, one per row (None when the run draws nothing: greedy)."""

    def outcomes(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> Outcomes | None:
        """The step's possible scores with their probabilities, where the run draws nothing; None: call the stage."""
        return None

    def notes(self, row: int) -> dict[str, Any] | None:
        """What the last call did for `row`, for the step's record; None when there is nothing to say."""
        return None

    def chosen(self, tokens: torch.Tensor) -> None:
        """The tokens taken after the last call, (B,) one per row."""

    def keep(self, rows: list[int]) -> None:
        """Only `rows` (indices into the last call's batch, in order, perhaps repeated) go on."""

    def resume(self, other: StageState) -> None:
        """Carry on from `other`, the same stage built for the steps before this one's first."""


def mix_outcomes(outcomes: Outcomes) -> torch.Tensor:
    """The distribution a step samples from when a stage gives several outcomes, as log-probabilities:
    log(sum_i w_i * softmax(scores_i)), (B, V). An outcome of weight 0 is left out; a single one left comes back
    as it is (its own scores, a token it removed still -inf).

    Args:
        outcomes: [(weight w_i, (B, V) scores_i)], the weights summing to 1.
    """
    ways = [(w, s) for w, s in outcomes if w > 0]
    if len(ways) == 1:
        return ways[0][1]
    logs = [torch.log_softmax(s.float(), dim=-1) + math.log(w) for w, s in ways]  # [(B, V)]
    return torch.logsumexp(torch.stack(logs), dim=0)
