"""Beam search: B running beams, K candidates a step, a bank of the B best finished hypotheses.

Every candidate considered becomes a node of the beam tree (kept, pruned, finished, returned), so a view can
show what beam search weighed and why it let go.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import torch

from playground.engine import beam_math
from playground.engine.context import RunContext, Update, make_trace
from playground.engine.forward import decode_one_token, new_cache, prefill
from playground.engine.placement import HOST, to_host
from playground.engine.processors import apply_stages
from playground.engine.recording import RowSummary, summarize_rows, to_step
from playground.engine.stopping import find_stop
from playground.trace import BeamNode, Beams, BeamSequence


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


def candidate_stops(ctx: RunContext, paths: list[list[int]], last_step: bool, timed_out: bool) -> torch.Tensor:
    """(K,) bool: each candidate path ends its sequence (EOS, a stop string, max_new_tokens, max_time or Stop)."""
    if last_step or timed_out:
        return torch.ones(len(paths), dtype=torch.bool, device=HOST)
    hits = []
    for path in paths:
        hit = path[-1] in ctx.eos_ids
        if not hit and ctx.settings.stop:
            text = ctx.decode(path)
            # Only a match that the newest token completes counts; an earlier one would have stopped earlier.
            hit = find_stop(text, ctx.settings.stop, max(0, len(ctx.decode(path[:-1])) - 64)) >= 0
        hits.append(hit)
    return torch.tensor(hits, dtype=torch.bool, device=HOST)


def beam_search(ctx: RunContext) -> Iterator[Update]:
    """Runs beam search, yielding the best running beam's text after each step, then the trace."""
    settings, model = ctx.settings, ctx.loaded.model
    num_beams = settings.num_beams
    k = beam_math.num_candidates(num_beams, len(ctx.eos_ids))
    stages = ctx.stages()
    # Every beam starts as the prompt; only beam 0 may extend at first (the others are "impossible").
    sequences = ctx.input_ids.repeat(num_beams, 1)  # (B, T) on the model's device
    # The scores and the bank are bookkeeping, on the host (placement.py).
    running_scores = torch.zeros(num_beams, device=HOST)
    running_scores[1:] = beam_math.NEG
    running_nodes: list[int | None] = [None] * num_beams
    finished_scores = torch.full((num_beams,), beam_math.NEG, device=HOST)
    finished_filled = torch.zeros(num_beams, dtype=torch.bool, device=HOST)
    finished_nodes: list[int | None] = [None] * num_beams
    tree, summaries = BeamTree(), []
    improvable = True
    cache = new_cache(model)

    started = time.perf_counter()
    logits = prefill(model, sequences, cache)  # (B, V)
    prefill_s = time.perf_counter() - started
    started = time.perf_counter()
    for index in range(settings.max_new_tokens):
        staged = apply_stages(stages, sequences, torch.log_softmax(logits, dim=-1))
        log_probs = staged[-1][1]  # (B, V)
        summaries.append(summarize_rows(staged, logits, max(settings.top_n, k)))
        scores, rows, tokens = beam_math.top_continuations(log_probs, running_scores.to(ctx.device), k)
        scores, rows, tokens, token_logprobs = to_host(scores, rows, tokens, log_probs[rows, tokens])  # (K,) each
        paths = [[*tree.tokens(running_nodes[r]), t] for r, t in zip(rows.tolist(), tokens.tolist(), strict=True)]
        hits = candidate_stops(ctx, paths, index + 1 >= settings.max_new_tokens, ctx.deadline.passed())
        picked, running_scores = beam_math.select_running(scores, hits, num_beams)
        banked, finished_scores, finished_filled, just_finished = beam_math.update_finished(
            finished_scores,
            finished_filled,
            scores,
            hits,
            index + 1,
            settings.length_penalty,
            settings.early_stopping,
            improvable,
        )
        candidate_nodes = _record_candidates(
            ctx,
            tree,
            index,
            scores,
            rows,
            tokens,
            token_logprobs,
            running_nodes,
            picked,
            hits,
            banked,
            just_finished,
        )
        finished_nodes = [(finished_nodes + candidate_nodes)[i] for i in banked.tolist()]
        running_nodes = [candidate_nodes[i] for i in picked.tolist()]
        source_rows, next_tokens = rows[picked].to(ctx.device), tokens[picked].to(ctx.device)  # (B,) each
        cache.reorder_cache(source_rows)
        sequences = torch.cat([sequences[source_rows], next_tokens[:, None]], dim=-1)
        improvable = beam_math.still_improvable(
            improvable,
            running_scores[0],
            finished_scores,
            finished_filled,
            index + 1,
            settings.max_new_tokens,
            settings.early_stopping,
            settings.length_penalty,
        )
        yield Update(text=ctx.visible_text(tree.tokens(running_nodes[0]))[0])
        if not beam_math.should_continue(improvable, finished_filled, hits, settings.early_stopping):
            break
        logits = decode_one_token(model, next_tokens[:, None], cache)
    decode_s = time.perf_counter() - started

    returned = [n for n in finished_nodes if n is not None][: settings.num_return_sequences]
    beams = Beams(nodes=tree.nodes, sequences=[])
    for node_id, score in zip(returned, finished_scores.tolist(), strict=False):
        tree.nodes[node_id].status = "returned"
        ids = tree.tokens(node_id)
        beams.sequences.append(BeamSequence(token_ids=ids, text=ctx.visible_text(ids)[0], score=score))
    best = tree.tokens(returned[0]) if returned else []
    steps = steps_along(ctx, tree, summaries, returned[0]) if returned else []
    trace = make_trace(ctx, best, stop_reason(ctx, best), steps, prefill_s, decode_s, beams=beams)
    yield Update(text=trace.output.text, trace=trace)


def _record_candidates(
    ctx: RunContext,
    tree: BeamTree,
    index: int,
    scores: torch.Tensor,
    rows: torch.Tensor,
    tokens: torch.Tensor,
    token_logprobs: torch.Tensor,
    running_nodes: list[int | None],
    picked: torch.Tensor,
    hits: torch.Tensor,
    banked: torch.Tensor,
    just_finished: torch.Tensor,
) -> list[int]:
    """Adds this step's K candidates to the tree with their fate; returns their node ids.

    Args:
        scores, rows, tokens, token_logprobs: (K,) each, on the host: the candidates' cumulative
            log-probabilities, source beams, tokens and the tokens' own log-probabilities.
    """
    num_beams = len(running_nodes)
    kept = set(picked.tolist())
    entered_bank = {i - num_beams for i in banked.tolist() if i >= num_beams}
    token_logprobs = token_logprobs.tolist()
    texts = ctx.texts(tokens.tolist())
    ids = []
    for i, (score, row, token) in enumerate(zip(scores.tolist(), rows.tolist(), tokens.tolist(), strict=True)):
        if bool(just_finished[i]) and i in entered_bank:
            status = "finished"
        elif i in kept and not bool(hits[i]):
            status = "kept"
        else:
            status = "pruned"
        node = BeamNode(
            id=len(tree.nodes),
            parent=running_nodes[row],
            step=index,
            token_id=token,
            text=texts[i],
            logprob=max(token_logprobs[i], beam_math.NEG),
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
