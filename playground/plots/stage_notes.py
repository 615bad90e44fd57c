"""What a stage said about a step beyond its probabilities (`Step.notes`), in words for the step view and as
lines over the run for the overview.

A stage that keeps notes (`engine/samplers/state.py`) gives its sentence here, one function of its note, the trace
and the step, in `SENTENCES`; the numbers worth following over a run are named on its registry row
(`StageSpec.series`), so the overview draws them without knowing the stage.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from playground.plots.dynatemp_note import dynatemp_sentence
from playground.plots.mirostat_note import mirostat_sentence
from playground.plots.penalty_marks import dry_sentence
from playground.plots.top_n_sigma_note import top_n_sigma_sentence
from playground.plots.xtc_note import xtc_sentence
from playground.stages import BY_NAME, StageSpec
from playground.trace import Trace

Sentence = Callable[[dict[str, Any], Trace, int], "str | None"]
# stage name -> its step note in words (None: nothing worth a line at this step)
SENTENCES: dict[str, Sentence] = {
    "xtc": xtc_sentence,
    "mirostat": mirostat_sentence,
    "dynatemp": dynatemp_sentence,
    "dry": dry_sentence,
    "top_n_sigma": top_n_sigma_sentence,
}


@dataclass(frozen=True)
class Series:
    """One stage note followed over a run's steps: what the overview draws a line (or marks) of."""

    stage: str
    key: str
    label: str
    steps: list[int]  # 1-based steps that have the note
    values: list[Any]  # the note's value at each of them (None where the step had none to give)
    lines: list[tuple[float, str]] = field(default_factory=list)  # the run's reference lines: (value, what)

    @property
    def marks(self) -> bool:
        """Whether the values are true/false: drawn as marks at the steps where they are true."""
        return all(isinstance(v, bool) for v in self.values)

    @property
    def mean(self) -> float | None:
        """The mean of the numbers over the steps that have one (None for marks, or where no step has a number)."""
        numbers = [v for v in self.values if isinstance(v, int | float) and not isinstance(v, bool)]
        return None if self.marks or not numbers else sum(numbers) / len(numbers)


def note_lines(trace: Trace, index: int) -> list[str]:
    """The sentences of every stage that noted something at step `index`, in the order the run applied them."""
    notes = trace.steps[index].notes or {}
    lines = []
    for stage in trace.stage_order():
        say = SENTENCES.get(stage)
        if stage in notes and say is not None and (line := say(notes[stage], trace, index)):
            lines.append(line)
    return lines


def note_series(trace: Trace, specs: Sequence[StageSpec] | None = None) -> list[Series]:
    """Every series (`StageSpec.series`) of `specs` (default: the stages this run applied) that some step noted,
    in the run's order, with its reference lines from the run's settings."""
    if specs is None:
        specs = [BY_NAME[name] for name in trace.stage_order() if name in BY_NAME]
    found = []
    for spec in specs:
        for key, label, *references in spec.series:
            noted = [(s.index + 1, s.notes[spec.name][key]) for s in trace.steps
                     if s.notes and key in s.notes.get(spec.name, {})]  # fmt: skip
            if noted:
                steps, values = zip(*noted, strict=True)
                lines = [line for refer in references for line in refer(trace.settings)]
                found.append(Series(spec.name, key, label, list(steps), list(values), lines))
    return found
