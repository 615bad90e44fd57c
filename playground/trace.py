"""The Trace: every decision a run made, as plain JSON-ready data.

It is the single source for the UI text, plots, CLI output and export files; nothing downstream re-runs the
model. The format is public (`SCHEMA`): keep keys stable and bump the version when they change.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import types
import typing
from dataclasses import asdict, dataclass, field
from typing import Any

from playground.settings import FLOAT_FIELDS, PRECISIONS, RUN_ID
from playground.stages import CHAIN, FINAL, RAW, run_order

SCHEMA = "decoding-playground/trace@1"

# Names of the processing stages, in transformers' order (the stage registry's). A step records a candidate's
# probability after each stage that was active in the run ("raw" and "final" always are); the run applied them in
# its own order, `Trace.stage_order`.
STAGES = (RAW, *(spec.name for spec in CHAIN), FINAL)
# The temperatures a step records its normalisers at (Step.log_z): the step's candidates at each, exactly, from
# the one forward pass the run made.
TABLE_TEMPERATURES = (0.3, 0.7, 1.0, 1.5)
STOP_REASONS = ("eos", "max_new_tokens", "stop_string", "max_time", "cancelled")
ORIGINS = ("inherited", "forced")
BEAM_STATUSES = ("kept", "pruned", "finished", "returned")
EMIT_KINDS = ("bonus", "resampled", "corrected")
# Where prompt lookup found the tokens it copied: the person's own prompt, the chat template around it (its
# markers and default system prompt), or the text generated so far (a branch's forced tokens included).
LOOKUP_SOURCES = ("prompt", "template", "output")
# What drafted a round of the automatic draft, in the order it tries them: prompt lookup (the prompt and the text
# so far), the suffix index of the model's own answers, the Medusa heads; "none" for a plain step.
DRAFT_SOURCES = ("prompt-lookup", "suffix", "medusa", "none")


@dataclass
class ModelInfo:
    id: str
    source: str  # bundled-gguf | hub | local
    precision: str
    device: str
    memory_mb: float  # the model's footprint (parameters and buffers)
    vocab_size: int


@dataclass
class PromptInfo:
    text: str
    rendered: str  # after the chat template, if one was applied
    token_ids: list[int]


@dataclass
class OutputInfo:
    text: str  # cut before a matched stop string
    token_ids: list[int]  # every generated token, the stop string's too
    stop_reason: str


@dataclass
class Chosen:
    id: int
    text: str
    prob: float  # probability under the final distribution
    # Hex of the token's bytes when its text alone is not whole characters (a byte-level tokenizer split a
    # character over several tokens, each "�" on its own): views join them. None for every other token.
    bytes: str | None = None
    # Its 1-based rank among all tokens by the model's distribution (the order candidates are listed in): a
    # sampled token can rank far below the recorded candidates. None in traces written before ranks were kept.
    rank: int | None = None


@dataclass
class Candidate:
    id: int
    text: str
    logit: float  # the model's raw logit
    probs: dict[str, float]  # stage name -> probability after that stage
    removed_by: str | None  # first stage that gave it zero probability, if any
    # Hex of the token's bytes when its text alone is not whole characters, as Chosen.bytes; left out of the
    # JSON when None (most candidates), so the file does not grow by a key per candidate.
    bytes: str | None = None


@dataclass
class Step:
    index: int
    chosen: Chosen
    entropy: float  # nats, of the final distribution
    candidates: list[Candidate]
    origin: str | None = None  # a branch's forced steps: inherited (the parent's tokens) | forced (the chosen one)
    # Tokens of the vocabulary left with a probability above 0 in the final distribution (what top-k, top-p and
    # the other filters kept); None in traces written before it was recorded.
    kept: int | None = None
    # ln sum_v exp(logit_v / T) over the whole vocabulary of raw logits, for each T of TABLE_TEMPERATURES, keyed
    # by T as text ("0.3"): with a candidate's raw logit it gives the token's exact probability at temperature T,
    # exp(logit / T - log_z[T]). None in traces written before it was recorded.
    log_z: dict[str, float] | None = None
    # What a stage of ours did at this step beyond the probabilities, by stage name: values a view explains it with
    # (XTC's coin, mirostat's mu, the temperature dynamic temperature used, the span DRY found). Each stage says
    # what its notes hold (`engine/samplers/state.py`); None for a step no such stage ran in.
    notes: dict[str, dict[str, Any]] | None = None
    # The variance of the surprisal (-ln p) of the final distribution, sum p (-ln p - entropy)^2, in nats squared:
    # with `entropy`, how the step was uncertain (entropix's map). None in traces written before it was recorded.
    varentropy: float | None = None
    # The same two of the raw distribution, softmax of the model's logits before any stage (temperature 1): how
    # unsure the model itself was, whatever the sampler then did. None in traces written before they were recorded.
    raw_entropy: float | None = None
    raw_varentropy: float | None = None


@dataclass
class Branch:
    """Where a run branched from another: the steps before `at` are the parent's tokens, step `at` is the
    token chosen there, and the strategy decided every step after it."""

    parent: str | None  # the parent's run_id (None when the prefix did not come from a recorded run)
    at: int  # 1-based step of the chosen token, as the Output and the step slider count
    token: Chosen  # the chosen token, with its probability under the final distribution
    probs: dict[str, float]  # its probability after every stage: how unlikely the forced choice was


@dataclass
class BeamNode:
    id: int
    parent: int | None  # node this one extends; None for the first generated token
    step: int
    token_id: int
    text: str
    logprob: float  # the token's processed log-probability
    cum_logprob: float  # sum of logprob along the path
    score: float  # cum_logprob / length ** length_penalty
    status: str  # kept | pruned | finished | returned
    bank: int | None = None  # constraint bank (constrained beam search only)
    constraint: int | None = None  # index into beams.constraints of the constraint this token advanced


@dataclass
class BeamSequence:
    token_ids: list[int]
    text: str
    score: float
    satisfies_constraints: bool | None = None  # None when the run had no constraints


@dataclass
class ConstraintInfo:
    kind: str  # phrase | one_of
    words: list[str]  # the phrase, or the options of a one-of set, as typed
    token_ids: list[list[int]]  # every tokenization that satisfies it
    texts: list[str]  # those tokenizations decoded, for display


@dataclass
class Beams:
    nodes: list[BeamNode] = field(default_factory=list)
    sequences: list[BeamSequence] = field(default_factory=list)
    constraints: list[ConstraintInfo] = field(default_factory=list)  # constrained beam search only


@dataclass
class DraftInfo:
    source: str  # model | prompt-lookup | medusa
    id: str | None = None  # the draft model (source "model"), the heads file (source "medusa")
    precision: str | None = None  # its precision (source "model")
    ngram: int | None = None  # the longest n-gram matched (source "prompt-lookup")
    tree_size: int | None = None  # guesses verified per round (source "medusa")


@dataclass
class Proposal:
    id: int
    text: str
    q: float  # the draft's probability of this token (1 for prompt lookup)
    p: float  # the target's probability of it, under the same processors
    # True: kept; False: tested and rejected; None: never tested, as it came after the round's first rejection
    # (traces written before this was recorded said False; `from_dict` reads those as None).
    accepted: bool | None


@dataclass
class Emitted:
    id: int
    text: str
    kind: str  # bonus (all accepted) | resampled (sampling, after a rejection) | corrected (greedy)
    p: float | None = None  # the target's probability of it, under the run's processors (None in older traces)


@dataclass
class TreeNode:
    """One node of a Medusa round's draft tree. Node 0 is the root: the text's last token, which the target
    chose itself in the round before."""

    id: int  # token id
    text: str
    parent: int  # the parent node's index (-1 for the root)
    depth: int  # tokens after the root: head `depth` guessed it
    rank: int  # its rank among that head's guesses (0 = the head's best; -1 for the root)
    q: float  # the head's probability of it (1 for the root)
    p: float  # the target's probability of it after its parent, under the run's processors (1 for the root)
    accepted: bool  # on the path the target accepted (the root always is)


@dataclass
class SpeculativeRound:
    start: int  # index of the round's first generated token
    num_draft_tokens: int  # how many the draft proposed (the schedule's gamma, or fewer)
    proposed: list[Proposal]
    emitted: Emitted  # the target's own token after the accepted ones
    alpha: float  # estimated acceptance rate: mean over positions of sum_x min(p(x), q(x))
    expected_tokens: float  # expected_tokens(alpha, num_draft_tokens)
    tokens: int  # tokens the round emitted (fewer than accepted + 1 when the run stopped inside it)
    tree: list[TreeNode] | None = None  # Medusa heads: the round's whole tree, breadth first
    lookup: str | None = None  # prompt lookup: where the copied tokens start (LOOKUP_SOURCES); None if none
    # The automatic draft: which source drafted this round (DRAFT_SOURCES), or "none" when no draft was worth its
    # cost and the round was a plain step; None for a run with one fixed draft.
    source: str | None = None
    # The round's pass cost in one-token steps, c(k) for the k tokens it fed (`Speculative.cost_curve`); None
    # when the run measured no cost curve.
    cost: float | None = None

    def accepted_count(self) -> int:
        """How many of the round's draft tokens the target kept."""
        return sum(t.accepted is True for t in self.proposed)


