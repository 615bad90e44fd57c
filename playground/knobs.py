"""Every knob of a run, described once: its Settings field, its name for people, which strategies use it and
how the command line takes it. The CLI builds its flags from this table; the knob's longer explanation lives
in assets/explanations.md.

The field name is the knob's one spelling: in Settings, the trace, /run and, with dashes, the CLI flag.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any

from playground.settings import BEAM_STRATEGIES, PRECISIONS, STRATEGIES

SAMPLING = ("sample", "speculative")  # speculative samples only with do_sample
SPECULATIVE = ("speculative",)


def early_stopping(value: str) -> bool | str:
    """The command line's true / false / never, as Settings takes it."""
    choices = {"true": True, "false": False, "never": "never"}
    if value.lower() not in choices:
        raise argparse.ArgumentTypeError(f"must be true, false or never, got {value!r}")
    return choices[value.lower()]


@dataclass(frozen=True)
class Knob:
    name: str  # the Settings field
    label: str  # what the page calls it
    help: str  # one line for `--help`
    strategies: tuple[str, ...] = STRATEGIES  # the strategies that use it
    cli: dict[str, Any] = field(default_factory=dict)  # argparse keywords for its flag: type, action, choices

    @property
    def flag(self) -> str:
        """The command-line flag: the field name with dashes."""
        return "--" + self.name.replace("_", "-")


KNOBS = (
    Knob("strategy", "Strategy", "how the next token is chosen", cli=dict(choices=STRATEGIES)),
    Knob("temperature", "Temperature", "sampling: divides the logits (at least 0.01)", SAMPLING, dict(type=float)),
    Knob("top_k", "Top-k", "sampling: keep the k most likely tokens; 0 = off", SAMPLING, dict(type=int)),
    Knob("top_p", "Top-p", "sampling: keep the smallest set holding this probability; 1 = off", SAMPLING,
         dict(type=float)),
    Knob("min_p", "Min-p", "sampling: drop tokens below this share of the top token's probability; 0 = off",
         SAMPLING, dict(type=float)),
    Knob("typical_p", "Typical-p", "sampling: keep the most typical tokens holding this mass; 1 = off", SAMPLING,
         dict(type=float)),
    Knob("repetition_penalty", "Repetition penalty", "push down tokens already in the text; 1 = off (0.01-100)",
         cli=dict(type=float)),
    Knob("no_repeat_ngram_size", "No-repeat n-gram", "never repeat an n-gram of this size; 0 = off",
         cli=dict(type=int)),
    Knob("max_new_tokens", "Max new tokens", "the longest output", cli=dict(type=int)),
    Knob("min_new_tokens", "Min new tokens", "end-of-sequence is masked until this many tokens exist",
         cli=dict(type=int)),
    Knob("stop", "Stop strings", "stop string (repeatable)", cli=dict(action="append")),
    Knob("max_time", "Max time", "seconds (at most the server's limit)", cli=dict(type=float)),
    Knob("seed", "Seed", "seed of the run's random generator", SAMPLING, dict(type=int)),
    Knob("num_beams", "Number of beams", "beams kept at every step", BEAM_STRATEGIES, dict(type=int)),
    Knob("length_penalty", "Length penalty", "score = log-probability / length ** this", BEAM_STRATEGIES,
         dict(type=float)),
    Knob("early_stopping", "Early stopping", "true, false or never", BEAM_STRATEGIES, dict(type=early_stopping)),
    Knob("num_return_sequences", "Return sequences", "how many of the best sequences to return", BEAM_STRATEGIES,
         dict(type=int)),
    Knob("force_words", "Forced words", "constrained: a phrase that must appear (repeatable)", ("constrained",),
         dict(action="append")),
    Knob("force_one_of", "One of", 'constrained: options of which one must appear, "a|b|c" (repeatable)',
         ("constrained",), dict(action="append")),
    Knob("draft_model", "Draft", "speculative: draft model id or directory, or prompt-lookup (default: the "
         "target's weights)", SPECULATIVE),
    Knob("draft_precision", "Draft", "speculative: the draft model's precision", SPECULATIVE,
         dict(choices=PRECISIONS)),
    Knob("num_draft_tokens", "Draft tokens per round", "speculative: tokens proposed per round", SPECULATIVE,
         dict(type=int)),
    Knob("draft_schedule", "Draft schedule", "speculative: draft length schedule", SPECULATIVE,
         dict(choices=("constant", "adaptive"))),
    Knob("prompt_lookup_ngram", "Prompt lookup n-gram", "speculative with prompt-lookup: longest n-gram",
         SPECULATIVE, dict(type=int)),
    Knob("do_sample", "Sample", "speculative: sample (speculative sampling), not greedy", SPECULATIVE,
         dict(action="store_true", default=None)),
    Knob("measure_speedup", "Measure speed-up",
         "speculative: also time plain decoding of as many tokens and report the speed-up", SPECULATIVE,
         dict(action="store_true", default=None)),
    Knob("top_n", "Top candidates", "candidates recorded per step", cli=dict(type=int)),
    Knob("chat", "Prompt format", "apply the chat template (--chat) or feed the prompt as is (--raw)"),
)  # fmt: skip
BY_NAME = {knob.name: knob for knob in KNOBS}
