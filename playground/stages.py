"""The stage registry: every logits-processing stage of a run, one record each, in the chain's default order.

A stage's facts live on its record, as a transformers processor carries its own on its class: its name (the trace's
spelling), kind, whether it reads the tokens before a position, the Settings fields it reads, the knob whose label
names it, its colour, when it is active and which processor it makes. The trace's stage list, the engine's chain,
the recording of a step and the figures' colours and labels all read this table; adding a stage is one row here
(plus its knob, its explanation section and, for a new processor, nothing else).

The module stays in the base layer: it names each processor by its import path ("transformers.TopKLogitsWarper",
or "playground.engine.samplers.top_n_sigma.TopNSigmaLogitsWarper" for one of ours) and the arguments it takes,
and the engine (`engine/processors.build_stages`) imports and makes it. So the trace, the plots and the command
line read the table without importing torch or transformers.

"raw" and "final" are the trace's names for the distribution before the first stage and after the last one: they
process nothing, so they are no rows here, only the two ends of `trace.STAGES`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from playground import palette
from playground.settings import Settings, SettingsError

RAW = "raw"  # the model's own logits, before any stage
FINAL = "final"  # what is decoded: the scores after the last active stage (the raw ones when none is)
# penalty: pushes down or bans tokens for what came before (any strategy); transform: reshapes every score (sampling);
# filter: only removes tokens (sampling; mirostat's cut is one, its draw the engine's own); selector: picks the token
# itself (none yet).
KINDS = ("penalty", "transform", "filter", "selector")


@dataclass(frozen=True)
class Where:
    """What building a stage needs beyond Settings: where the run's scores are and what came before them."""

    prompt_len: int  # tokens before the first generated one (min_new_tokens counts from there)
    eos_ids: list[int]  # end-of-sequence token ids
    device: Any  # the torch.device of the scores (typed loosely: this module does not import torch)
    tokenizer: Any = None  # the run's tokenizer, for a stage that reads token texts (DRY's sequence breakers)


# A series' reference lines from a run's settings (a trace's `settings` dict): [(value, what it is)], drawn across
# the series' row of the overview (mirostat's tau under the surprise, dynamic temperature's lowest and highest T).
References = Callable[[dict[str, Any]], list[tuple[float, str]]]


def _dynatemp_bounds(settings: dict[str, Any]) -> list[tuple[float, str]]:
    """Dynamic temperature's lowest and highest T (`samplers/dynatemp.py`): the temperature minus and plus the
    range, the lowest no less than 0."""
    centre, spread = settings["temperature"], settings["dynatemp_range"]
    return [(max(0.0, centre - spread), "lowest T"), (centre + spread, "highest T")]


@dataclass(frozen=True)
class StageSpec:
    """One processing stage: what it is, what it reads and how the engine makes it.

    `active` and `arguments` are pure functions of the settings (and `Where`); the engine builds
    `processor(**arguments(settings, where))` when the stage is active and the strategy applies it (a penalty
    applies to every strategy, the other kinds to sampling only, as transformers' warpers do).
    """

    name: str  # the trace's spelling: a key of a candidate's `probs`, a value of `removed_by`
    kind: str  # one of KINDS
    fields: tuple[str, ...]  # the Settings fields it reads
    knob: str  # the knob (playground/knobs.py) whose label names the stage and whose value it shows
    colour: str  # its bars and lines in every figure
    processor: str  # import path of the LogitsProcessor class it makes
    active: Callable[[Settings, Where], bool]
    arguments: Callable[[Settings, Where], dict[str, Any]]
    history: bool = False  # its scores depend on the tokens before a position (else every row is treated alike)
    # What the page calls the stage where its knob's label does not fit (a stage of several knobs: presence and
    # frequency); None: the knob's label. Named so, the stage shows no one knob's value (`plots.style.stage_setting`).
    label: str | None = None
    # Numbers of its step notes (`Step.notes[name]`) worth following over a run: (note key, what the overview's
    # line for it is called), or with a third item, the run's reference lines for it (`References`). A key whose
    # values are true/false is drawn as marks at the steps where it is true.
    series: tuple[tuple[str, str] | tuple[str, str, References], ...] = ()

    @property
    def sampling_only(self) -> bool:
        """Whether only sampling applies it (transformers' warpers: everything but the penalties)."""
        return self.kind != "penalty"

    def applies(self, settings: Settings, where: Where) -> bool:
        """Whether a run with `settings` has this stage in its chain."""
        return (settings.samples or not self.sampling_only) and self.active(settings, where)


def _spec(name: str, kind: str, colour: str, processor: str, active, arguments, **more: Any) -> StageSpec:
    """A row whose one field is its name and whose knob is that field, unless `more` says otherwise. `processor` is
    a class name in transformers, or the full import path of one of ours (playground.engine.samplers...)."""
    more.setdefault("fields", (name,))
    more.setdefault("knob", more["fields"][0])
    path = processor if "." in processor else f"transformers.{processor}"
    return StageSpec(name, kind, colour=colour, processor=path, active=active, arguments=arguments,
                     **more)  # fmt: skip