@dataclass
class SpeedupPair:
    """One pair of timings of "Measure speed-up": speculative decoding, then plain decoding of as many tokens."""

    speculative_tokens_per_s: float
    plain_tokens_per_s: float

    @property
    def speedup(self) -> float:
        """The speculative rate over the plain one."""
        return self.speculative_tokens_per_s / self.plain_tokens_per_s


@dataclass
class Speculative:
    draft: DraftInfo
    num_draft_tokens: int  # the setting (the start, for the adaptive schedule)
    schedule: str  # constant | adaptive
    rounds: list[SpeculativeRound]
    acceptance_rate: float  # accepted / proposed draft tokens
    mean_accepted_per_round: float
    tokens_per_round: float  # generated tokens per target pass
    target_calls: int
    draft_calls: int
    draft_s: float
    verify_s: float
    plain_tokens_per_s: float | None = None  # only with measure_speedup: plain decoding's rate (median), same request
    speedup: float | None = None  # and the median of the pairs' speed-ups (a trace from before pairs: one reading)
    # Medusa heads: for depth d = 1, 2, ..., the share of rounds whose tree reached depth d that accepted a token
    # at depth d.
    acceptance_by_depth: list[float] | None = None
    # Measure speed-up's timings in the order taken, speculative then plain, alternately (None before pairs).
    speedup_pairs: list[SpeedupPair] | None = None
    # c(k) for k = 1, 2, ...: what a target pass over k new tokens cost, in one-token passes, measured on this
    # model, precision and device at the run's context length (None when the run did not size its rounds by it).
    cost_curve: list[float] | None = None


