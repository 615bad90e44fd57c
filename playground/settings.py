"""Every knob of a decoding run, in one validated dataclass, plus the server-side limits.

Defaults follow transformers' GenerationConfig: for sampling top_k 50, top_p 1.0, temperature 1.0; top_k 0,
top_p 1.0, typical_p 1.0, min_p 0.0, epsilon_cutoff 0.0 and eta_cutoff 0.0 switch that filter off, and so does
top_h 0.0 (transformers' None); so do our own samplers' top_n_sigma 0.0 and smoothing_factor 0.0. A bad value
raises `SettingsError` (a `ValueError`) naming the field and the value, e.g. "temperature must be > 0 for
sampling, got -1".
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any

STRATEGIES = ("greedy", "sample", "beam", "constrained", "speculative")
PRECISIONS = ("nf4", "fp4", "int8", "bf16", "fp32")
PROMPT_LOOKUP = "prompt-lookup"  # the draft_model value that drafts by n-gram lookup instead of a model
MEDUSA = "medusa"  # the draft_model value that drafts a tree with the target's Medusa heads
AUTO = "auto"  # the draft_model value that picks, round by round, the cheapest draft worth its cost
FREE_DRAFTS = (PROMPT_LOOKUP, MEDUSA, AUTO)  # draft_model values that load no second model
MAX_DRAFT_TOKENS = 16
MAX_TREE_SIZE = 63  # Medusa: guesses per round; with the root, 64 tokens in one verifying pass
BEAM_STRATEGIES = ("beam", "constrained")  # strategies that take the beam knobs
MAX_CONSTRAINTS = 8  # forced words plus one-of sets, per request
MAX_STOP_STRINGS = 8
MAX_PHRASE_CHARS = 200  # a stop string, forced word or one-of option
EARLY_STOPPING = (True, False, "never")
MAX_PENALTY = 2.0  # presence and frequency penalties, as OpenAI bounds them
MAX_LAST_N = 10**6  # a penalty window longer than any context
MAX_DRY_BASE = 10.0
MAX_DRY_MULTIPLIER = 100.0
MAX_DRY_ALLOWED_LENGTH = 100
MAX_DRY_BREAKERS = 16
DRY_SEQUENCE_BREAKERS = ("\n", ":", '"', "*")  # text-generation-webui's and llama.cpp's defaults
# Temperature and repetition penalty divide (or multiply) the logits: far below 0.01 the scaled logits overflow
# to infinity and the probabilities become NaN. Nothing a person can see changes below 0.01 anyway.
MIN_SCALE = 0.01
# Our samplers' upper bounds refuse only nonsense: at 100 σ top-nσ keeps every token of a real model, and a
# smoothing factor of 100 already keeps nothing beyond a tenth of a logit from the top (text-generation-webui's
# controls stop at 5 σ, a factor of 10 and a curve of 10).
MAX_SIGMAS = 100.0
MAX_SMOOTHING_FACTOR = 100.0
MAX_SMOOTHING_CURVE = 10.0
MIROSTAT_VERSIONS = (0, 1, 2)
# A surprise above 100 bits is a probability below 2**-100: mu there keeps every token a float32 softmax can give.
MAX_MIROSTAT_TAU = 100.0
# Dynamic temperature: a range of 10 either side already spans every temperature worth sampling at, and an
# exponent of 10 already keeps T at the bottom of its range for all but the flattest steps (text-generation-webui's
# controls stop at 5 for both).
MAX_DYNATEMP_RANGE = 10.0
MAX_DYNATEMP_EXPONENT = 10.0
RUN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what a trace's run_id looks like


class SettingsError(ValueError):
    """A setting is out of range or does not fit the others; `field` names the culprit."""

    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name


def _env_number(name: str, default: float, cast: type) -> Any:
    """Reads a numeric limit from the environment, so a host can tighten or loosen it without code."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = cast(raw)
    except ValueError as exc:
        raise SettingsError(name, f"environment variable {name} must be a number, got {raw!r}") from exc
    if value <= 0:
        raise SettingsError(name, f"environment variable {name} must be > 0, got {raw!r}")
    return value


