"""Every knob of a run, described once: its Settings field, its name for people, which strategies use it, the
page's control for it and how the command line takes it. The CLI builds its flags, and the page its controls,
their visibility and the /generate endpoint's parameters, from this table; the knob's longer explanation is the
section of assets/explanations.md named after it.

The field name is the knob's one spelling: in Settings, the trace, /run, /generate and, with dashes, the CLI flag.
Ranges a control shows come from here and the server's Limits; Settings checks every value whatever the control.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from typing import Any

from playground import stages
from playground.settings import (
    AUTO,
    BEAM_STRATEGIES,
    FREE_DRAFTS,
    MAX_DRAFT_TOKENS,
    MAX_MASS_DEPTH,
    MAX_SPEEDUP_PAIRS,
    MAX_TREE_SIZE,
    MEDUSA,
    PRECISIONS,
    PROMPT_LOOKUP,
    STRATEGIES,
)

DEFAULT_ORDER = ";".join(spec.name for spec in stages.CHAIN)  # the chain's order when sampler_order is empty
SAMPLING = ("sample", "speculative")  # speculative samples only with do_sample
SPECULATIVE = ("speculative",)
CONSTRAINED = ("constrained",)
DRAFT_KINDS = ("model", PROMPT_LOOKUP, MEDUSA, AUTO)  # what a speculative run drafts with


def draft_kind(draft_model: Any) -> str:
    """The kind of draft a draft_model value names: a model (the target's weights when empty), prompt lookup,
    the automatic draft, or    Medusa heads."""
    return draft_model if draft_model in FREE_DRAFTS else "model"


def early_stopping(value: str) -> bool | str:
    """The command line's true / false / never, as Settings takes it."""
    choices = {"true": True, "false": False, "never": "never"}
    if value.lower() not in choices:
        raise argparse.ArgumentTypeError(f"must be true, false or never, got {value!r}")
    return choices[value.lower()]


def whole_arg(value: str) -> int:
    """The command line's whole number: "50", or "50.0" as every other way in takes it; "50.5" is refused."""
    try:
        number = float(value)
        if number.is_integer():
            return int(value) if value.strip().lstrip("+-").isdigit() else int(number)
    except (ValueError, OverflowError):
        pass
    raise argparse.ArgumentTypeError(f"must be a whole number, got {value!r}")


def token_ids(value: str) -> tuple[int, ...]:
    """The command line's "12,7,99" as token ids."""
    try:
        return tuple(int(part) for part in value.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be token ids separated by commas, got {value!r}") from None


def strings_arg(value: str) -> list[str]:
    """The command line's list of strings: a JSON list ('["\\n", ":"]', so a line break can be written), or one
    string (the flag repeats for more)."""
    if not value.lstrip().startswith("["):
        return [value]
    try:
        items = json.loads(value)
    except json.JSONDecodeError:
        raise argparse.ArgumentTypeError(f"must be a JSON list of strings or one string, got {value!r}") from None
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise argparse.ArgumentTypeError(f"must be a JSON list of strings or one string, got {value!r}")
    return items


@dataclass(frozen=True)
class Widget:
    """The page's control for a knob. Its value is the Settings value, except text boxes (`text` says how
    their lines are read) and the draft choice ("" for the target's own weights)."""

    kind: str  # slider | number | checkbox | radio | dropdown | text
    minimum: float | None = None
    maximum: float | str | None = None  # a number, or the Limits field that bounds it
    step: float | None = None
    info: str | None = None
    choices: str | None = None  # radio and dropdown: the name of the page's list of choices
    text: str | None = None  # text: phrases | sets | lines | order (stage names joined by ;)
    placeholder: str | None = None
    value: Any = None  # the page's default where it differs from Settings' (None: Settings' default)
    side: bool = True  # in the side column of knobs (else under the prompt, beside its strategy)
    tab: str | None = None  # in this view tab, beside its button (else where `side` says)
    family: str | None = None  # the side column's family it sits in (a name in FAMILIES); every side knob names one

    def upper(self, limits: Any) -> float | None:
        """The largest value the control offers on a server with `limits`; a slider needs it above the minimum."""
        top = getattr(limits, self.maximum) if isinstance(self.maximum, str) else self.maximum
        if top is None or self.minimum is None:
            return top
        return max(top, self.minimum + (self.step or 1))


@dataclass(frozen=True)
class Family:
    """A family of the side column's knobs, drawn as one accordion under its name."""

    name: str  # the accordion's label, and what a knob's `Widget.family` says
    open: bool  # open when the page loads (closed ones open by themselves when a preset or a run sets their knobs)


# The side column, top to bottom: the families most runs touch open, the expert ones closed. DRY, the repetition
# sampler llama.cpp's users reach for first, stays open. A family no knob names yet is not drawn.
FAMILIES = (
    Family("Length and seed", open=True),
    Family("Beam search", open=True),
    Family("Temperature and shape", open=True),
    Family("Filters", open=True),
    Family("Penalties", open=True),
    Family("DRY", open=True),
    Family("Mirostat", open=False),
    Family("Order", open=False),
)


@dataclass(frozen=True)
class Knob:
    name: str  # the Settings field
    label: str  # what the page calls it
    help: str  # one line for `--help`
    strategies: tuple[str, ...] = STRATEGIES  # the strategies that use it
    cli: dict[str, Any] = field(default_factory=dict)  # argparse keywords for its flag: type, action, choices
    widget: Widget | None = None  # None: set from the command line and the API only
    greyed: bool = False  # on the page for every strategy, greyed where unused (the sampling pipeline's main knobs)
    drafts: tuple[str, ...] = DRAFT_KINDS  # speculative knobs: the kinds of draft that read it (shown only for those)

    @property
    def flag(self) -> str:
        """The command-line flag: the field name with dashes."""
        return "--" + self.name.replace("_", "-")

    @property
    def whole(self) -> bool:
        """Whether the knob takes whole numbers (a browser's number box sends 50.0 for 50)."""
        return self.cli.get("type") is whole_arg

    def used(self, strategy: Any, do_sample: Any = False) -> bool:
        """Whether a run with this strategy (and, for speculative decoding, do_sample) reads the knob."""
        if strategy not in self.strategies:
            return False
        return self.strategies != SAMPLING or strategy != "speculative" or bool(do_sample)


# The page's knobs come first, in the order of the /generate endpoint's parameters after model, precision and
# prompt: a new page knob goes after the last one with a widget, so callers that pass values by position keep
# working.
SAMPLING_ONLY = "Sampling only"
KNOBS = (
    Knob("chat", "Chat template", "apply the chat template (--chat) or feed the prompt as is (--raw)",
         widget=Widget("checkbox", info="Off: the prompt is fed to the model as is", value=True, side=False)),
    Knob("strategy", "Strategy", "how the next token is chosen", cli=dict(choices=STRATEGIES),
         widget=Widget("radio", choices="strategies", side=False)),
    Knob("temperature", "Temperature", "sampling: divides the logits (at least 0.01)", SAMPLING, dict(type=float),
         Widget("slider", 0.05, 2.0, 0.05, SAMPLING_ONLY, family="Temperature and shape"), greyed=True),
    # Settings rejects top_p = 0 (it would keep no token), so the slider starts one step above it.
    Knob("top_p", "Top-p", "sampling: keep the smallest set holding this probability; 1 = off", SAMPLING,
         dict(type=float), Widget("slider", 0.01, 1.0, 0.01, SAMPLING_ONLY, family="Filters"), greyed=True),
    Knob("top_k", "Top-k", "sampling: keep the k most likely tokens; 0 = off", SAMPLING, dict(type=whole_arg),
         Widget("slider", 0, 200, 1, "Sampling only; 0 = off", family="Filters"), greyed=True),
    Knob("min_p", "Min-p", "sampling: drop tokens below this share of the top token's probability; 0 = off",
         SAMPLING, dict(type=float), Widget("slider", 0.0, 1.0, 0.01, family="Filters")),
    Knob("typical_p", "Typical-p", "sampling: keep the most typical tokens holding this mass; 1 = off", SAMPLING,
         dict(type=float), Widget("slider", 0.01, 1.0, 0.01, family="Filters")),
    Knob("repetition_penalty", "Repetition penalty", "push down tokens already in the text; 1 = off (0.01-100)",
         cli=dict(type=float), widget=Widget("slider", 1.0, 2.0, 0.05, family="Penalties")),
    Knob("no_repeat_ngram_size", "No-repeat n-gram", "never repeat an n-gram of this size; 0 = off",
         cli=dict(type=whole_arg), widget=Widget("slider", 0, 10, 1, "0 = off", family="Penalties")),
    Knob("max_new_tokens", "Max new tokens", "the longest output", cli=dict(type=whole_arg),
         widget=Widget("slider", 1, "max_new_tokens", 1, family="Length and seed")),
    Knob("seed", "Seed", "seed of the run's random generator", SAMPLING, dict(type=whole_arg),
         Widget("number", 0, family="Length and seed")),
    Knob("num_beams", "Number of beams", "beams kept at every step", BEAM_STRATEGIES, dict(type=whole_arg),
         Widget("slider", 2, "max_beams", 1, family="Beam search")),
    Knob("length_penalty", "Length penalty", "score = log-probability / length ** this", BEAM_STRATEGIES,
         dict(type=float), Widget("slider", -2.0, 3.0, 0.1, family="Beam search")),
    Knob("num_return_sequences", "Return sequences", "how many of the best sequences to return", BEAM_STRATEGIES,
         dict(type=whole_arg), Widget("slider", 1, "max_beams", 1, family="Beam search")),
    Knob("force_words", "Forced words", "constrained: a phrase that must appear (repeatable)", CONSTRAINED,
         dict(action="append"), Widget("text", info="Phrases that must appear, separated by commas or lines",
                                       text="phrases", placeholder="umbrella, rainy day", side=False)),
    Knob("force_one_of", "One of", 'constrained: options of which one must appear, "a|b|c" (repeatable)',
         CONSTRAINED, dict(action="append"),
         Widget("text", info="At least one option must appear; one set per line", text="sets",
                placeholder="red | blue | green", side=False)),
    Knob("draft_model", "Draft", "speculative: auto (the default: prompt lookup, the suffix index of the model's "
         "answers or its Medusa heads, whichever pays, round by round), prompt-lookup, medusa (the target's shipped "
         "Medusa heads), a draft model id or directory, or '' for the target's own weights at --draft-precision",
         SPECULATIVE, widget=Widget("dropdown", choices="drafts", value=AUTO, side=False)),
    Knob("num_draft_tokens", "Draft tokens per round", "speculative: tokens proposed per round", SPECULATIVE,
         dict(type=whole_arg), Widget("slider", 1, MAX_DRAFT_TOKENS, 1, side=False), drafts=("model", PROMPT_LOOKUP)),
    Knob("do_sample", "Sample", "speculative: sample (speculative sampling), not greedy", SPECULATIVE,
         dict(action="store_true", default=None),
         Widget("checkbox", info="Speculative sampling, else greedy", side=False)),
    Knob("measure_speedup", "Measure speed-up",
         "speculative: also time plain decoding of as many tokens and report the speed-up", SPECULATIVE,
         dict(action="store_true", default=None),
         Widget("checkbox", info="Times plain and speculative decoding 3 times each (six times the wait)", value=True,
                side=False)),
    Knob("stop", "Stop strings", "stop string (repeatable)", cli=dict(action="append"),
         widget=Widget("text", text="lines", placeholder="one per line; \\n for a line break",
                       family="Length and seed")),
    Knob("draft_precision", "Draft precision", "speculative: the draft model's precision", SPECULATIVE,
         dict(choices=PRECISIONS), Widget("dropdown", choices="precisions", info="Of a draft model", side=False),
         drafts=("model",)),
    Knob("epsilon_cutoff", "Epsilon cutoff", "sampling: drop tokens whose probability is below this; 0 = off",
         SAMPLING, dict(type=float), Widget("slider", 0.0, 0.01, 0.0001, "0 = off; try 0.0003", family="Filters")),
    Knob("eta_cutoff", "Eta cutoff", "sampling: drop tokens below min(eta, sqrt(eta) * exp(-entropy)); 0 = off",
         SAMPLING, dict(type=float), Widget("slider", 0.0, 0.01, 0.0001, "0 = off; try 0.0006", family="Filters")),
    Knob("mass_depth", "Depth", "where the mass goes: tokens to look ahead (1-4)", cli=dict(type=whole_arg),
         widget=Widget("slider", 1, MAX_MASS_DEPTH, 1, "Tokens to look ahead", tab="mass")),
    Knob("mass_threshold", "Threshold", "where the mass goes: smallest joint probability shown (default 0.005)",
         cli=dict(type=float),
         widget=Widget("slider", 0.001, 0.05, 0.001, "Smallest probability shown; the rest is 'other'",
                       tab="mass")),
    Knob("num_samples", "Samples", "sampling: N continuations in one batch, seeds seed to seed + N - 1 (at most 64 "
         "tokens each)", ("sample",), dict(type=whole_arg),
         Widget("slider", 1, "max_samples", 1, "Continuations, seeds Seed to Seed + N - 1", value=32, tab="samples")),
    # Set from the command line and the API only.
    Knob("min_new_tokens", "Min new tokens", "end-of-sequence is masked until this many tokens exist",
         cli=dict(type=whole_arg)),
    Knob("max_time", "Max time", "seconds (at most the server's limit)", cli=dict(type=float)),
    Knob("early_stopping", "Early stopping", "true, false or never", BEAM_STRATEGIES, dict(type=early_stopping)),
    Knob("draft_schedule", "Draft schedule", "speculative: draft length schedule", SPECULATIVE,
         dict(choices=("constant", "adaptive")), drafts=("model", PROMPT_LOOKUP)),
    Knob("prompt_lookup_ngram", "Prompt lookup n-gram", "speculative with prompt-lookup or auto: longest n-gram",
         SPECULATIVE, dict(type=whole_arg), drafts=(PROMPT_LOOKUP, AUTO)),
    Knob("speedup_pairs", "Speed-up pairs", "speculative with --measure-speedup: time plain and speculative "
         f"decoding alternately this many times each, report the median (1-{MAX_SPEEDUP_PAIRS})", SPECULATIVE,
         dict(type=whole_arg)),
    Knob("top_n", "Top candidates", "candidates recorded per step", cli=dict(type=whole_arg)),
    # A branch (the page's "continue from here"; the command line's --continue-from sets both).
    Knob("prefix_ids", "Forced tokens", "token ids the output starts with, comma-separated: a branch's parent "
         "tokens, then the token chosen there", cli=dict(type=token_ids)),
    Knob("parent_run", "Branched from", "run id of the run this one branches from (recorded only)"),
    # Later knobs go last: /generate takes the page's controls by position too, and older callers' positions hold.
    Knob("tree_size", "Tree size", "speculative with medusa: the heads' guesses verified per round", SPECULATIVE,
         dict(type=whole_arg), Widget("slider", 1, MAX_TREE_SIZE, 1, info="Medusa heads: guesses verified per round",
                                side=False), drafts=(MEDUSA,)),
    Knob("top_h", "Top-H", "sampling: keep the likeliest tokens while they hold at most this share of the entropy; "
         "0 = off", SAMPLING, dict(type=float), Widget("slider", 0.0, 1.0, 0.01, "0 = off; try 0.4", family="Filters")),
    Knob("sampler_order", "Sampler order", "the stages in the order they run, separated by semicolons, as llama.cpp's "
         f"--samplers (default: {DEFAULT_ORDER})", cli=dict(type=str),
         widget=Widget("text", info="Stages by name or as the picker shows them, separated by ;, first to last; "
                       "empty = the default order shown", text="order", placeholder=DEFAULT_ORDER, family="Order")),
    Knob("temperature_last", "Temperature last", "sampling: apply temperature after every other stage",
         SAMPLING, dict(action="store_true", default=None),
         Widget("checkbox", info="Sampling only: temperature after the filters", family="Order")),
    Knob("top_n_sigma", "Top-nσ", "sampling: keep the tokens whose logit is within this many standard deviations "
         "of the top logit; 0 = off", SAMPLING, dict(type=float),
         Widget("slider", 0.0, 5.0, 0.05, "0 = off; try 1", family="Filters")),
    Knob("smoothing_factor", "Smoothing", "sampling: quadratic sampling, bends each logit by its squared distance "
         "from the top one; 0 = off", SAMPLING, dict(type=float),
         Widget("slider", 0.0, 5.0, 0.01, "0 = off; try 0.3", family="Temperature and shape")),
    Knob("smoothing_curve", "Smoothing curve", "sampling: smoothing's curve; 1 = a pure quadratic, above 1 the tail "
         "falls faster", SAMPLING, dict(type=float),
         Widget("slider", 1.0, 10.0, 0.1, "Used when smoothing is on", family="Temperature and shape")),
    Knob("presence_penalty", "Presence penalty", "subtract this from every token in the last penalty-last-n tokens; "
         "0 = off (-2 to 2)", cli=dict(type=float),
         widget=Widget("slider", -2.0, 2.0, 0.05, "0 = off", family="Penalties")),
    Knob("frequency_penalty", "Frequency penalty", "subtract this once per occurrence in the last penalty-last-n "
         "tokens; 0 = off (-2 to 2)", cli=dict(type=float),
         widget=Widget("slider", -2.0, 2.0, 0.05, "0 = off", family="Penalties")),
    Knob("penalty_last_n", "Penalty window", "presence and frequency penalties: the last n tokens counted, prompt "
         "included; -1 = the whole context, 0 = off (default 64)", cli=dict(type=whole_arg),
         widget=Widget("number", -1, info="Tokens counted, prompt included; -1 = all", family="Penalties")),
    Knob("dry_multiplier", "DRY", "DRY: penalty for extending a repeat; 0 = off (try 0.8)", cli=dict(type=float),
         widget=Widget("slider", 0.0, 5.0, 0.05, "0 = off; try 0.8", family="DRY")),
    Knob("dry_base", "DRY base", "DRY: the penalty grows by this factor per repeated token (1-10, default 1.75)",
         cli=dict(type=float), widget=Widget("slider", 1.0, 4.0, 0.05, family="DRY")),
    Knob("dry_allowed_length", "DRY allowed length", "DRY: the longest repeat left alone (default 2)",
         cli=dict(type=whole_arg), widget=Widget("slider", 1, 20, 1, family="DRY")),
    Knob("dry_penalty_last_n", "DRY window", "DRY: tokens searched for repeats; -1 = the whole context, 0 = off",
         cli=dict(type=whole_arg), widget=Widget("number", -1, info="-1 = the whole context", family="DRY")),
    Knob("dry_sequence_breakers", "DRY sequence breakers", "DRY: a token holding this text ends every repeat "
         '(repeatable, or a JSON list; default ["\\n", ":", "\\"", "*"])', cli=dict(action="extend", type=strings_arg),
         widget=Widget("text", text="lines", placeholder="one per line; \\n for a line break", family="DRY")),
    Knob("xtc_probability", "XTC", "sampling: the chance that a step removes every token with p >= xtc-threshold but "
         "the least probable of them (exclude top choices); 0 = off", SAMPLING, dict(type=float),
         Widget("slider", 0.0, 1.0, 0.05, "0 = off; try 0.5", family="Filters")),
    Knob("xtc_threshold", "XTC threshold", "sampling: XTC's top choices are the tokens with p >= this (0 to 0.5, "
         "default 0.1)", SAMPLING, dict(type=float),
         Widget("slider", 0.0, 0.5, 0.01, "Used when XTC is on; stops at 0.5, where XTC can still fire",
                family="Filters")),
    Knob("mirostat", "Mirostat", "sampling: 1 or 2 holds the chosen tokens' surprise near mirostat-tau bits, as the "
         "chain's last stage (llama.cpp skips the other samplers instead); 0 = off", SAMPLING, dict(type=whole_arg),
         Widget("slider", 0, 2, 1, "0 = off; runs last, after the other samplers (llama.cpp skips them)",
                family="Mirostat")),
    Knob("mirostat_tau", "Mirostat tau", "mirostat: the target surprise, in bits (default 5)", SAMPLING,
         dict(type=float), Widget("slider", 0.5, 10.0, 0.1, "Target surprise in bits; mu starts at twice it",
                                   family="Mirostat")),
    Knob("mirostat_eta", "Mirostat eta", "mirostat: how far each token's surprise moves mu, above 0 and at most 1 "
         "(default 0.1)", SAMPLING, dict(type=float),
         Widget("slider", 0.01, 1.0, 0.01, "mu's learning rate", family="Mirostat")),
    Knob("dynatemp_range", "Dynamic temperature", "sampling: temperature +- this range, higher where the model is "
         "unsure (by entropy); --temperature is the centre; 0 = off", SAMPLING, dict(type=float),
         Widget("slider", 0.0, 2.0, 0.05, "0 = off; Temperature is the centre; try 0.5",
                family="Temperature and shape")),
    Knob("dynatemp_exponent", "Dynamic temperature exponent", "sampling: dynamic temperature's exponent on the "
         "normalized entropy; 1 = linear, above 1 keeps T low longer (default 1)", SAMPLING, dict(type=float),
         Widget("slider", 0.1, 5.0, 0.05, "Used when dynamic temperature is on", family="Temperature and shape")),
)  # fmt: skip
BY_NAME = {knob.name: knob for knob in KNOBS}
PAGE_KNOBS = tuple(knob for knob in KNOBS if knob.widget is not None)