@dataclass
class PairedCandidate:
    """A token A or B finds likely at a step of A's path, with both probabilities."""

    id: int
    text: str  # decoded with A's tokenizer
    prob_a: float  # under A's distribution at that step
    prob_b: float  # under B's


@dataclass
class StepDivergence:
    """How A and B differ at one step of A's path."""

    index: int  # 0-based step
    token_id: int  # the token A took
    kl: float  # KL(A || B) in nats; inf where A can take a token a stage of B's removed (B gives it probability 0)
    uncovered: float  # A's probability on tokens B rules out (why kl is infinite)
    js: float  # Jensen-Shannon divergence, nats, in [0, ln 2]
    tv: float  # total variation distance, in [0, 1]
    top1_agree: bool  # A's and B's most likely tokens are the same
    prob_a: float  # A's probability of the token A took
    prob_b: float  # B's probability of it
    rank_b: int  # its rank under B (1 = B's most likely)
    # A's and B's most likely tokens together (compare.TOP_N each, of those it gives probability above 0), and
    # A's token; most likely under either first. Empty in comparisons made before candidates were recorded.
    candidates: list[PairedCandidate] = field(default_factory=list)
    # Where kl is infinite, why: the token A gives the most probability among those B rules out, and the stage of
    # B's that removed it (a STAGES name: "raw" when B's model itself gives it probability 0). None elsewhere,
    # and in comparisons made before it was recorded.
    removed_id: int | None = None
    removed_text: str | None = None
    removed_by: str | None = None