@dataclass(frozen=True)
class Limits:
    """What the server allows, whatever a client sends. Each is set by a PLAYGROUND_* environment variable."""

    max_new_tokens: int = 1024  # PLAYGROUND_MAX_NEW_TOKENS
    max_beams: int = 8  # PLAYGROUND_MAX_BEAMS: also caps num_return_sequences
    max_prompt_tokens: int = 2048  # PLAYGROUND_MAX_PROMPT_TOKENS, counted after the chat template
    # Defaults suit a shared 2-vCPU host (Spaces' CPU basic): one run at a time, so one run may not hold the
    # model for more than two minutes.
    max_time: float = 120.0  # PLAYGROUND_MAX_TIME, seconds of generation per request
    max_top_n: int = 100  # PLAYGROUND_MAX_TOP_N: candidates recorded per step
    max_queue: int = 16  # PLAYGROUND_QUEUE_SIZE: requests waiting for the model; more are turned away
    max_trace_mb: float = 20.0  # PLAYGROUND_MAX_TRACE_MB: largest trace file the page loads
    # A browser session's run tree: its oldest leaves go beyond either bound; a runs file may hold as much.
    max_session_runs: int = 32  # PLAYGROUND_MAX_SESSION_RUNS
    max_session_mb: float = 64.0  # PLAYGROUND_MAX_SESSION_MB, the runs' traces as JSON
    max_mass_nodes: int = 1000  # PLAYGROUND_MAX_MASS_NODES: continuations a mass tree expands
    max_samples: int = 128  # PLAYGROUND_MAX_SAMPLES: continuations of one many-sample run
    max_sample_tokens: int = 64  # PLAYGROUND_MAX_SAMPLE_TOKENS: new tokens of each of them
    # PLAYGROUND_MAX_FORK_TOKENS: tokens a forking analysis may sample (positions x branches x samples x tokens);
    # 24 positions x 3 branches x 8 samples x 24 tokens = 13,824 fits.
    max_fork_tokens: int = 20_000

    @classmethod
    def from_env(cls) -> Limits:
        """Limits with every PLAYGROUND_* override from the environment applied."""
        return cls(
            max_new_tokens=_env_number("PLAYGROUND_MAX_NEW_TOKENS", cls.max_new_tokens, int),
            max_beams=_env_number("PLAYGROUND_MAX_BEAMS", cls.max_beams, int),
            max_prompt_tokens=_env_number("PLAYGROUND_MAX_PROMPT_TOKENS", cls.max_prompt_tokens, int),
            max_time=_env_number("PLAYGROUND_MAX_TIME", cls.max_time, float),
            max_top_n=_env_number("PLAYGROUND_MAX_TOP_N", cls.max_top_n, int),
            max_queue=_env_number("PLAYGROUND_QUEUE_SIZE", cls.max_queue, int),
            max_trace_mb=_env_number("PLAYGROUND_MAX_TRACE_MB", cls.max_trace_mb, float),
            max_session_runs=_env_number("PLAYGROUND_MAX_SESSION_RUNS", cls.max_session_runs, int),
            max_session_mb=_env_number("PLAYGROUND_MAX_SESSION_MB", cls.max_session_mb, float),
            max_mass_nodes=_env_number("PLAYGROUND_MAX_MASS_NODES", cls.max_mass_nodes, int),
            max_samples=_env_number("PLAYGROUND_MAX_SAMPLES", cls.max_samples, int),
            max_sample_tokens=_env_number("PLAYGROUND_MAX_SAMPLE_TOKENS", cls.max_sample_tokens, int),
            max_fork_tokens=_env_number("PLAYGROUND_MAX_FORK_TOKENS", cls.max_fork_tokens, int),
        )