SAMPLERS = "playground.engine.samplers"  # our own processors' package (the engine layer, imported by path only)


# transformers' order (`GenerationMixin._get_logits_processor`): the penalties, then temperature, Top-H and the
# other filters. `test_processors` checks it against the list `generate` itself builds. Our own stages sit next to
# their neighbours in llama.cpp's chain: top-nσ just before top-k; smoothing, which reshapes every logit as
# temperature does, in temperature's place, just before it, so that its factor reads the model's own logit scale
# (d = logit - max in the model's units) and the temperature then divides what it made, as it divides raw logits.
CHAIN = (
    _spec("repetition_penalty", "penalty", palette.PURPLE, "RepetitionPenaltyLogitsProcessor",
          lambda s, w: s.repetition_penalty != 1.0, lambda s, w: dict(penalty=s.repetition_penalty), history=True),
    _spec("no_repeat_ngram", "penalty", palette.YELLOW, "NoRepeatNGramLogitsProcessor",
          lambda s, w: s.no_repeat_ngram_size > 0, lambda s, w: dict(ngram_size=s.no_repeat_ngram_size),
          fields=("no_repeat_ngram_size",), history=True),
    _spec("min_new_tokens", "penalty", palette.SKY, "MinNewTokensLengthLogitsProcessor",
          lambda s, w: s.min_new_tokens > 0 and bool(w.eos_ids),
          # The EOS ids go to `device` with the scores, as a tensor made there.
          lambda s, w: dict(prompt_length_to_skip=w.prompt_len, min_new_tokens=s.min_new_tokens,
                            eos_token_id=list(w.eos_ids), device=w.device), history=True),
    # Ours from here (playground/engine/samplers/), llama.cpp's penalties then DRY, after transformers' penalties.
    _spec("presence_frequency", "penalty", palette.SAND,
          f"{SAMPLERS}.presence_frequency.PresenceFrequencyPenaltyLogitsProcessor",
          lambda s, w: (s.presence_penalty != 0.0 or s.frequency_penalty != 0.0) and s.penalty_last_n != 0,
          lambda s, w: dict(presence=s.presence_penalty, frequency=s.frequency_penalty, last_n=s.penalty_last_n),
          fields=("presence_penalty", "frequency_penalty", "penalty_last_n"), history=True,
          label="Presence/frequency penalty"),
    _spec("dry", "penalty", palette.MAGENTA, f"{SAMPLERS}.dry.DRYLogitsProcessor",
          lambda s, w: s.dry_multiplier > 0.0 and s.dry_penalty_last_n != 0,
          lambda s, w: dict(multiplier=s.dry_multiplier, base=s.dry_base, allowed_length=s.dry_allowed_length,
                            last_n=s.dry_penalty_last_n, tokenizer=w.tokenizer,
                            sequence_breakers=s.dry_sequence_breakers),
          fields=("dry_multiplier", "dry_base", "dry_allowed_length", "dry_penalty_last_n", "dry_sequence_breakers"),
          history=True),
    _spec("smoothing", "transform", palette.TEAL, f"{SAMPLERS}.smoothing.SmoothingLogitsWarper",
          lambda s, w: s.smoothing_factor > 0.0,
          lambda s, w: dict(smoothing_factor=s.smoothing_factor, smoothing_curve=s.smoothing_curve),
          fields=("smoothing_factor", "smoothing_curve")),
    # Dynamic temperature takes temperature's place (llama.cpp's temp-ext is its temperature sampler): when it is on,
    # the temperature knob is the centre of its range and the plain temperature stage stands aside.
    _spec("dynatemp", "transform", palette.CORAL, f"{SAMPLERS}.dynatemp.DynamicTemperatureLogitsWarper",
          lambda s, w: s.dynatemp_range > 0.0,
          lambda s, w: dict(temperature=s.temperature, spread=s.dynatemp_range, exponent=s.dynatemp_exponent),
          fields=("dynatemp_range", "dynatemp_exponent", "temperature"), series=(("T", "T used", _dynatemp_bounds),)),
    _spec("temperature", "transform", palette.ORANGE, "TemperatureLogitsWarper",
          lambda s, w: s.temperature != 1.0 and s.dynatemp_range == 0.0, lambda s, w: dict(temperature=s.temperature)),
    _spec("top_h", "filter", palette.OLIVE, "TopHLogitsWarper",
          lambda s, w: s.top_h > 0.0, lambda s, w: dict(top_h=s.top_h)),
    _spec("top_n_sigma", "filter", palette.ROSE, f"{SAMPLERS}.top_n_sigma.TopNSigmaLogitsWarper",
          lambda s, w: s.top_n_sigma > 0.0, lambda s, w: dict(n_sigma=s.top_n_sigma)),
    _spec("top_k", "filter", palette.VERMILLION, "TopKLogitsWarper",
          lambda s, w: s.top_k != 0, lambda s, w: dict(top_k=s.top_k)),
    _spec("top_p", "filter", palette.GREEN, "TopPLogitsWarper",
          lambda s, w: s.top_p < 1.0, lambda s, w: dict(top_p=s.top_p)),
    _spec("min_p", "filter", palette.BLACK, "MinPLogitsWarper",
          lambda s, w: s.min_p > 0.0, lambda s, w: dict(min_p=s.min_p)),
    # XTC just after min-p, as llama.cpp places it; its coin has its own generators, seeded from the run's
    # (`samplers/xtc.py`), and is noted every step.
    _spec("xtc", "filter", palette.CYAN, f"{SAMPLERS}.xtc.XTCLogitsWarper",
          lambda s, w: s.xtc_probability > 0.0,
          lambda s, w: dict(threshold=s.xtc_threshold, probability=s.xtc_probability),
          fields=("xtc_probability", "xtc_threshold"), series=(("excluded_some", "steps where it excluded tokens"),)),
    _spec("typical_p", "filter", palette.SKY, "TypicalLogitsWarper",
          lambda s, w: s.typical_p < 1.0, lambda s, w: dict(mass=s.typical_p)),
    _spec("epsilon_cutoff", "filter", palette.INDIGO, "EpsilonLogitsWarper",
          lambda s, w: s.epsilon_cutoff > 0.0, lambda s, w: dict(epsilon=s.epsilon_cutoff)),
    # EtaLogitsWarper keeps its cutoff as a tensor on `device`, next to the scores.
    _spec("eta_cutoff", "filter", palette.WINE, "EtaLogitsWarper",
          lambda s, w: s.eta_cutoff > 0.0, lambda s, w: dict(epsilon=s.eta_cutoff, device=w.device)),
    # Mirostat last, after every other stage, so they shape what it cuts (llama.cpp skips them instead). The cut is
    # the visible stage; the engine's ordinary draw picks the token, and the stage updates mu from it.
    _spec("mirostat", "filter", palette.PINE, f"{SAMPLERS}.mirostat.MirostatLogitsWarper",
          lambda s, w: s.mirostat != 0,
          lambda s, w: dict(version=s.mirostat, tau=s.mirostat_tau, eta=s.mirostat_eta),
          fields=("mirostat", "mirostat_tau", "mirostat_eta"),
          series=(("mu", "mu (bits)"),
                  ("surprise", "surprise of the chosen token (bits)", lambda s: [(s["mirostat_tau"], "tau")]))),
)  # fmt: skip
BY_NAME = {spec.name: spec for spec in CHAIN}
# Stages that only remove tokens: a step's candidates are ranked by the distribution just before the first of them.
FILTERS = frozenset(spec.name for spec in CHAIN if spec.kind == "filter")
# Stages whose scores depend on the tokens before a position: rows with their own pasts go through them one by one.
HISTORY = frozenset(spec.name for spec in CHAIN if spec.history)


