"""Beam search: B running beams, K candidates a step, a bank of the B best finished hypotheses.

Every candidate considered becomes a node of the beam tree (kept, pruned, finished, returned), so a view can
show what beam search weighed and why it let go.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch
from transformers import DynamicCache

from playground.engine import beam_math
from playground.engine.constraints import Constraint, satisfied
from playground.engine.context import RunContext, Update, make_trace
from playground.engine.forward import decode_one_token, new_cache, prefill
from playground.engine.placement import HOST
from playground.engine.processors import apply_stages
from playground.engine.recording import RowSummary, summarize_rows, to_step
from playground.engine.stopping import find_stop
from playground.settings import Settings
from playground.trace import BeamNode, Beams, BeamSequence, ConstraintInfo, Trace


class BeamTree:
    """The nodes recorded so far, with the row each extended, so sequences and steps can be rebuilt."""

    def __init__(self) -> None:
        self.nodes: list[BeamNode] = []
        self.rows: list[int] = []  # running row each node extended at its step

    def add(self, node: BeamNode, row: int) -> int:
        """Appends a node and returns its id."""
        self.nodes.append(node)
        self.rows.append(row)
        return node.id

    def path(self, node_id: int | None) -> list[int]:
        """Node ids from the first generated token to `node_id`."""
        path = []
        while node_id is not None:
            path.append(node_id)
            node_id = self.nodes[node_id].parent
        return path[::-1]

    def tokens(self, node_id: int | None) -> list[int]:
        """Token ids along the path to `node_id`."""
        return [self.nodes[i].token_id for i in self.path(node_id)]


@dataclass
class FinishedBank:
    """The num_beams best finished hypotheses so far, best first once any are in (host bookkeeping)."""

    scores: torch.Tensor  # (B,) length-penalized scores, NEG where a slot is empty
    filled: torch.Tensor  # (B,) bool, the slot holds a hypothesis
    nodes: list[int | None]  # the beam tree node each slot's hypothesis ends at

    @classmethod
    def empty(cls, num_beams: int) -> FinishedBank:
        return cls(
            scores=torch.full((num_beams,), beam_math.NEG, device=HOST),
            filled=torch.zeros(num_beams, dtype=torch.bool, device=HOST),
            nodes=[None] * num_beams,
        )

    def add(self, node: int, score: float) -> bool:
        """Puts one hypothesis into the bank if it ranks (`beam_math.add_finished`); True if it entered."""
        slot, self.scores, self.filled = beam_math.add_finished(self.scores, self.filled, score)
        if slot is not None:
            self.nodes[slot] = node
        return slot is not None

    def closed(self, early_stopping: bool | str) -> bool:
        """early_stopping=True stops the search once the bank is full."""
        return bool(self.filled.all()) and early_stopping is True

    def held(self) -> list[tuple[int, float]]:
        """(node, score) of the hypotheses in the bank, in slot order."""
        return [(n, s) for n, s in zip(self.nodes, self.scores.tolist(), strict=True) if n is not None]


@dataclass
class StepCandidates:
    """A step's K candidates as beam search ranked them, best first: (K,) each, on the host."""

    scores: torch.Tensor  # cumulative log-probabilities
    rows: torch.Tensor  # the running beam each extends
    tokens: torch.Tensor  # the token each adds
    token_logprobs: torch.Tensor  # that token's own processed log-probability


@dataclass
class BeamRun:
    """What a beam search carries from step to step: the running beams' tokens and KV cache on the model's
    device, their scores and tree nodes on the host, the bank of finished hypotheses and the tree."""

    sequences: torch.Tensor  # (B, T) prompt and generated tokens of each running beam
    cache: DynamicCache
    scores: torch.Tensor  # (B,) cumulative log-probabilities; NEG marks a beam that is not alive
    nodes: list[int | None]  # the tree node each running beam ends at (None: still the prompt)
    finished: FinishedBank
    tree: BeamTree = field(default_factory=BeamTree)
    summaries: list[RowSummary] = field(default_factory=list)  # per step, the distributions of every row
    improvable: bool = True  # transformers' early-stop heuristic still allows a better hypothesis

    def paths(self, rows: list[int], tokens: list[int]) -> list[list[int]]:
        """The generated tokens of each candidate: its running beam's, then its token."""
        return [[*self.tree.tokens(self.nodes[r]), t] for r, t in zip(rows, tokens, strict=True)]

    def move(self, rows: torch.Tensor, tokens: torch.Tensor, scores: torch.Tensor, nodes: list[int]) -> torch.Tensor:
        """The running beams become beams `rows` extended by `tokens` ((B,) each, on the host), with their
        scores and nodes. Returns the tokens on the model's device, to feed next."""
        rows, tokens = rows.to(self.sequences.device), tokens.to(self.sequences.device)
        self.cache.reorder_cache(rows)
        self.sequences = torch.cat([self.sequences[rows], tokens[:, None]], dim=-1)
        self.scores, self.nodes = scores, nodes
        return tokens

    def update_improvable(self, best_running: torch.Tensor, length: int, settings: Settings) -> None:
        """Could the best running beam still beat the worst finished one (`beam_math.still_improvable`)?"""
        self.improvable = beam_math.still_improvable(
            self.improvable,
            best_running,
            self.finished.scores,
            self.finished.filled,
            length,
            settings.max_new_tokens,
            settings.early_stopping,
            settings.length_penalty,
        )


