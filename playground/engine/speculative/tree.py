"""Tree speculative decoding: before every round a planner (`plans.py`) picks a tree of guesses for the next
few tokens, the tree is verified in one target pass, and the target keeps the longest path it agrees with plus
one token of its own (Medusa, Cai et al., 2024). The Medusa heads' planner guesses from the target's last hidden
state; the automatic draft's (`auto.py`) picks, round by round, between copies from the text, the suffix index
and the heads, a chain being a tree with one child per node.

Cache bookkeeping, as for the other drafts: the target's cache holds all of the text but its last token. A
round feeds that token as the tree's root, followed by the guesses, each seeing only its ancestors
(`forward.forward_tree`); the cache then keeps the root and the accepted path (`forward.keep_path`). The hidden
state at the path's last node gives both the target's next token (through its LM head) and, through the heads,
the next round's guesses, so the heads cost no extra pass. The first round has no guesses: its tree is the
prompt's last token alone.

Greedy rounds accept the longest path whose tokens are the target's argmax, so the output is plain greedy
decoding's. Sampling rounds walk the tree with recursive rejection over each node's children
(`verification.verify_tree_sampling`), so the output is distributed as the target's own sampling.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch
from torch import nn
from transformers import DynamicCache

from playground.engine.context import RunContext, Update, make_trace
from playground.engine.forward import forward_chain, forward_tree, keep_path, new_cache, prefill
from playground.engine.processors import Stage, apply_stages_rows
from playground.engine.recording import RowSummary, summarize_rows
from playground.engine.speculative.auto import AutoDraft, AutoPlanner, auto_planner
from playground.engine.speculative.cost import clock
from playground.engine.speculative.draft_tree import DraftTree
from playground.engine.speculative.plans import HeadsGuesses, HeadsPlanner, Plan
from playground.engine.speculative.rounds import RoundEnd, Work, emit, stop_after_round, totals
from playground.engine.speculative.verification import TreeVerdict, verify_tree_greedy, verify_tree_sampling
from playground.medusa.draft import HeadsDraft
from playground.settings import AUTO
from playground.trace import DraftInfo, Proposal, SpeculativeRound, TreeNode


@dataclass
class TreeRun:
    """What every round of one run reads: its context, the planner that makes each round's tree, the target's LM
    head, the stages and the run's generator."""

    ctx: RunContext
    planner: HeadsPlanner | AutoPlanner
    info: DraftInfo
    lm_head: nn.Module
    stages: list[Stage]
    generator: torch.Generator | None
    cost_curve: list[float] | None = None  # c(k), when the planner sizes rounds by it
    # a tree's parents -> its (N, N) attention mask and (N,) depths
    masks: dict[tuple[int, ...], tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)

    def mask(self, shape: DraftTree) -> tuple[torch.Tensor, torch.Tensor]:
        """The tree attention mask and the depths of `shape`."""
        if shape.parents not in self.masks:
            device = self.ctx.device
            self.masks[shape.parents] = (shape.mask(device), torch.tensor(shape.depths, device=device))
        return self.masks[shape.parents]


@dataclass
class Checked:
    """A tree the target has verified: what its one pass gave at each of the N nodes, and the verdict."""

    tokens: list[int]  # the tree's N tokens, the root first
    hidden: torch.Tensor  # (N, d) the last hidden state
    logits: torch.Tensor  # (N, V) on the run's device
    staged: list[tuple[str, torch.Tensor]]  # (stage name, (N, V) scores after it)
    probs: torch.Tensor  # (N, V) the final distribution
    verdict: TreeVerdict
    pass_s: float  # seconds of the pass: the forward and the LM head over the N nodes (what c(N) prices)


def start_run(ctx: RunContext) -> TreeRun:
    """The run's fixed parts, from `ctx.draft` (a HeadsDraft, or an AutoDraft) and the target.

    Raises:
        ValueError: no draft was handed over, or the target's cache drops positions (a sliding window).
    """
    settings, model, draft = ctx.settings, ctx.loaded.model, ctx.draft
    if not isinstance(draft, HeadsDraft | AutoDraft):
        raise ValueError("speculative decoding with Medusa heads or the automatic draft needs load_draft's draft")
    if any(getattr(layer, "is_sliding", False) for layer in new_cache(model).layers):
        raise ValueError("tree verification needs a model whose cache holds every position (no sliding window)")
    generator = torch.Generator(device=ctx.device).manual_seed(settings.seed) if settings.samples else None
    lm_head = model.get_output_embeddings()
    if isinstance(draft, AutoDraft):
        planner, curve = auto_planner(ctx, draft, lm_head)
        info = DraftInfo(source=AUTO, id=draft.heads.name if draft.heads else None)
    else:
        planner, curve = HeadsPlanner(HeadsGuesses(draft, lm_head, ctx.device), settings.tree_size), None
        info = DraftInfo(source="medusa", id=draft.name, tree_size=settings.tree_size)
    return TreeRun(ctx, planner, info, lm_head, ctx.stages(), generator, curve)