@dataclass
class Comparison:
    """Run A (a trace) against configuration B on A's path, and B's own text from the same prompt."""

    a_run: str | None  # A's run_id
    b_model: str
    b_precision: str
    b_changes: dict[str, Any]  # the settings in which B differs from A
    steps: list[StepDivergence]  # one per token of A's output
    b_token_ids: list[int]  # B's own text, decoded freely from the same prompt
    b_texts: list[str]  # those tokens' texts
    first_difference: int  # tokens A's and B's texts share before they first differ
    # Hex bytes of each of B's tokens that is part of a split character (as a step's chosen.bytes), else None;
    # empty in comparisons made before it was recorded.
    b_bytes: list[str | None] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The comparison as nested dicts and lists for JSON, which has no infinity: an infinite KL is written
        as null (its step's `uncovered` says how much of A's probability B rules out)."""
        data = asdict(self)
        for step in data["steps"]:
            if not math.isfinite(step["kl"]):
                step["kl"] = None
        return data


@dataclass
class ProbeStep:
    """The probed token at one step of the run."""

    index: int  # 0-based step
    chosen_id: int  # the token the run took there
    chosen_prob: float  # its probability under the run's final distribution
    probs: dict[str, float]  # stage name -> the probed token's (the word's first token's) probability after it
    ranks: dict[str, int]  # stage name -> its rank (1 = most likely) among the whole vocabulary after that stage
    word_probs: dict[str, float] | None = None  # stage -> p(t1) p(t2 | t1) ... of the whole word; None: one token


@dataclass
class Probe:
    """What was probed and its figures at every step."""

    query: str  # as typed
    form: str  # the text probed (" word" after a space), or the token's text for an id
    token_ids: list[int]
    pieces: list[str]  # each token's text
    note: str  # which form was probed and why, and how the other form splits
    steps: list[ProbeStep]

    def to_dict(self) -> dict[str, Any]:
        """The probe as nested dicts and lists for JSON."""
        return asdict(self)


@dataclass
class Sample:
    """One continuation of a many-sample run, kept small: its tokens and each one's probability, not its
    candidates (re-running its seed alone gives those)."""

    seed: int
    token_ids: list[int]  # a run from a prefix (prefix_ids): the forced tokens first, as its single run's output
    probs: list[float]  # each chosen token's probability under the final distribution it was drawn from
    text: str
    stop_reason: str


@dataclass
class Samples:
    """A many-sample run: `num_samples` continuations of one prompt with seeds seed, seed + 1, ..., decoded as
    one batch. The trace's steps and output are the first sample's, with every candidate recorded."""

    samples: list[Sample]
    texts: dict[str, str]  # the text of every token id the samples hold (keyed by the id as a string, as JSON keys)
    forward_passes: int
    batch_s: float  # decoding time of the whole batch


@dataclass
class MassNode:
    """One continuation in a mass tree: a token after its parent's path, with the probabilities that make it
    exact. At every node, the children's joint probabilities plus `other` equal the node's own."""

    token_id: int | None  # None at the root (the prompt)
    text: str
    prob: float  # its probability after its parent's path: the final distribution there, after every stage
    joint: float  # the probability of the whole path from the prompt (product of `prob` along it)
    other: float = 0.0  # joint probability of the continuations not shown: below the threshold or the node cap
    ended: bool = False  # the path ends here (end of sequence): nothing follows
    children: list[MassNode] = field(default_factory=list)


@dataclass
class MassTree:
    """Where the probability mass goes in the next few tokens: every continuation up to `depth` tokens whose
    joint probability under the settings is at least `threshold`, and the mass below it as "other"."""

    model: ModelInfo
    settings: dict[str, Any]
    prompt: PromptInfo
    depth: int
    threshold: float
    root: MassNode
    nodes: int  # continuations expanded (the root not counted)
    capped: bool  # the server's node cap stopped the expansion: some mass above the threshold is in "other"
    forward_passes: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)


def expected_tokens(alpha: float, gamma: int) -> float:
    """Expected tokens emitted per round with acceptance rate alpha and gamma proposals:
    (1 - alpha^(gamma+1)) / (1 - alpha) (Leviathan et al. 2023, eq. 1)."""
    if alpha >= 1.0:
        return float(gamma + 1)
    return (1.0 - alpha ** (gamma + 1)) / (1.0 - alpha)


@dataclass
class Timing:
    load_s: float
    prefill_s: float
    decode_s: float
    total_s: float
    new_tokens: int
    tokens_per_s: float


@dataclass
class Trace:
    model: ModelInfo
    settings: dict[str, Any]
    prompt: PromptInfo
    output: OutputInfo
    steps: list[Step]
    timing: Timing
    beams: Beams | None = None
    speculative: Speculative | None = None
    run_id: str | None = None  # unique per run (None in traces written before runs had ids)
    branch: Branch | None = None  # set when the run continues another from a chosen token
    samples: Samples | None = None  # set for a many-sample run (settings.num_samples > 1)
    schema: str = SCHEMA

    def stage_order(self) -> tuple[str, ...]:
        """Every stage name in the order this run applied them, "raw" first and "final" last: `stages.run_order` of
        its settings (a trace from before sampler_order ran the registry's order). Raises ValueError naming a
        stage of settings.sampler_order that is none."""
        order = self.settings.get("sampler_order") or ()
        specs = run_order(order, bool(self.settings.get("temperature_last")))
        return (RAW, *(spec.name for spec in specs), FINAL)

    def to_dict(self) -> dict[str, Any]:
        """The trace as nested dicts and lists, schema first. Optional values that are not set are left out, as
        the format has always had them (a prompt-lookup draft has no model id, a step that was not forced has
        no origin, a run that is not a branch no branch)."""
        data = asdict(self)
        for step in data["steps"]:
            for key in ("origin", "log_z", "notes", "varentropy", "raw_entropy", "raw_varentropy"):
                if step[key] is None:
                    del step[key]
            for candidate in step["candidates"]:
                if candidate["bytes"] is None:
                    del candidate["bytes"]
        for key in ("run_id", "branch", "samples"):
            if data[key] is None:
                del data[key]
        if data["speculative"] is not None:
            spec = data["speculative"]
            spec["draft"] = {key: value for key, value in spec["draft"].items() if value is not None}
            for key in ("plain_tokens_per_s", "speedup", "acceptance_by_depth", "speedup_pairs", "cost_curve"):
                if spec[key] is None:
                    del spec[key]
            for spec_round in spec["rounds"]:
                # only tree rounds have a tree, only prompt lookup a place, only the automatic draft a source
                for key in ("tree", "lookup", "source", "cost"):
                    if spec_round[key] is None:
                        del spec_round[key]
                if spec_round["emitted"]["p"] is None:  # a trace loaded from before p was recorded
                    del spec_round["emitted"]["p"]
        return {"schema": data.pop("schema"), **data}

    def to_json(self, indent: int | None = None) -> str:
        """The trace as one JSON document."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trace:
        """Re-imports an exported trace; raises ValueError on another schema."""
        if data.get("schema") != SCHEMA:
            raise ValueError(f"schema must be {SCHEMA!r}, got {data.get('schema')!r}")
        beams = data.get("beams")
        return cls(
            model=ModelInfo(**data["model"]),
            settings=_settings_from_dict(data["settings"]),
            prompt=PromptInfo(**data["prompt"]),
            output=OutputInfo(**data["output"]),
            steps=[_step_from_dict(s) for s in data["steps"]],
            timing=Timing(**data["timing"]),
            beams=None
            if beams is None
            else Beams(
                nodes=[BeamNode(**n) for n in beams["nodes"]],
                sequences=[BeamSequence(**s) for s in beams["sequences"]],
                constraints=[ConstraintInfo(**c) for c in beams.get("constraints", [])],
            ),
            speculative=_speculative_from_dict(data.get("speculative")),
            run_id=data.get("run_id"),
            branch=None
            if data.get("branch") is None
            else Branch(**{**data["branch"], "token": Chosen(**data["branch"]["token"])}),
            samples=None
            if data.get("samples") is None
            else Samples(**{**data["samples"], "samples": [Sample(**sample) for sample in data["samples"]["samples"]]}),
        )

    @classmethod
    def from_json(cls, text: str) -> Trace:
        """Re-imports a trace written by `to_json`."""
        return cls.from_dict(json.loads(text))

    def validate(self) -> None:
        """Raises ValueError naming the first value whose type or range does not fit the format: a file someone
        uploads may hold anything, and the views must not fail halfway on it."""
        _check_value(self, Trace, "trace")
        if self.output.stop_reason not in STOP_REASONS:
            raise ValueError(f"output.stop_reason must be one of {', '.join(STOP_REASONS)}")
        if self.run_id is not None and not RUN_ID.fullmatch(self.run_id):
            raise ValueError("run_id must be a run id (letters, digits, - and _, at most 64)")
        if self.model.precision not in PRECISIONS:
            raise ValueError(f"model.precision must be one of {', '.join(PRECISIONS)}")
        if self.model.vocab_size < 1:
            raise ValueError("model.vocab_size must be at least 1")
        vocab, ids = self.model.vocab_size, self.output.token_ids
        if not all(0 <= token < vocab for token in ids):
            raise ValueError(f"output.token_ids must be token ids of the model (0 to {vocab - 1})")
        # Every strategy records one step per generated token (beam search: along the returned best beam).
        if len(self.steps) != len(ids):
            raise ValueError(f"steps must hold one step per generated token ({len(ids)}), got {len(self.steps)}")
        for position, step in enumerate(self.steps):
            _check_step(step, position, ids[position])
        if self.beams is not None:
            for node in self.beams.nodes:
                if node.status not in BEAM_STATUSES:
                    raise ValueError(f"beams.nodes[{node.id}].status must be one of {', '.join(BEAM_STATUSES)}")
        for name in FLOAT_FIELDS:
            if self.settings.get(name) is not None:
                _check_value(self.settings[name], float, f"trace.settings.{name}")
        self.stage_order()  # raises naming a stage of settings.sampler_order that is none
        if self.samples is not None:
            for index, sample in enumerate(self.samples.samples):
                if sample.stop_reason not in STOP_REASONS:
                    raise ValueError(f"samples.samples[{index}].stop_reason must be one of {', '.join(STOP_REASONS)}")
                if len(sample.probs) != len(sample.token_ids):
                    raise ValueError(f"samples.samples[{index}] must have one probability per token")
        if self.speculative is not None:
            for index, spec_round in enumerate(self.speculative.rounds):
                _check_round(spec_round, index)
                for number, node in enumerate(spec_round.tree or []):
                    if not -1 <= node.parent < number or (node.parent < 0) != (number == 0):
                        raise ValueError(
                            f"speculative.rounds[{index}].tree[{number}].parent must be an earlier node (-1 for the "
                            "root, node 0)"
                        )
            for index, pair in enumerate(self.speculative.speedup_pairs or []):
                if not (pair.speculative_tokens_per_s > 0 and pair.plain_tokens_per_s > 0):
                    raise ValueError(f"speculative.speedup_pairs[{index}] must hold two rates above 0")
            if self.speculative.cost_curve is not None and not all(c > 0 for c in self.speculative.cost_curve):
                raise ValueError("speculative.cost_curve must hold costs above 0")


def _check_round(spec_round: SpeculativeRound, index: int) -> None:
    """Raises ValueError naming what in speculative round `index` does not fit the format."""
    where = f"speculative.rounds[{index}]"
    if spec_round.emitted.kind not in EMIT_KINDS:
        raise ValueError(f"{where}.emitted.kind must be one of {', '.join(EMIT_KINDS)}")
    if spec_round.lookup is not None and spec_round.lookup not in LOOKUP_SOURCES:
        raise ValueError(f"{where}.lookup must be one of {', '.join(LOOKUP_SOURCES)}")
    if spec_round.source is not None and spec_round.source not in DRAFT_SOURCES:
        raise ValueError(f"{where}.source must be one of {', '.join(DRAFT_SOURCES)}")
    if spec_round.cost is not None and not spec_round.cost > 0:
        raise ValueError(f"{where}.cost must be above 0")
    verdicts = [t.accepted for t in spec_round.proposed]
    if verdicts != round_verdicts(spec_round.accepted_count(), len(verdicts)):
        raise ValueError(
            f"{where}.proposed: accepted must be true up to the first rejected token (false), null after it"
        )


def round_verdicts(accepted: int, proposed: int) -> list[bool | None]:
    """A round's verdicts on its `proposed` draft tokens when the target kept the first `accepted`: True for
    those, False for the first rejected one, None (never tested) for every token after it."""
    rejected = [False] if accepted < proposed else []
    return [True] * accepted + rejected + [None] * (proposed - accepted - 1)


def _checked(verdicts: list[bool | None]) -> list[bool | None]:
    """Verdicts as the target reached them: an older trace recorded the tokens after a round's first rejection
    as rejected (False), but the target never tested them (None)."""
    first = next((j for j, accepted in enumerate(verdicts) if accepted is False), len(verdicts))
    return [*verdicts[: first + 1], *[None] * (len(verdicts) - first - 1)]


def _check_step(step: Step, position: int, token: int) -> None:
    """Raises ValueError naming what in step `position`, whose token is `token`, does not fit the format."""
    where = f"steps[{position}]"
    if step.index != position or step.chosen.id != token:
        raise ValueError(f"{where} must have index {position} and the output's token {token} as chosen.id")
    if step.origin is not None and step.origin not in ORIGINS:
        raise ValueError(f"{where}.origin must be one of {', '.join(ORIGINS)}")
    if not _probability(step.chosen.prob):
        raise ValueError(f"{where}.chosen.prob must be a probability (0 to 1)")
    if step.chosen.rank is not None and step.chosen.rank < 1:
        raise ValueError(f"{where}.chosen.rank must be at least 1")
    if step.kept is not None and step.kept < 1:
        raise ValueError(f"{where}.kept must be at least 1")
    if step.log_z is not None and not all(_temperature(key) for key in step.log_z):
        raise ValueError(f"{where}.log_z must be keyed by temperatures above 0")
    if not _hex(step.chosen.bytes):
        raise ValueError(f"{where}.chosen.bytes must be the token's bytes as lowercase hex")
    for number, candidate in enumerate(step.candidates):
        if not _hex(candidate.bytes):
            raise ValueError(f"{where}.candidates[{number}].bytes must be the token's bytes as lowercase hex")
        if not set(candidate.probs) <= set(STAGES) or candidate.removed_by not in (None, *STAGES):
            raise ValueError(f"{where}.candidates[{number}] names a stage not in {', '.join(STAGES)}")
        if not all(_probability(p) for p in candidate.probs.values()):
            raise ValueError(f"{where}.candidates[{number}].probs must be probabilities (0 to 1)")


def _temperature(key: str) -> bool:
    """A temperature written as text ("0.3"): a finite number above 0."""
    try:
        return 0.0 < float(key) < math.inf
    except ValueError:
        return False


def _probability(value: float) -> bool:
    # float32 rounding can leave a sure token a hair above 1.
    return 0.0 <= value <= 1.0 + 1e-6


def _settings_from_dict(data: dict[str, Any]) -> dict[str, Any]:
    """A trace's settings as Settings would hold them: a whole number where a float goes becomes a float (a
    JSON writer may drop the ".0"); anything else stays as it is, for `validate` to judge."""
    settings = dict(data)
    for name in FLOAT_FIELDS:
        value = settings.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and _finite(value):
            settings[name] = float(value)
    return settings


def _hex(raw: str | None) -> bool:
    """None, or bytes written as lowercase hex ("e697")."""
    return raw is None or re.fullmatch(r"(?:[0-9a-f]{2})+", raw) is not None


def _finite(number: int | float) -> bool:
    """A finite number that fits a float (a 400-digit integer in a JSON file does not)."""
    try:
        return math.isfinite(number)
    except OverflowError:
        return False


def _speculative_from_dict(data: dict[str, Any] | None) -> Speculative | None:
    if data is None:
        return None
    rounds = [
        SpeculativeRound(
            **{
                **r,
                "proposed": _proposals_from_dicts(r["proposed"]),
                "emitted": Emitted(**r["emitted"]),
                "tree": None if r.get("tree") is None else [TreeNode(**node) for node in r["tree"]],
            }
        )
        for r in data["rounds"]
    ]
    pairs = data.get("speedup_pairs")
    return Speculative(
        **{
            **data,
            "draft": DraftInfo(**data["draft"]),
            "rounds": rounds,
            "speedup_pairs": None if pairs is None else [SpeedupPair(**pair) for pair in pairs],
        }
    )


def _proposals_from_dicts(data: list[dict[str, Any]]) -> list[Proposal]:
    """A round's proposals; an older trace's tokens after the first rejection, recorded as rejected (False),
    are read as never tested (None), which is what they were."""
    proposals = [Proposal(**t) for t in data]
    for proposal, accepted in zip(proposals, _checked([t.accepted for t in proposals]), strict=True):
        proposal.accepted = accepted
    return proposals


def _step_from_dict(data: dict[str, Any]) -> Step:
    return Step(
        index=data["index"],
        chosen=Chosen(**data["chosen"]),
        entropy=data["entropy"],
        candidates=[Candidate(**c) for c in data["candidates"]],
        origin=data.get("origin"),
        kept=data.get("kept"),
        log_z=data.get("log_z"),
        notes=data.get("notes"),
        varentropy=data.get("varentropy"),
        raw_entropy=data.get("raw_entropy"),
        raw_varentropy=data.get("raw_varentropy"),
    )


def _check_value(value: Any, hint: Any, where: str) -> None:
    """Checks `value` against a type hint of these dataclasses (recursively); ValueError names `where`."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return
        hint = next(a for a in args if a is not type(None))
        origin, args = typing.get_origin(hint), typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, hint):
            raise ValueError(f"{where} must be an object")
        for name, field_hint in typing.get_type_hints(hint).items():
            _check_value(getattr(value, name), field_hint, f"{where}.{name}")
    elif origin is list:
        if not isinstance(value, list):
            raise ValueError(f"{where} must be a list")
        for i, item in enumerate(value):
            _check_value(item, args[0], f"{where}[{i}]")
    elif origin is dict:
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise ValueError(f"{where} must be an object")
        for key, item in value.items():
            _check_value(item, args[1], f"{where}.{key}")
    elif hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not _finite(value):
            raise ValueError(f"{where} must be a finite number")
    elif hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{where} must be a whole number")
    elif not isinstance(value, hint):
        raise ValueError(f"{where} must be of type {hint.__name__}")
