"""Where the probability mass goes: every continuation of the prompt, up to a few tokens, whose joint probability
under the settings is at least a threshold, expanded breadth first with one batched forward pass per level.

Exact, not estimated: a node's probability is the final distribution (after every processor the settings turn
on: penalties, temperature, top-k, top-p, min-p, typical-p, cutoffs) after its parent's path, as a run with these
settings would draw from it. What is not expanded (below the threshold, or past the server's node cap) is each
node's "other", so at every node the children plus "other" hold exactly the node's own probability.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import torch

from playground.engine.context import prepare
from playground.engine.forward import decode_one_token, new_cache, prefill
from playground.engine.placement import read_values
from playground.engine.processors import after_choice, apply_stages, keep_rows, start_stages
from playground.settings import Settings
from playground.trace import MassNode, MassTree

if TYPE_CHECKING:
    from playground.models import LoadedModel


def mass_tree(loaded: LoadedModel, prompt: str, settings: Settings, cancel: threading.Event | None = None) -> MassTree:
    """The continuations of `prompt` (and any forced tokens of `settings`) up to `settings.mass_depth` tokens
    whose joint probability is at least `settings.mass_threshold`, at most `limits.max_mass_nodes` of them.

    Raises:
        SettingsError: the prompt is empty or longer than the server allows.
    """
    started = time.perf_counter()
    ctx = prepare(loaded, prompt, settings, cancel)
    model = loaded.model
    stages = ctx.stages()
    start_stages(stages, None)  # the tree's joints are exact: a random stage gives its average distribution
    root = MassNode(token_id=None, text=ctx.prompt.text, prob=1.0, joint=1.0)
    frontier = [root]  # the nodes whose continuations the next level reads, one per row
    joints = torch.ones(1, dtype=torch.float64, device=ctx.device)  # (n,) each row's joint probability
    input_ids = ctx.input_ids  # (n, T + level)
    nodes, capped, passes = 0, False, 1
    cache = new_cache(model)
    with loaded.lock:
        logits = prefill(model, input_ids, cache)  # (1, V)
        for level in range(settings.mass_depth):
            room = settings.limits.max_mass_nodes - nodes
            rows, tokens, probs, values, cut = _level(stages, input_ids, logits, joints, settings.mass_threshold, room)
            capped = capped or cut
            children = _attach(frontier, rows, tokens, probs, values, ctx.texts, ctx.eos_ids)
            nodes += len(children)
            # Rows whose path goes on: not ended, not at the last level, and the run not cancelled.
            going = [i for i, child in enumerate(children) if not child.ended]
            if level + 1 == settings.mass_depth or not going or ctx.deadline.passed():
                break
            keep = torch.tensor(going, dtype=torch.long, device=ctx.device)
            parents = torch.tensor([rows[i] for i in going], dtype=torch.long, device=ctx.device)
            next_tokens = torch.tensor([tokens[i] for i in going], dtype=torch.long, device=ctx.device)  # (n',)
            cache.reorder_cache(parents)  # each new row starts from its parent's cached prefix
            keep_rows(stages, [rows[i] for i in going])  # a stage that remembers: each row its parent's state,
            after_choice(stages, next_tokens)  # then the row's own token taken
            input_ids = torch.cat([input_ids[parents], next_tokens[:, None]], dim=-1)
            joints = torch.tensor(values, dtype=torch.float64, device=ctx.device)[keep]
            frontier = [children[i] for i in going]
            logits = decode_one_token(model, next_tokens[:, None], cache)  # (n', V)
            passes += 1
    return MassTree(
        model=loaded.info,
        settings=settings.to_dict(),
        prompt=ctx.prompt,
        depth=settings.mass_depth,
        threshold=settings.mass_threshold,
        root=root,
        nodes=nodes,
        capped=capped,
        forward_passes=passes,
        seconds=time.perf_counter() - started,
    )


def _level(
    stages: list, input_ids: torch.Tensor, logits: torch.Tensor, joints: torch.Tensor, threshold: float, room: int
) -> tuple[list[int], list[int], list[float], list[float], bool]:
    """One level's continuations at or above `threshold`, at most `room` of them (the likeliest), read from the
    device at once: (parent rows, tokens, probabilities after the parent, joint probabilities, whether `room`
    cut any).

    Args:
        input_ids: (n, T) each row's context; logits: (n, V) its next-token logits; joints: (n,) float64.
    """
    final = apply_stages(stages, input_ids, logits)[-1][1]  # (n, V) after every stage
    # In float64, so that a node's children sum to its own probability to 1e-16, not float32's 1e-7.
    probs = torch.softmax(final.double(), dim=-1)  # (n, V)
    joint = joints[:, None] * probs  # (n, V)
    # How many pass depends on the data, so the device is waited for here too: a threshold cannot avoid it.
    rows, tokens = torch.nonzero(joint >= threshold, as_tuple=True)  # (m,), (m,)
    values = joint[rows, tokens]  # (m,)
    cut = values.numel() > room
    if cut:
        top = torch.topk(values, max(room, 0)).indices
        rows, tokens, values = rows[top], tokens[top], values[top]
    rows, tokens, probs, values = read_values(rows, tokens, probs[rows, tokens], values)  # (m,) each, at once
    return rows, tokens, probs, values, cut


def _attach(
    frontier: list[MassNode],
    rows: list[int],
    tokens: list[int],
    probs: list[float],
    values: list[float],
    texts,
    eos_ids: list[int],
) -> list[MassNode]:
    """Makes the level's nodes children of their rows' nodes, each parent's likeliest first, and sets every
    parent's "other" to what its shown children leave of it. Returns the new nodes in `rows` order."""
    shown = texts(tokens)
    children = [
        MassNode(token_id=token, text=text, prob=prob, joint=joint, ended=token in eos_ids)
        for token, text, prob, joint in zip(tokens, shown, probs, values, strict=True)
    ]
    for row, child in zip(rows, children, strict=True):
        frontier[row].children.append(child)
    for parent in frontier:
        parent.children.sort(key=lambda node: -node.joint)
        # Never below 0: float rounding in the sum of many tiny children could overshoot by 1e-17.
        parent.other = max(parent.joint - sum(child.joint for child in parent.children), 0.0)
    return children
