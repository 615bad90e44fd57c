"""Speculative decoding with Medusa heads: the heads guess the next few tokens from the target's last hidden
state, a tree of their top guesses is verified in one target pass, and the target keeps the longest path it
agrees with plus one token of its own (Cai et al., 2024).

Cache bookkeeping, as for the other drafts: the target's cache holds all of the text but its last token. A
round feeds that token as the tree's root, followed by the guesses, each seeing only its ancestors
(`forward.forward_tree`); the cache then keeps the root and the accepted path (`forward.keep_path`). The hidden
state at the path's last node gives both the target's next token (through its LM head) and, through the heads,
the next round's guesses, so the heads cost no extra pass. The first round has no guesses: its tree is the
prompt's last token alone.

Greedy rounds accept the longest path whose tokens are the target's argmax, so the output is plain greedy
decoding's. Sampling rounds walk the tree with recursive rejection over each node's children
(`tree.verify_sampling`), so the output is distributed as the target's own sampling.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import torch
from accelerate.utils import align_module_device, has_offloaded_params
from torch import nn

from playground.engine.context import RunContext, Update, make_trace
from playground.engine.forward import forward_tree, keep_path, new_cache, prefill
from playground.engine.processors import apply_stages_rows
from playground.engine.recording import summarize_rows
from playground.engine.speculative.chain import emit, stop_after_round
from playground.engine.speculative.draft_tree import (
    ROOT_ONLY,
    DraftTree,
    TreeVerdict,
    best_tree,
    expected_length,
    verify_greedy,
    verify_sampling,
)
from playground.medusa.draft import HeadsDraft
from playground.medusa.heads import MedusaHeads
from playground.trace import DraftInfo, Emitted, Proposal, Speculative, SpeculativeRound, TreeNode


def static_tree(draft: HeadsDraft, size: int) -> DraftTree:
    """The run's tree: the `size` guesses with the best chance of being right, from the heads' held-out hit
    rates by rank (`tree.best_tree`)."""
    return best_tree(draft.hit_rates, size + 1)


def heads_projection(heads: MedusaHeads, lm_head: nn.Module) -> torch.Tensor:
    """The rows of the LM head's weight the heads score, (M, d), on the heads' device. An LM head accelerate
    offloaded keeps its weight on `meta` between forward passes: it is brought over for the read and copied."""
    device = next(heads.parameters()).device
    with align_module_device(lm_head):
        return heads.projection(lm_head.weight).to(device, copy=has_offloaded_params(lm_head))


def tree_decode(ctx: RunContext) -> Iterator[Update]:
    """Runs speculative decoding with Medusa heads (`ctx.draft` a HeadsDraft), yielding an Update per emitted
    token, then the trace."""
    settings, model, draft = ctx.settings, ctx.loaded.model, ctx.draft
    if not isinstance(draft, HeadsDraft):
        raise ValueError("speculative decoding with Medusa heads needs the heads: see load_draft")
    if any(getattr(layer, "is_sliding", False) for layer in new_cache(model).layers):
        raise ValueError("Medusa heads need a model whose cache holds every position (no sliding window)")
    stages = ctx.stages()
    generator = torch.Generator(device=ctx.device).manual_seed(settings.seed) if settings.samples else None
    heads = draft.heads
    lm_head = model.get_output_embeddings()
    projection = heads_projection(heads, lm_head)  # (M, d): the heads' slice of the LM head, once per run
    tree = static_tree(draft, settings.tree_size)
    masks: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}  # tree size (one per depth it is cut to) -> (mask, depths)

    started = time.perf_counter()
    cache = new_cache(model)
    prompt = ctx.context_ids
    if len(prompt) > 1:
        prefill(model, ctx.input_ids[:, :-1], cache)  # all the text but its last token, as every round expects
    prefill_s = time.perf_counter() - started

    started = time.perf_counter()
    text, generated, steps, rounds = list(prompt), [], [], []
    guesses = guess_q = None  # (K, R) the heads' best guesses for the tokens after the text, and their q
    heads_s = verify_s = 0.0
    stop_reason = "max_new_tokens"
    while len(generated) < settings.max_new_tokens:
        tick = time.perf_counter()
        # A round emits its accepted path and one more token: no deeper than the tokens left allow.
        shape = ROOT_ONLY if guesses is None else tree.truncated(settings.max_new_tokens - len(generated) - 1)
        if shape.size not in masks:  # a truncated tree's size says how deep it is
            masks[shape.size] = (shape.mask(ctx.device), torch.tensor(shape.depths, device=ctx.device))
        mask, depths = masks[shape.size]
        if guesses is None:
            tokens = torch.tensor([text[-1]], dtype=torch.long, device=ctx.device)  # (1,)
        else:
            tokens = shape.tokens(text[-1], guesses)  # (N,)
        hidden = forward_tree(model, tokens, mask, depths, cache)  # (N, d)
        with torch.no_grad():
            # (N, V), brought from the LM head's device to the inputs', where the stages and the generator are
            logits = lm_head(hidden).float().to(ctx.device)
        token_list = tokens.tolist()
        # Each node follows the text and its own path (the root is the text's last token).
        pasts = [text + [token_list[n] for n in shape.path_to(node)[1:]] for node in range(shape.size)]
        staged = apply_stages_rows(stages, pasts, logits)
        scores = staged[-1][1]  # (N, V)
        probs = torch.softmax(scores, dim=-1)
        if settings.samples:
            verdict = verify_sampling(shape, tokens, probs, generator)
        else:
            verdict = verify_greedy(shape, tokens, scores)
        keep_path(cache, len(text) - 1, verdict.path)
        verify_s += time.perf_counter() - tick

        emitted = [token_list[n] for n in verdict.path[1:]] + [verdict.token]
        rows = torch.tensor(verdict.path, device=ctx.device)
        summary = summarize_rows(
            [(name, values[rows]) for name, values in staged],
            logits[rows],
            settings.top_n,
            must_include=torch.tensor(emitted, device=ctx.device),
            also=node_figures(shape, token_list, probs, guess_q, verdict),  # read with the round's record
        )
        start = len(generated)
        text = [*text, *emitted]
        ended = yield from emit(ctx, emitted, summary, generated, steps)
        rounds.append(
            record_round(ctx, draft, start, shape, token_list, *summary.also, verdict, len(generated) - start)
        )
        if stopped := stop_after_round(ctx, ended, generated):
            stop_reason = stopped
            break

        tick = time.perf_counter()
        with torch.no_grad():
            # The next tokens' guesses, from the hidden state that chose the round's last token (on the last
            # layer's device; the heads sit with the LM head, usually the same one).
            last = hidden[verdict.path[-1]].to(projection.device)  # (d,)
            q = torch.softmax(heads(last, projection).float(), dim=-1)  # (K, M)
            guess_q, columns = torch.topk(q, k=min(max(tree.max_rank, 1), q.shape[-1]), dim=-1)  # (K, R)
            guesses = heads.token_ids(columns).to(ctx.device)
        heads_s += time.perf_counter() - tick
    decode_s = time.perf_counter() - started

    trace = make_trace(ctx, generated, stop_reason, steps, prefill_s, decode_s)
    trace.speculative = totals(settings, draft, rounds, heads_s, verify_s)
    yield Update(text=trace.output.text, trace=trace)


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


def record_round(
    ctx: RunContext,
    draft: HeadsDraft,
    start: int,
    tree: DraftTree,
    tokens: list[int],
    p_children: list[float],
    q_rows: list[list[float]],
    p_token: float,
    verdict: TreeVerdict,
    emitted: int,
) -> SpeculativeRound:
    """The trace's record of one round: the whole tree, and as `proposed` the accepted path followed by the
    best guess the target turned down after it (so the acceptance views read tree rounds like linear ones).

    Args:
        start: index of the round's first generated token.
        tokens: the tree's N tokens.
        p_children, q_rows, p_token: `node_figures`, read.
        emitted: how many of its tokens the round emitted.
    """
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
        start=start,
        num_draft_tokens=tree.size - 1,
        proposed=[Proposal(id=n.id, text=n.text, q=n.q, p=n.p, accepted=n.accepted) for n in proposed],
        emitted=Emitted(id=verdict.token, text=texts[-1], kind=verdict.kind, p=p_token),
        alpha=sum(covered) / len(covered) if covered else 0.0,
        expected_tokens=expected_length(tree, draft.hit_rates),
        tokens=emitted,
        tree=nodes,
    )


def totals(settings, draft: HeadsDraft, rounds: list[SpeculativeRound], heads_s: float, verify_s: float) -> Speculative:
    """The run's speculative part: its rounds, their totals and acceptance by depth."""
    proposed = sum(len(r.proposed) for r in rounds)
    accepted = sum(r.accepted_count() for r in rounds)
    emitted = sum(r.tokens for r in rounds)
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
    return Speculative(
        draft=DraftInfo(source="medusa", id=draft.name, tree_size=settings.tree_size),
        num_draft_tokens=settings.tree_size,
        schedule="constant",
        rounds=rounds,
        acceptance_rate=accepted / proposed if proposed else 0.0,
        mean_accepted_per_round=accepted / len(rounds) if rounds else 0.0,
        tokens_per_round=emitted / len(rounds) if rounds else 0.0,
        target_calls=len(rounds),
        draft_calls=max(len(rounds) - 1, 0),
        draft_s=heads_s,
        verify_s=verify_s,
        acceptance_by_depth=[h / n for h, n in zip(hits, reached, strict=True)],
    )