def tree_decode(ctx: RunContext) -> Iterator[Update]:
    """Runs tree speculative decoding (`ctx.draft` Medusa heads or the automatic draft), yielding an Update per
    emitted token, then the trace."""
    settings, model, run = ctx.settings, ctx.loaded.model, start_run(ctx)
    cache = new_cache(model)  # filled by the first round, whose pass reads the prompt (its time is the prefill's)
    started = time.perf_counter()
    text, generated, steps, rounds = list(ctx.context_ids), [], [], []
    last = None  # (d,) the hidden state that chose the text's last token (none before the first round)
    work, stop_reason, prefill_s = Work(), "max_new_tokens", 0.0
    while len(generated) < settings.max_new_tokens:
        round_started = tick = time.perf_counter()
        # A round emits its accepted path and one more token: no deeper than the tokens left allow.
        plan = run.planner.plan(text, last, settings.max_new_tokens - len(generated) - 1)
        work.draft_s += time.perf_counter() - tick

        tick = time.perf_counter()
        checked = verify_tree(run, cache, text, plan)
        work.verify_s += time.perf_counter() - tick

        verdict = checked.verdict
        run.planner.seen(plan, len(verdict.path) - 1)
        emitted = [checked.tokens[n] for n in verdict.path[1:]] + [verdict.token]
        summary = path_summary(run, plan, checked, emitted)
        start = len(generated)
        text = [*text, *emitted]
        round_s = time.perf_counter() - round_started  # the round's own time: not the reader's, between updates
        ended = yield from emit(ctx, emitted, summary, generated, steps)
        tick = time.perf_counter()
        p_children, q_rows, p_token = summary.also
        end = RoundEnd(start, len(generated) - start, verdict, p_token)
        rounds.append(record_tree_round(ctx, end, plan, checked.tokens, p_children, q_rows, run.cost_curve))
        if rounds[1:]:  # the first round's pass read the prompt too: it says nothing of a round's cost
            run.planner.timed(plan, checked.pass_s, round_s + time.perf_counter() - tick)
        else:
            prefill_s = checked.pass_s
        if stopped := stop_after_round(ctx, ended, generated):
            stop_reason = stopped
            break
        last = checked.hidden[verdict.path[-1]]
    decode_s = time.perf_counter() - started - prefill_s

    trace = make_trace(ctx, generated, stop_reason, steps, prefill_s, decode_s)
    work.target_calls, work.draft_calls = len(rounds), run.planner.heads.calls if run.planner.heads else 0
    size = settings.tree_size if run.info.source == "medusa" else 0
    trace.speculative = totals(run.info, size, "constant", rounds, work, acceptance_by_depth(rounds))
    trace.speculative.cost_curve = run.cost_curve
    yield Update(text=trace.output.text, trace=trace)


def verify_tree(run: TreeRun, cache: DynamicCache, text: list[int], plan: Plan) -> Checked:
    """Feeds the plan's tree in one target pass, verifies it, and keeps the root and the accepted path in
    `cache`. The first round's pass also reads the text before the root (the prompt, all but its last token),
    which the cache does not hold yet: a chain in the same pass, a tree after it."""
    ctx, shape, model = run.ctx, plan.shape, run.ctx.loaded.model
    started = clock(ctx.device)
    if plan.guesses is None:
        tokens = torch.tensor([text[-1]], dtype=torch.long, device=ctx.device)  # (1,)
    else:
        tokens = shape.tokens(text[-1], plan.guesses)  # (N,)
    unread = torch.tensor(text[cache.get_seq_length() : -1], dtype=torch.long, device=ctx.device)  # (P,)
    if shape.is_chain:
        hidden = forward_chain(model, torch.cat([unread, tokens]), cache)[len(unread) :]  # (N, d)
    else:
        if len(unread):
            prefill(model, unread[None], cache)
        hidden = forward_tree(model, tokens, *run.mask(shape), cache)  # (N, d)
    with torch.no_grad():
        # (N, V), brought from the LM head's device to the inputs', where the stages and the generator are
        logits = run.lm_head(hidden).float().to(ctx.device)
    pass_s = clock(ctx.device) - started
    token_list = tokens.tolist()
    # Each node follows the text and its own path (the root is the text's last token).
    pasts = [text + [token_list[n] for n in shape.path_to(node)[1:]] for node in range(shape.size)]
    staged = apply_stages_rows(run.stages, pasts, logits)
    scores = staged[-1][1]  # (N, V)
    probs = torch.softmax(scores, dim=-1)
    if ctx.settings.samples:
        verdict = verify_tree_sampling(shape, tokens, probs, run.generator)
    else:
        verdict = verify_tree_greedy(shape, token_list, scores)
    keep_path(cache, len(text) - 1, verdict.path)
    return Checked(token_list, hidden, logits, staged, probs, verdict, pass_s)


