"""Constrained beam search: beam search that must put given words into its output.

Each step widens beam search's candidates with the tokens that advance each beam's constraints (grid beam
search, Hokamp & Liu 2017), then chooses the running beams round-robin across "banks" of constraint progress
(dynamic beam allocation, Post & Vilar 2018), as transformers 4.x's ConstrainedBeamSearchScorer did. A
hypothesis may finish (EOS, stop string) only once every constraint is met; if the budget runs out first, the
best unmet hypotheses are returned, marked as such. `satisfies_constraints` is checked on the final tokens.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from playground.engine import beam_math
from playground.engine.beam import BeamRun, BeamTree, FinishedBank, candidate_stops, close_out, start_beams
from playground.engine.constraints import (
    Constraint,
    State,
    advance,
    advancing_tokens,
    bank,
    build_constraints,
    initial_state,
    is_complete,
    satisfied,
)
from playground.engine.context import RunContext, Update
from playground.engine.forward import decode_one_token
from playground.engine.placement import HOST, to_host
from playground.engine.processors import apply_stages
from playground.engine.recording import summarize_rows
from playground.trace import BeamNode

ALIVE = beam_math.NEG / 2  # scores below this belong to impossible continuations


@dataclass
class Candidate:
    """One (running beam, next token) extension considered at a step."""

    row: int
    token: int
    score: float  # cumulative log-probability
    logprob: float  # the token's own processed log-probability
    state: State
    advanced: int | None
    bank: int
    stops: bool = False


def gather_candidates(
    log_probs: torch.Tensor, running_scores: torch.Tensor, states: list[State], constraints: list[Constraint], k: int
) -> list[tuple[int, int, float, float]]:
    """beam search's top-k extensions plus, for every live beam, its best token and each token that advances
    one of its constraints. Returns (row, token, cumulative score, token log-probability) without duplicates,
    best first.

    Args:
        log_probs: (B, V) processed next-token log-probabilities, on the model's device.
        running_scores: (B,) cumulative log-probabilities on the host (NEG for beams not yet alive).
    """
    _, rows, tokens = beam_math.top_continuations(log_probs, running_scores.to(log_probs.device), k)
    rows, tokens, best = to_host(rows, tokens, torch.argmax(log_probs, dim=-1))
    pairs = dict.fromkeys(zip(rows.tolist(), tokens.tolist(), strict=True))
    for row, state in enumerate(states):
        if float(running_scores[row]) > ALIVE:
            wanted = advancing_tokens(constraints, state) | {int(best[row])}
            pairs.update(dict.fromkeys((row, token) for token in wanted))
    found = torch.tensor(list(pairs), dtype=torch.long, device=HOST)  # (M, 2) rows and tokens
    on_device = found.to(log_probs.device)
    (token_logprobs,) = to_host(log_probs[on_device[:, 0], on_device[:, 1]])
    # The same float32 sum top_continuations makes, so top-k candidates keep their exact scores.
    scores = running_scores[found[:, 0]] + token_logprobs  # (M,)
    candidates = zip(*found.T.tolist(), scores.tolist(), token_logprobs.tolist(), strict=True)
    return sorted(candidates, key=lambda c: -c[2])


def constrained_beam_search(ctx: RunContext) -> Iterator[Update]:
    """Runs constrained beam search, yielding the best running beam's text after each step, then the trace."""
    settings, model, tokenizer = ctx.settings, ctx.loaded.model, ctx.loaded.tokenizer
    constraints = build_constraints(tokenizer, settings.force_words, settings.force_one_of)
    num_beams = settings.num_beams
    k = beam_math.num_candidates(num_beams, len(ctx.eos_ids))
    stages = ctx.stages()
    run, logits, prefill_s = start_beams(ctx)
    states = [initial_state(constraints)] * num_beams
    unmet: list[tuple[float, int]] = []  # (score, node) of hypotheses that ended before meeting everything
    started = time.perf_counter()
    for index in range(settings.max_new_tokens):
        staged = apply_stages(stages, run.sequences, torch.log_softmax(logits, dim=-1))
        log_probs = staged[-1][1]  # (B, V)
        found = gather_candidates(log_probs, run.scores, states, constraints, k)
        run.summaries.append(
            summarize_rows(
                staged,
                logits,
                max(settings.top_n, k),
                extra=torch.tensor([(row, token) for row, token, *_ in found], device=HOST).T.unbind(),
            )
        )
        candidates = _candidates(ctx, run, constraints, states, found, index)
        nodes = [_add_node(ctx, run.tree, index, c, run.nodes) for c in candidates]
        unmet += _bank_ended(ctx, run, candidates, nodes, index)
        picked = _allocate(candidates, num_beams)
        if not picked:  # every candidate ended: no beam runs on
            run.nodes = [None] * num_beams
            break
        states, next_tokens = _run_on(run, candidates, nodes, picked)
        yield Update(text=ctx.visible_text(run.tree.tokens(run.nodes[int(torch.argmax(run.scores))]))[0])
        run.update_improvable(run.scores.max(), index + 1, settings)
        if not run.improvable or run.finished.closed(settings.early_stopping) or index + 1 >= settings.max_new_tokens:
            break
        logits = decode_one_token(model, next_tokens[:, None], run.cache)
    decode_s = time.perf_counter() - started

    returned = _returned(ctx, run.tree, constraints, run.finished, unmet, run.scores, run.nodes)
    trace = close_out(ctx, run.tree, run.summaries, returned, prefill_s, decode_s, constraints)
    yield Update(text=trace.output.text, trace=trace)