def run_order(sampler_order: Sequence[str] = (), temperature_last: bool = False) -> tuple[StageSpec, ...]:
    """Every stage a run may apply, in the order it applies them: `sampler_order`'s (the settings' names, already
    checked for repeats) or, when empty, the registry's; with `temperature_last`, the transforms (temperature and
    its kind) move to the end, keeping their own order. Raises SettingsError naming an unknown stage."""
    for name in sampler_order:
        if name not in BY_NAME:
            known = ", ".join(BY_NAME)
            raise SettingsError("sampler_order", f"sampler_order: {name!r} is not a stage; the stages are {known}")
    specs = tuple(BY_NAME[name] for name in sampler_order) if sampler_order else CHAIN
    if temperature_last:
        specs = (*(s for s in specs if s.kind != "transform"), *(s for s in specs if s.kind == "transform"))
    return specs


def run_chain(settings: Settings, where: Where) -> tuple[StageSpec, ...]:
    """The stages a run with `settings` applies, in its order (`run_order`); a listed stage that is off does nothing.

    A stage that `sampler_order` leaves out while the run would apply it is refused by name rather than skipped
    (llama.cpp skips it): a knob that is on but does nothing would mislead whoever set it.
    """
    specs = run_order(settings.sampler_order, settings.temperature_last)
    listed = {spec.name for spec in specs}
    for spec in CHAIN:
        if spec.name not in listed and spec.applies(settings, where):
            value = getattr(settings, spec.fields[0])
            raise SettingsError(
                "sampler_order",
                f"sampler_order leaves out {spec.name}, which this run applies ({spec.fields[0]} = {value!r}): "
                "list it, or switch it off",
            )
    return tuple(spec for spec in specs if spec.applies(settings, where))