def path_summary(run: TreeRun, plan: Plan, checked: Checked, emitted: list[int]) -> RowSummary:
    """The accepted path's rows for its steps (`summarize_rows`), read with the round's record (`node_figures`)."""
    rows = torch.tensor(checked.verdict.path, device=run.ctx.device)
    return summarize_rows(
        [(name, values[rows]) for name, values in checked.staged],
        checked.logits[rows],
        run.ctx.settings.top_n,
        must_include=torch.tensor(emitted, device=run.ctx.device),
        also=node_figures(plan.shape, checked.tokens, checked.probs, plan.guess_q, checked.verdict),
    )


def node_figures(
    tree: DraftTree, tokens: list[int], probs: torch.Tensor, guess_q: torch.Tensor | None, verdict: TreeVerdict
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """What a round's record reads from the device: each node's p under its parent, the root left out ((N - 1,)),
    the heads' probabilities of their guesses ((K, R); (0,) in the first round, which has none), and the
    target's probability of its own token after the accepted path (0-dim).

    Args:
        tokens: the tree's N tokens; probs: (N, V) the target's final distribution after each node.
    """
    parents = torch.tensor(tree.parents[1:], dtype=torch.long, device=probs.device)
    children_ids = torch.tensor(tokens[1:], dtype=torch.long, device=probs.device)
    guessed = guess_q if guess_q is not None else probs.new_zeros(0)
    return probs[parents, children_ids], guessed, probs[verdict.path[-1], verdict.token]


def record_tree_round(
    ctx: RunContext,
    end: RoundEnd,
    plan: Plan,
    tokens: list[int],
    p_children: list[float],
    q_rows: list[list[float]],
    curve: list[float] | None = None,
) -> SpeculativeRound:
    """The trace's record of one round: the whole tree, and as `proposed` the accepted path followed by the
    best guess the target turned down after it (so the acceptance views read tree rounds like linear ones).

    Args:
        end: how the round ended (its verdict a `TreeVerdict`).
        tokens: the tree's N tokens.
        p_children, q_rows: `node_figures`, read.
        curve: the run's c(k), which prices the round's pass (None: not measured).
    """
    verdict, tree = end.verdict, plan.shape
    p_node = [1.0, *p_children]  # (N,): each node's p under its parent
    on_path = set(verdict.path)
    texts = ctx.texts([*tokens, verdict.token])
    nodes = [
        TreeNode(
            id=tokens[i],
            text=texts[i],
            parent=tree.parents[i],
            depth=len(path),
            rank=path[-1] if path else -1,
            q=q_rows[len(path) - 1][path[-1]] if path else 1.0,
            p=p_node[i],
            accepted=i in on_path,
        )
        for i, path in enumerate(tree.paths)
    ]
    children = tree.children
    proposed = [nodes[i] for i in verdict.path[1:]]
    turned_down = children[verdict.path[-1]][:1]  # the best-ranked child, which the target rejected
    proposed += [nodes[i] for i in turned_down]
    # For a guess that is a point mass, sum_x min(p(x), q(x)) is p(guess); for several children, the chance one of
    # them is accepted. Averaged over the path's nodes that had children, like the linear rounds' alpha.
    covered = [sum(p_node[c] for c in children[i]) for i in verdict.path if children[i]]
    return SpeculativeRound(
        start=end.start,
        num_draft_tokens=tree.size - 1,
        proposed=[Proposal(id=n.id, text=n.text, q=n.q, p=n.p, accepted=n.accepted) for n in proposed],
        emitted=end.emitted(texts[-1]),
        alpha=sum(covered) / len(covered) if covered else 0.0,
        expected_tokens=plan.expected,
        tokens=end.tokens,
        tree=nodes,
        lookup=plan.lookup,
        source=plan.source,
        cost=None if curve is None else curve[min(tree.size, len(curve)) - 1],
    )


def acceptance_by_depth(rounds: list[SpeculativeRound]) -> list[float]:
    """For depth d = 1, 2, ...: the share of rounds whose tree reached depth d that accepted a guess there."""
    reached: list[int] = []  # rounds whose tree had depth d (index d - 1)
    hits: list[int] = []  # ... and accepted a token there
    for r in rounds:
        deepest = max(node.depth for node in r.tree)
        kept = max(node.depth for node in r.tree if node.accepted)
        for depth in range(1, deepest + 1):
            if len(reached) < depth:
                reached.append(0)
                hits.append(0)
            reached[depth - 1] += 1
            hits[depth - 1] += depth <= kept
    return [h / n for h, n in zip(hits, reached, strict=True)]