def _candidates(
    ctx: RunContext,
    run: BeamRun,
    constraints: list[Constraint],
    states: list[State],
    found: list[tuple[int, int, float, float]],
    index: int,
) -> list[Candidate]:
    """`gather_candidates`' (row, token, score, logprob) extensions as Candidates: each with its constraint state
    after the token, its bank, and whether it ends its sequence at step `index` (`candidate_stops`)."""
    candidates = []
    for row, token, score, logprob in found:
        state, advanced = advance(constraints, states[row], token)
        candidates.append(Candidate(row, token, score, logprob, state, advanced, bank(constraints, state)))
    paths = run.paths([c.row for c in candidates], [c.token for c in candidates])
    hits = candidate_stops(ctx, paths, index + 1 >= ctx.settings.max_new_tokens, ctx.deadline.passed())
    for c, hit in zip(candidates, hits.tolist(), strict=True):
        c.stops = hit
    return candidates


def _bank_ended(
    ctx: RunContext, run: BeamRun, candidates: list[Candidate], nodes: list[int], index: int
) -> list[tuple[float, int]]:
    """Each live candidate that ends its sequence here goes to the finished bank (its node marked "finished" if it
    enters) when it meets every constraint; returns the (length-penalized score, node) of those that do not."""
    unmet = []
    for c, node in zip(candidates, nodes, strict=True):
        if not c.stops or c.score <= ALIVE:
            continue
        score = float(beam_math.length_penalized(c.score, index + 1, ctx.settings.length_penalty))
        if is_complete(c.state):
            if run.finished.add(node, score):
                run.tree.nodes[node].status = "finished"
        else:
            unmet.append((score, node))
    return unmet


def _run_on(
    run: BeamRun, candidates: list[Candidate], nodes: list[int], picked: list[int]
) -> tuple[list[State], torch.Tensor]:
    """Marks the `picked` candidates kept and makes them the running beams; returns their constraint states and
    the tokens to feed next ((B,) on the model's device)."""
    num_beams = len(run.nodes)
    for i in picked:
        run.tree.nodes[nodes[i]].status = "kept"
    # Fewer live candidates than beams (tiny vocabularies): the spare rows repeat the last one as dead beams.
    dead = num_beams - len(picked)
    picked = picked + [picked[-1]] * dead
    scores = torch.tensor([candidates[i].score for i in picked], dtype=torch.float32, device=HOST)
    scores[num_beams - dead :] = beam_math.NEG
    next_tokens = run.move(
        torch.tensor([candidates[i].row for i in picked], device=HOST),
        torch.tensor([candidates[i].token for i in picked], device=HOST),
        scores,
        [nodes[i] for i in picked],
    )
    return [candidates[i].state for i in picked], next_tokens


def _allocate(candidates: list[Candidate], num_beams: int) -> list[int]:
    """Indices of the candidates that run on: those still alive, chosen round-robin across banks."""
    growing = [i for i, c in enumerate(candidates) if not c.stops and c.score > ALIVE]
    chosen = beam_math.allocate_by_bank(
        torch.tensor([candidates[i].score for i in growing], device=HOST),
        torch.tensor([candidates[i].bank for i in growing], dtype=torch.long, device=HOST),
        num_beams,
    ).tolist()
    return [growing[i] for i in chosen]


def _add_node(
    ctx: RunContext,
    tree: BeamTree,
    index: int,
    c: Candidate,
    running_nodes: list[int | None],
) -> int:
    """Records a candidate as a pruned node; the caller upgrades the ones kept or finished."""
    node = BeamNode(
        id=len(tree.nodes),
        parent=running_nodes[c.row],
        step=index,
        token_id=c.token,
        text=ctx.texts([c.token])[0],
        logprob=max(c.logprob, beam_math.NEG),
        cum_logprob=max(c.score, beam_math.NEG),
        score=max(float(beam_math.length_penalized(c.score, index + 1, ctx.settings.length_penalty)), beam_math.NEG),
        status="pruned",
        bank=c.bank,
        constraint=c.advanced,
    )
    return tree.add(node, c.row)


def _returned(
    ctx: RunContext,
    tree: BeamTree,
    constraints: list[Constraint],
    finished: FinishedBank,
    unmet: list[tuple[float, int]],
    running_scores: torch.Tensor,
    running_nodes: list[int | None],
) -> list[tuple[int, float]]:
    """The sequences to return, best first: finished ones that meet every constraint, then (only if too few)
    the best of the rest, those that ended unmet and the beams still running when the search stopped."""
    settings = ctx.settings
    chosen = sorted(finished.held(), key=lambda ns: (-ns[1], -ns[0]))
    if len(chosen) < settings.num_return_sequences:
        length = max(1, max((tree.nodes[n].step + 1 for n in running_nodes if n is not None), default=1))
        spare = list(unmet) + [
            (float(beam_math.length_penalized(float(s), length, settings.length_penalty)), n)
            for s, n in zip(running_scores.tolist(), running_nodes, strict=True)
            if n is not None and s > ALIVE
        ]
        taken = {n for n, _ in chosen}
        for score, node in sorted(spare, reverse=True):
            if node not in taken:
                chosen.append((node, score))
                taken.add(node)
    # Whatever the bookkeeping said, a sequence that meets every constraint on its final tokens ranks first.
    chosen.sort(key=lambda ns: (not all(satisfied(c, tree.tokens(ns[0])) for c in constraints), -ns[1]))
    return chosen[: settings.num_return_sequences]