def start_beams(ctx: RunContext) -> tuple[BeamRun, torch.Tensor, float]:
    """Prefills the prompt in every beam's row and returns the run, the (B, V) next-token logits and the
    prefill's seconds. Only beam 0 is alive at first: the others hold the same prompt and would repeat it."""
    num_beams = ctx.settings.num_beams
    sequences = ctx.input_ids.repeat(num_beams, 1)  # (B, T)
    cache = new_cache(ctx.loaded.model)
    started = time.perf_counter()
    logits = prefill(ctx.loaded.model, sequences, cache)  # (B, V)
    prefill_s = time.perf_counter() - started
    scores = torch.full((num_beams,), beam_math.NEG, device=HOST)
    scores[0] = 0.0
    run = BeamRun(sequences, cache, scores, [None] * num_beams, FinishedBank.empty(num_beams))
    return run, logits, prefill_s


def close_out(
    ctx: RunContext,
    tree: BeamTree,
    summaries: list[RowSummary],
    returned: list[tuple[int, float]],
    prefill_s: float,
    decode_s: float,
    constraints: list | None = None,
) -> Trace:
    """The finished run's trace: the returned (node, score) hypotheses, best first, marked in the tree and
    listed as sequences (with whether they meet the constraints, if any); the best one is the output."""
    beams = Beams(nodes=tree.nodes, sequences=[], constraints=[constraint_info(ctx, c) for c in constraints or []])
    for node_id, score in returned:
        tree.nodes[node_id].status = "returned"
        ids = tree.tokens(node_id)
        met = all(satisfied(c, ids) for c in constraints) if constraints else None
        beams.sequences.append(
            BeamSequence(token_ids=ids, text=ctx.visible_text(ids)[0], score=score, satisfies_constraints=met)
        )
    best = beams.sequences[0].token_ids if beams.sequences else []
    steps = steps_along(ctx, tree, summaries, returned[0][0]) if returned else []
    return make_trace(ctx, best, stop_reason(ctx, best), steps, prefill_s, decode_s, beams=beams)


def constraint_info(ctx: RunContext, c: Constraint) -> ConstraintInfo:
    """A constraint as the trace lists it, with its tokenizations decoded."""
    return ConstraintInfo(
        kind=c.kind,
        words=list(c.words),
        token_ids=[list(o) for o in c.options],
        texts=[ctx.decode(list(o)) for o in c.options],
    )


def candidate_stops(ctx: RunContext, paths: list[list[int]], last_step: bool, timed_out: bool) -> torch.Tensor:
    """(K,) bool: each candidate path ends its sequence (EOS, a stop string, max_new_tokens, max_time or Stop)."""
    if last_step or timed_out:
        return torch.ones(len(paths), dtype=torch.bool, device=HOST)
    hits = []
    for path in paths:
        hit = path[-1] in ctx.eos_ids
        if not hit and ctx.settings.stop:
            text = ctx.text(path)
            # Only a match that the newest token completes counts; an earlier one would have stopped earlier.
            hit = find_stop(text, ctx.settings.stop, max(0, len(ctx.text(path[:-1])) - 64)) >= 0
        hits.append(hit)
    return torch.tensor(hits, dtype=torch.bool, device=HOST)