@dataclass(frozen=True)
class Settings:
    """One decoding run's knobs. Construct it with keywords; it validates itself."""

    strategy: str = "greedy"  # greedy | sample | beam | constrained | speculative
    temperature: float = 1.0  # sampling only; divides the logits; at least 0.01
    smoothing_factor: float = 0.0  # sampling only; quadratic sampling's factor; 0.0 switches it off
    smoothing_curve: float = 1.0  # sampling only; quadratic sampling's curve, 1 (a pure quadratic) to 10
    top_k: int = 50  # sampling only; 0 switches it off
    top_p: float = 1.0  # sampling only; 1.0 switches it off
    min_p: float = 0.0  # sampling only; 0.0 switches it off
    top_h: float = 0.0  # sampling only; share of the entropy the kept tokens may hold; 0.0 switches it off
    top_n_sigma: float = 0.0  # sampling only; keeps logits within this many std devs of the top; 0.0 switches it off
    typical_p: float = 1.0  # sampling only; 1.0 switches it off
    epsilon_cutoff: float = 0.0  # sampling only; drops tokens below this probability; 0.0 switches it off
    eta_cutoff: float = 0.0  # sampling only; eta sampling's epsilon, scaled by the entropy; 0.0 switches it off
    repetition_penalty: float = 1.0  # every strategy; 1.0 switches it off; 0.01 to 100
    no_repeat_ngram_size: int = 0  # every strategy; 0 switches it off
    # The chain's stage names in the order they run ("top_k;top_p;..." or a list); () = the registry's order.
    sampler_order: tuple[str, ...] = ()
    temperature_last: bool = False  # move the temperature-like stages (kind "transform") to the end of the chain
    # Presence and frequency penalties (every strategy; OpenAI's semantics, llama.cpp's window): 0 switches each off.
    presence_penalty: float = 0.0  # subtracted from every token in the window; -2 to 2
    frequency_penalty: float = 0.0  # subtracted once per occurrence in the window; -2 to 2
    penalty_last_n: int = 64  # the window: the last n tokens, prompt included; -1 = the whole context, 0 = off
    # DRY (every strategy): logit -= dry_multiplier * dry_base ** (L - dry_allowed_length) for a repeat of length L.
    dry_multiplier: float = 0.0  # 0 switches it off
    dry_base: float = 1.75  # 1 to MAX_DRY_BASE
    dry_allowed_length: int = 2  # the longest repeat left alone; 1 to MAX_DRY_ALLOWED_LENGTH
    dry_penalty_last_n: int = -1  # tokens searched for repeats; -1 = the whole context, 0 = off
    dry_sequence_breakers: tuple[str, ...] = DRY_SEQUENCE_BREAKERS  # a token holding one of them ends every match
    # XTC (sampling only): with probability xtc_probability a step removes every token with p >= xtc_threshold but
    # the least probable of them, when there are two or more.
    xtc_threshold: float = 0.1  # 0 to 0.5 (above 0.5 at most one token can reach it, so XTC could never fire)
    xtc_probability: float = 0.0  # the chance a step's coin fires, 0 to 1; 0 switches it off
    # Mirostat (sampling only; llama.cpp's names): the chain's last stage cuts to a target surprise, tau bits.
    mirostat: int = 0  # 0 off, 1 (top-k from a Zipf estimate) or 2 (the surprise cut)
    mirostat_tau: float = 5.0  # the target surprise, in bits; mu starts at twice it
    mirostat_eta: float = 0.1  # how far one token's surprise moves mu, (0, 1]
    # Dynamic temperature (sampling only; llama.cpp's temp-ext): T = T_min + (T_max - T_min) * (H / ln N) ** exponent
    # with T_min = max(0, temperature - dynatemp_range), T_max = temperature + dynatemp_range. In place of the plain
    # temperature, which becomes the centre of the range.
    dynatemp_range: float = 0.0  # 0 switches it off; up to MAX_DYNATEMP_RANGE
    dynatemp_exponent: float = 1.0  # > 0, up to MAX_DYNATEMP_EXPONENT; 1 maps the normalized entropy linearly
    max_new_tokens: int = 64
    min_new_tokens: int = 0  # EOS is masked until this many tokens exist
    stop: tuple[str, ...] = ()  # stop strings, matched on the decoded text
    max_time: float | None = None  # seconds; None means the server's limit
    seed: int = 0  # seeds torch's generator before a sampling run
    num_samples: int = 1  # sampling only; above 1: that many continuations in one batch, seeds seed, seed + 1, ...
    num_beams: int = 4  # beam only
    length_penalty: float = 1.0  # beam only; score = sum logprob / length ** length_penalty
    early_stopping: bool | str = False  # beam only; True, False or "never", as in transformers
    num_return_sequences: int = 1  # beam only; at most num_beams
    force_words: tuple[str, ...] = ()  # constrained only; phrases that must appear
    force_one_of: tuple[tuple[str, ...], ...] = ()  # constrained only; sets of which one option must appear
    # speculative; a model id or path, "prompt-lookup", "medusa" (the target's heads), None = the target's weights
    draft_model: str | None = AUTO
    draft_precision: str = "bf16"  # speculative; the draft model's precision
    num_draft_tokens: int = 4  # speculative; tokens the draft proposes per round (the start, if adaptive)
    draft_schedule: str = "constant"  # speculative; constant | adaptive
    prompt_lookup_ngram: int = 3  # speculative with prompt lookup; the longest n-gram matched
    tree_size: int = 8  # speculative with Medusa heads; guesses verified per round (the draft tree's nodes)
    do_sample: bool = False  # speculative; sample with the speculative sampling rule, else greedy
    measure_speedup: bool = False  # speculative; then also time plain decoding of as many tokens, for the speed-up
    speedup_pairs: int = 3  # with measure_speedup: plain and speculative decoding timed alternately, this many each
    top_n: int = 20  # candidates recorded per step in the trace
    chat: bool | None = None  # apply the chat template; None means "when the model has one"
    # A branch: generated tokens forced before the strategy decides (the parent run's up to the branch point, then
    # the token chosen there); max_new_tokens and min_new_tokens count the tokens after them.
    prefix_ids: tuple[int, ...] = ()
    parent_run: str | None = None  # the run_id of the run branched from; recorded, changes nothing
    # Where the mass goes: every continuation up to mass_depth tokens whose probability under these settings is
    # at least mass_threshold.
    mass_depth: int = 2  # 1 to MAX_MASS_DEPTH tokens
    mass_threshold: float = 0.005  # MIN_MASS_THRESHOLD to 1
    limits: Limits = field(default_factory=Limits.from_env, compare=False, repr=False)

    def __post_init__(self) -> None:
        # JSON clients send 2 for 2.0, and transformers' processors refuse an int where they take a float, so
        # every float field holds a float; a boolean is not a number here, whatever the strategy.
        for name in FLOAT_FIELDS:
            value = getattr(self, name)
            if value is not None or name not in OPTIONAL_FIELDS:
                object.__setattr__(self, name, _as_float(name, value))
        # Likewise 50.0 counts as the whole number 50 (50.5 does not), and a knob's type is checked whether or not
        # the strategy uses it: the settings are recorded in the trace and may be run again with another one.
        for name in INT_FIELDS:
            object.__setattr__(self, name, _as_int(name, getattr(self, name)))
        for name in BOOL_FIELDS:
            _check(isinstance(getattr(self, name), bool), name, "must be true or false", getattr(self, name))
        # Normalize lists (CLI, JSON) to tuples so the dataclass stays hashable.
        object.__setattr__(self, "stop", _sequence("stop", self.stop))
        object.__setattr__(self, "sampler_order", _stage_names(self.sampler_order))
        object.__setattr__(
            self, "dry_sequence_breakers", _sequence("dry_sequence_breakers", self.dry_sequence_breakers)
        )
        object.__setattr__(self, "prefix_ids", _token_ids("prefix_ids", self.prefix_ids))
        object.__setattr__(self, "force_words", _strings("force_words", self.force_words))
        object.__setattr__(
            self,
            "force_one_of",
            tuple(_options(group) for group in _sequence("force_one_of", self.force_one_of)),
        )
        self.validate()

    def validate(self) -> None:
        """Raises SettingsError naming the first field whose value is out of range or inconsistent."""
        _check(
            self.strategy in STRATEGIES,
            "strategy",
            f"must be one of {', '.join(STRATEGIES)}",
            self.strategy,
        )
        self._validate_run()
        self._validate_shared()
        if self.samples:
            self._validate_sampling()
        _check_int("num_samples", self.num_samples, 1, self.limits.max_samples, SERVER_LIMIT)
        if self.num_samples > 1:
            self._validate_many()
        if self.strategy in BEAM_STRATEGIES:
            self._validate_beams()
        if self.strategy == "constrained":
            self._validate_constraints()
        if self.strategy == "speculative":
            self._validate_speculative()

    def _validate_run(self) -> None:
        """The run's size and where it starts: token counts, a branch's forced tokens and parent, the mass tree."""
        lim = self.limits
        _check_int("max_new_tokens", self.max_new_tokens, 1, lim.max_new_tokens, SERVER_LIMIT)
        _check_int("min_new_tokens", self.min_new_tokens, 0, self.max_new_tokens, " (max_new_tokens)")
        _check_int("top_n", self.top_n, 1, lim.max_top_n, SERVER_LIMIT)
        # A branch replays at most one run's worth of tokens.
        _check(
            len(self.prefix_ids) <= lim.max_new_tokens,
            "prefix_ids",
            f"may hold at most {lim.max_new_tokens} tokens{SERVER_LIMIT}",
            len(self.prefix_ids),
        )
        _check(
            self.parent_run is None or (isinstance(self.parent_run, str) and RUN_ID.fullmatch(self.parent_run)),
            "parent_run",
            "must be a run id (letters, digits, - and _, at most 64)",
            self.parent_run,
        )
        _check_int("mass_depth", self.mass_depth, 1, MAX_MASS_DEPTH)
        _check_float("mass_threshold", self.mass_threshold, low=MIN_MASS_THRESHOLD, high=1.0)

    def _validate_shared(self) -> None:
        """Checked whatever the strategy: stop strings, seed, the penalties, the time limit, the chat template."""
        _check(len(self.stop) <= MAX_STOP_STRINGS, "stop", f"allows at most {MAX_STOP_STRINGS} strings", len(self.stop))
        _check_int("seed", self.seed, 0, 2**63 - 1)
        _check_int("no_repeat_ngram_size", self.no_repeat_ngram_size, 0, 64)
        _check_float("repetition_penalty", self.repetition_penalty, low=MIN_SCALE, high=1 / MIN_SCALE)
        for number, name in enumerate(self.sampler_order):
            # Which names are stages is the registry's to say (`stages.run_order`): it sits above this module.
            _check(name not in self.sampler_order[:number], "sampler_order", "must list each stage once", name)
        self._validate_penalties()
        if self.max_time is not None:
            limit = self.limits.max_time
            _check_float("max_time", self.max_time, low=0.0, low_open=True, high=limit, why=SERVER_LIMIT)
        for text in self.stop:
            _check(isinstance(text, str) and text != "", "stop", "strings must be non-empty", text)
            check_text("stop", text, MAX_PHRASE_CHARS)
        _check(
            self.chat in (None, True, False),
            "chat",
            "must be true, false or unset",
            self.chat,
        )

    def _validate_penalties(self) -> None:
        """The presence and frequency penalties and DRY: every strategy applies them."""
        _check_float("presence_penalty", self.presence_penalty, low=-MAX_PENALTY, high=MAX_PENALTY)
        _check_float("frequency_penalty", self.frequency_penalty, low=-MAX_PENALTY, high=MAX_PENALTY)
        _check_int("penalty_last_n", self.penalty_last_n, -1, MAX_LAST_N)
        _check_float("dry_multiplier", self.dry_multiplier, low=0.0, high=MAX_DRY_MULTIPLIER)
        _check_float("dry_base", self.dry_base, low=1.0, high=MAX_DRY_BASE)
        _check_int("dry_allowed_length", self.dry_allowed_length, 1, MAX_DRY_ALLOWED_LENGTH)
        _check_int("dry_penalty_last_n", self.dry_penalty_last_n, -1, MAX_LAST_N)
        breakers = self.dry_sequence_breakers
        rule = f"allows at most {MAX_DRY_BREAKERS} strings"
        _check(len(breakers) <= MAX_DRY_BREAKERS, "dry_sequence_breakers", rule, len(breakers))
        for text in breakers:
            _check(isinstance(text, str) and text != "", "dry_sequence_breakers", "strings must be non-empty", text)
            check_text("dry_sequence_breakers", text, MAX_PHRASE_CHARS)

    def _validate_sampling(self) -> None:
        """The warpers' knobs, checked only when the run samples (they are recorded, and unused, otherwise)."""
        _check_float("temperature", self.temperature, low=0.0, low_open=True, context=" for sampling")
        _check_float("temperature", self.temperature, low=MIN_SCALE, context=" for sampling")
        _check_int("top_k", self.top_k, 0, 10**6)
        _check_float("top_p", self.top_p, low=0.0, high=1.0, low_open=True)
        _check_float("min_p", self.min_p, low=0.0, high=1.0)
        _check_float("top_h", self.top_h, low=0.0, high=1.0)
        # 0 is off; llama.cpp's -1 is not taken, so that a negative value is a mistake named, not a silent off.
        _check_float("top_n_sigma", self.top_n_sigma, low=0.0, high=MAX_SIGMAS)
        _check_float("smoothing_factor", self.smoothing_factor, low=0.0, high=MAX_SMOOTHING_FACTOR)
        # Below 1 the cubic term turns upwards and lifts the tail above the top token (text-generation-webui's
        # control also spans 1 to 10).
        _check_float("smoothing_curve", self.smoothing_curve, low=1.0, high=MAX_SMOOTHING_CURVE)
        _check_float("dynatemp_range", self.dynatemp_range, low=0.0, high=MAX_DYNATEMP_RANGE)
        _check_float("dynatemp_exponent", self.dynatemp_exponent, low=0.0, low_open=True, high=MAX_DYNATEMP_EXPONENT)
        _check_float("typical_p", self.typical_p, low=0.0, high=1.0, low_open=True)
        # transformers' warpers take a cutoff strictly between 0 and 1; 0 here means off.
        _check_float("epsilon_cutoff", self.epsilon_cutoff, low=0.0, high=1.0, high_open=True)
        _check_float("eta_cutoff", self.eta_cutoff, low=0.0, high=1.0, high_open=True)
        self._validate_xtc()
        self._validate_mirostat()

    def _validate_xtc(self) -> None:
        """XTC's threshold and probability, and what it cannot be combined with."""
        _check_float("xtc_threshold", self.xtc_threshold, low=0.0, high=1.0)
        _check_float("xtc_probability", self.xtc_probability, low=0.0, high=1.0)
        if self.xtc_probability == 0.0:
            return
        _check(
            self.xtc_threshold <= 0.5,
            "xtc_threshold",
            "must be at most 0.5 when XTC is on: at most one token can have a probability above 0.5, and XTC "
            "removes tokens only when two or more reach the threshold, so it could never fire",
            self.xtc_threshold,
        )
        _require(
            self.strategy != "speculative",
            "xtc_probability",
            "xtc_probability must be 0 with speculative sampling: its verification needs one fixed target distribution "
            "per step, and XTC's coin makes a step's distribution random (Sampling runs XTC)",
        )

    def _validate_mirostat(self) -> None:
        """Mirostat's knobs, and the runs that would apply it but cannot do so exactly. Like every sampling-only stage
        it is checked only when the run samples: greedy decoding, beam search and greedy speculative decoding draw no
        token and do not apply it."""
        _check(self.mirostat in MIROSTAT_VERSIONS, "mirostat", "must be 0 (off), 1 or 2", self.mirostat)
        _check_float("mirostat_tau", self.mirostat_tau, low=0.0, low_open=True, high=MAX_MIROSTAT_TAU)
        _check_float("mirostat_eta", self.mirostat_eta, low=0.0, low_open=True, high=1.0)
        if self.mirostat == 0:
            return
        _require(
            self.strategy != "speculative",
            "mirostat",
            "mirostat must be 0 with speculative sampling: its verification needs a target distribution that does not "
            "move with every token drawn (Sampling runs mirostat)",
        )
        _require(
            self.xtc_probability == 0.0,
            "mirostat",
            "mirostat must be 0 while XTC is on: where a run is replayed (a branch, Compare, the mass tree) XTC's coin "
            "is not known, so mu could not follow it",
        )

    def _validate_beams(self) -> None:
        """Beam search's knobs (beam and constrained strategies)."""
        _check_int("num_beams", self.num_beams, 2, self.limits.max_beams, SERVER_LIMIT)
        _check_int("num_return_sequences", self.num_return_sequences, 1, self.num_beams, " (num_beams)")
        _check_float("length_penalty", self.length_penalty, low=-10.0, high=10.0)
        _check(
            isinstance(self.early_stopping, bool) or self.early_stopping == "never",
            "early_stopping",
            "must be true, false or 'never'",
            self.early_stopping,
        )

    @property
    def samples(self) -> bool:
        """The run draws tokens at random (sampling, or speculative decoding with do_sample)."""
        return self.strategy == "sample" or (self.strategy == "speculative" and self.do_sample is True)

    def _validate_many(self) -> None:
        lim = self.limits
        _check(self.strategy == "sample", "num_samples", "above 1 needs the sample strategy", self.num_samples)
        _check(
            self.max_new_tokens <= lim.max_sample_tokens,
            "max_new_tokens",
            f"must be at most {lim.max_sample_tokens} with num_samples above 1{SERVER_LIMIT}",
            self.max_new_tokens,
        )

    def _validate_speculative(self) -> None:
        _check(
            self.draft_model is None or (isinstance(self.draft_model, str) and self.draft_model.strip() != ""),
            "draft_model",
            f"must be a model id, a directory, {PROMPT_LOOKUP!r}, {MEDUSA!r} or {AUTO!r}",
            self.draft_model,
        )
        _check(
            self.draft_precision in PRECISIONS,
            "draft_precision",
            f"must be one of {', '.join(PRECISIONS)}",
            self.draft_precision,
        )
        _check_int("num_draft_tokens", self.num_draft_tokens, 1, MAX_DRAFT_TOKENS)
        _check(
            self.draft_schedule in ("constant", "adaptive"),
            "draft_schedule",
            "must be constant or adaptive",
            self.draft_schedule,
        )
        _check_int("prompt_lookup_ngram", self.prompt_lookup_ngram, 1, 8)
        _check_int("tree_size", self.tree_size, 1, MAX_TREE_SIZE)
        _check_int("speedup_pairs", self.speedup_pairs, 1, MAX_SPEEDUP_PAIRS)

    def _validate_constraints(self) -> None:
        _check(
            bool(self.force_words or self.force_one_of),
            "force_words",
            "or force_one_of must hold at least one constraint for constrained beam search",
            list(self.force_words),
        )
        count = len(self.force_words) + len(self.force_one_of)
        _check(count <= MAX_CONSTRAINTS, "force_words", f"and force_one_of together allow {MAX_CONSTRAINTS}", count)
        for number, word in enumerate(self.force_words):
            _check(isinstance(word, str) and word.strip() != "", "force_words", "must be non-empty phrases", word)
            check_text("force_words", word, MAX_PHRASE_CHARS)
            # One occurrence meets both copies of a phrase: a second copy would promise what it cannot ask for.
            _check(word not in self.force_words[:number], "force_words", "must each be listed once", word)
        for group in self.force_one_of:
            _check(len(group) >= 1, "force_one_of", "sets must hold at least one option", list(group))
            for option in group:
                _check(
                    isinstance(option, str) and option.strip() != "",
                    "force_one_of",
                    "options must be non-empty",
                    list(group),
                )
                check_text("force_one_of", option, MAX_PHRASE_CHARS)

    @property
    def time_budget(self) -> float:
        """Seconds this run may take: the request's max_time, never more than the server's limit."""
        return self.limits.max_time if self.max_time is None else self.max_time

    @classmethod
    def within(cls, limits: Limits | None = None) -> Settings:
        """The default settings, with max_new_tokens and num_beams lowered where a host set smaller limits."""
        limits = limits or Limits.from_env()
        default = {f.name: f.default for f in dataclasses.fields(cls)}
        return cls(
            max_new_tokens=min(default["max_new_tokens"], limits.max_new_tokens),
            num_beams=min(default["num_beams"], limits.max_beams),
            limits=limits,
        )

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed, validated again."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The normalized settings as plain JSON-ready data (limits left out: they belong to the server)."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "limits"}
        data["stop"] = list(self.stop)
        data["dry_sequence_breakers"] = list(self.dry_sequence_breakers)
        data["force_words"] = list(self.force_words)
        data["force_one_of"] = [list(group) for group in self.force_one_of]
        data["prefix_ids"] = list(self.prefix_ids)
        data["sampler_order"] = list(self.sampler_order)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], limits: Limits | None = None) -> Settings:
        """Settings from plain data (a trace's `settings`, an API payload); unknown keys are an error."""
        names = {f.name for f in dataclasses.fields(cls)} - {"limits"}
        unknown = sorted(set(data) - names)
        if unknown:
            raise SettingsError(unknown[0], f"unknown setting {unknown[0]!r}")
        return cls(**data, limits=limits or Limits.from_env())