def beam_search(ctx: RunContext) -> Iterator[Update]:
    """Runs beam search, yielding the best running beam's text after each step, then the trace."""
    settings, model = ctx.settings, ctx.loaded.model
    k = beam_math.num_candidates(settings.num_beams, len(ctx.eos_ids))
    stages = ctx.stages()
    run, logits, prefill_s = start_beams(ctx)
    finished = run.finished
    started = time.perf_counter()
    for index in range(settings.max_new_tokens):
        staged = apply_stages(stages, run.sequences, torch.log_softmax(logits, dim=-1))
        log_probs = staged[-1][1]  # (B, V)
        scores, rows, tokens = beam_math.top_continuations(log_probs, run.scores.to(ctx.device), k)
        # Candidates are ranked without the penalties, but beams follow the penalized scores: the continuations'
        # own tokens are recorded too, so every token a beam takes has its record. The step's one read.
        summary = summarize_rows(
            staged,
            logits,
            max(settings.top_n, k),
            extra=(rows, tokens),
            also=(scores, rows, tokens, log_probs[rows, tokens]),
        )
        run.summaries.append(summary)
        found = StepCandidates(*(torch.tensor(v, device=HOST) for v in summary.also))
        paths = run.paths(found.rows.tolist(), found.tokens.tolist())
        hits = candidate_stops(ctx, paths, index + 1 >= settings.max_new_tokens, ctx.deadline.passed())
        picked, running_scores = beam_math.select_running(found.scores, hits, settings.num_beams)
        banked, finished.scores, finished.filled, just_finished = beam_math.update_finished(
            finished.scores,
            finished.filled,
            found.scores,
            hits,
            index + 1,
            settings.length_penalty,
            settings.early_stopping,
            run.improvable,
        )
        statuses = beam_math.candidate_statuses(picked, hits, banked, just_finished)
        nodes = _record_candidates(ctx, run, index, found, statuses)
        finished.nodes = [(finished.nodes + nodes)[i] for i in banked.tolist()]
        next_tokens = run.move(
            found.rows[picked], found.tokens[picked], running_scores, [nodes[i] for i in picked.tolist()]
        )
        run.update_improvable(running_scores[0], index + 1, settings)
        yield Update(text=ctx.visible_text(run.tree.tokens(run.nodes[0]))[0])
        if not beam_math.should_continue(run.improvable, finished.filled, hits, settings.early_stopping):
            break
        logits = decode_one_token(model, next_tokens[:, None], run.cache)
    decode_s = time.perf_counter() - started

    returned = finished.held()[: settings.num_return_sequences]
    trace = close_out(ctx, run.tree, run.summaries, returned, prefill_s, decode_s)
    yield Update(text=trace.output.text, trace=trace)


def _record_candidates(
    ctx: RunContext, run: BeamRun, index: int, found: StepCandidates, statuses: list[str]
) -> list[int]:
    """Adds this step's K candidates to the tree with their fate (`beam_math.candidate_statuses`); returns their
    node ids."""
    tree, running_nodes = run.tree, run.nodes
    tokens = found.tokens.tolist()
    columns = (found.scores.tolist(), found.rows.tolist(), tokens, found.token_logprobs.tolist(), ctx.texts(tokens))
    ids = []
    for score, row, token, logprob, text, status in zip(*columns, statuses, strict=True):
        node = BeamNode(
            id=len(tree.nodes),
            parent=running_nodes[row],
            step=index,
            token_id=token,
            text=text,
            logprob=max(logprob, beam_math.NEG),
            cum_logprob=max(score, beam_math.NEG),
            score=max(
                float(beam_math.length_penalized(score, index + 1, ctx.settings.length_penalty)),
                beam_math.NEG,
            ),
            status=status,
        )
        ids.append(tree.add(node, row))
    return ids


def steps_along(ctx: RunContext, tree: BeamTree, summaries: list[RowSummary], node_id: int):
    """The per-step distributions behind each token of one hypothesis, from the row it grew on."""
    return [
        to_step(
            tree.nodes[n].step,
            summaries[tree.nodes[n].step],
            tree.rows[n],
            tree.nodes[n].token_id,
            ctx.texts,
            ctx.settings.top_n,
        )
        for n in tree.path(node_id)
    ]


def stop_reason(ctx: RunContext, token_ids: list[int]) -> str:
    if token_ids and token_ids[-1] in ctx.eos_ids:
        return "eos"
    if ctx.settings.stop and ctx.visible_text(token_ids)[1]:
        return "stop_string"
    if len(token_ids) < ctx.settings.max_new_tokens and ctx.deadline.passed():
        return ctx.deadline.reason
    return "max_new_tokens"