SERVER_LIMIT = " (the server's limit)"
MAX_SPEEDUP_PAIRS = 9  # each pair is two more decoding passes
MAX_MASS_DEPTH = 4  # tokens a mass tree looks ahead: each level is one batched forward pass
MIN_MASS_THRESHOLD = 0.0001  # below it a level could hold 10,000 continuations
FLOAT_FIELDS = tuple(f.name for f in dataclasses.fields(Settings) if f.type in ("float", "float | None"))
INT_FIELDS = tuple(f.name for f in dataclasses.fields(Settings) if f.type == "int")
BOOL_FIELDS = tuple(f.name for f in dataclasses.fields(Settings) if f.type == "bool")
OPTIONAL_FIELDS = frozenset(f.name for f in dataclasses.fields(Settings) if f.type.endswith("| None"))


def _sequence(name: str, value: Any) -> tuple:
    # One string means one item, not its characters.
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, (list, tuple)):
        raise SettingsError(name, f"{name} must be a string or a list of strings, got {value!r:.80}")
    return tuple(value)


def _stage_names(value: Any) -> tuple[str, ...]:
    """A chain order from "top_k; top_p" (llama.cpp's --samplers spelling) or ["top_k", "top_p"]; None and blanks
    give the default order, ()."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.split(";")
    if not isinstance(value, (list, tuple)) or not all(isinstance(name, str) for name in value):
        raise SettingsError("sampler_order", f"sampler_order must be stage names, got {value!r:.80}")
    return tuple(name.strip() for name in value if name.strip())


def _token_ids(name: str, value: Any) -> tuple[int, ...]:
    if not isinstance(value, (list, tuple)):
        raise SettingsError(name, f"{name} must be a list of token ids, got {value!r:.80}")
    for token in value:
        if isinstance(token, bool) or not isinstance(token, int) or token < 0:
            raise SettingsError(name, f"{name} must hold token ids (whole numbers >= 0), got {token!r:.80}")
    return tuple(value)


def _strings(name: str, value: Any) -> tuple:
    return tuple(v.strip() if isinstance(v, str) else v for v in _sequence(name, value))


def _options(group: Any) -> tuple:
    """A one-of set from "red | blue | green" or ["red", "blue", "green"]."""
    if isinstance(group, str):
        group = group.split("|")
    return _strings("force_one_of", group)


def check_text(name: str, text: str, max_chars: int) -> None:
    """Raises SettingsError unless `text` is at most `max_chars` characters of valid text: no lone surrogate
    (which no encoding can write) and no control character but tab, line feed and carriage return.
    Right-to-left marks, zero-width joiners and the like are text and pass."""
    if len(text) > max_chars:
        raise SettingsError(name, f"{name} is {len(text)} characters long, the server allows {max_chars}")
    for i, char in enumerate(text):
        code = ord(char)
        if 0xD800 <= code <= 0xDFFF:
            raise SettingsError(name, f"{name} holds a lone surrogate (U+{code:04X}) at character {i + 1}, not text")
        if (code < 0x20 and char not in "\t\n\r") or code == 0x7F:
            raise SettingsError(name, f"{name} holds the control character U+{code:04X} at character {i + 1}")


def _check(ok: bool, name: str, rule: str, value: Any) -> None:
    if not ok:
        raise SettingsError(name, f"{name} {rule}, got {value!r:.80}")


def _require(ok: bool, name: str, message: str) -> None:
    """Raises SettingsError(`name`, `message`) unless `ok`: for a refusal whose value says nothing more (0 or 1 of
    a knob that is simply on), so the message ends without "got ..."."""
    if not ok:
        raise SettingsError(name, message)


def _check_int(name: str, value: int, low: int, high: int | None, why: str = "") -> None:
    # `value` is already an int (`_as_int`, in __post_init__): only its range is left to check.
    if value < low:
        raise SettingsError(name, f"{name} must be >= {low}, got {value}")
    if high is not None and value > high:
        raise SettingsError(name, f"{name} must be <= {high}{why}, got {value}")


def _as_int(name: str, value: Any) -> int:
    """`value` as an int: a float that is a whole number becomes one; a boolean, text or a fraction raises."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise SettingsError(name, f"{name} must be a whole number, got {value!r:.80}")
    return value


def _as_float(name: str, value: Any) -> float:
    """`value` as a float: an int becomes one; a boolean, text, NaN or infinity raises SettingsError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SettingsError(name, f"{name} must be a number, got {value!r:.80}")
    try:
        number = float(value)
    except OverflowError:
        bits = value.bit_length()
        raise SettingsError(name, f"{name} must be a finite number, got an integer of {bits} bits") from None
    if math.isnan(number):
        raise SettingsError(name, f"{name} must be a number, got {value!r:.80}")
    if math.isinf(number):
        raise SettingsError(name, f"{name} must be a finite number, got {value}")
    return number


def _check_float(
    name: str,
    value: float,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    context: str = "",
    why: str = "",
    high_open: bool = False,
) -> None:
    # `value` is already a finite float (`_as_float`, in __post_init__): only its range is left to check.
    if low is not None and (value <= low if low_open else value < low):
        sign = ">" if low_open else ">="
        raise SettingsError(name, f"{name} must be {sign} {low:g}{context}, got {value:.12g}")
    if high is not None and (value >= high if high_open else value > high):
        sign = "<" if high_open else "<="
        raise SettingsError(name, f"{name} must be {sign} {high:g}{context}{why}, got {value:.12g}")
