"""What the target keeps of a round's draft: a chain of proposals (a draft model, prompt lookup) or a tree of
guesses (Medusa heads), greedy or sampled.

Greedy has one rule for both: keep the longest path whose every token is the target's argmax after its parent,
then take the target's argmax there. A chain is the tree in which each proposal is the one child of the one
before it (`chain_tree`).

Sampling has two rules, because the drafts differ. A chain's proposals are draws from the draft's own q
(Leviathan et al. 2023; Chen et al. 2023): x_j is accepted with probability min(1, p_j(x_j) / q_j(x_j)); at the
first rejection the next token is drawn from normalize(max(0, p_j - q_j)); if all are accepted a bonus token is
drawn from p_{g+1}. A tree's children are the heads' top guesses, not draws: a point-mass q per child, tried
one after another against what is left of p (recursive rejection, SpecInfer). Both emit text distributed
exactly as the target's own sampling.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

from playground.engine.placement import read_values
from playground.engine.speculative.draft_tree import DraftTree, build_tree
from playground.engine.speculative.math import proposal_probs, residual


@dataclass
class Verdict:
    """The outcome of one chain round's verification."""

    accepted: int  # how many proposed tokens were kept (a prefix)
    token: int  # the token emitted after them
    kind: str  # "bonus" (all accepted), "resampled" (sampling, after a rejection), "corrected" (greedy)


@dataclass
class TreeVerdict:
    """The outcome of verifying one tree."""

    path: list[int]  # the accepted nodes from the root (the root included)
    token: int  # the target's own token after the path's last node
    kind: str  # "bonus" (the last node had no children), "corrected" (greedy) or "resampled" (sampling)


@functools.lru_cache(maxsize=64)
def chain_tree(length: int) -> DraftTree:
    """A chain of `length` proposals as a tree: the root, then each proposal the one child of the one before."""
    return build_tree([(0,) * depth for depth in range(1, length + 1)])


def accepted(tree: DraftTree, tokens: list[int], choices: list[int]) -> list[int]:
    """Greedy verification: the longest path whose every token is what the target chose after its parent.

    Args:
        tokens: the tree's N tokens (`DraftTree.tokens`); the root's is never checked.
        choices: the target's N greedy choices, one after each node (its argmax there).

    Returns:
        the accepted nodes from the root, the root included (the deepest; among equals, the first).
    """
    ok = [True] + [False] * (tree.size - 1)
    for node in range(1, tree.size):  # parents come before their children
        parent = tree.parents[node]
        ok[node] = ok[parent] and tokens[node] == choices[parent]
    best = max((node for node in range(tree.size) if ok[node]), key=lambda node: (len(tree.paths[node]), -node))
    return tree.path_to(best)


def verify_tree_greedy(tree: DraftTree, tokens: list[int], scores: torch.Tensor) -> TreeVerdict:
    """Greedy verification: the longest path the target's argmax agrees with, then its argmax there.

    Args:
        tokens: the tree's N tokens; scores: (N, V) the target's processed scores after each node.
    """
    choices = torch.argmax(scores, dim=-1).tolist()  # (N,)
    path = accepted(tree, tokens, choices)
    kind = "corrected" if tree.children[path[-1]] else "bonus"
    return TreeVerdict(path, choices[path[-1]], kind)


def verify_greedy(proposed: list[int], scores: torch.Tensor) -> Verdict:
    """Greedy verification of a chain: keep draft tokens while they are the target's argmax; then the target's
    argmax (the tree rule on `chain_tree`).

    Args:
        proposed: the g draft tokens.
        scores: (g + 1, V) target scores (probabilities or logits) at each position.
    """
    # The root stands for the text's last token, which the target chose itself: it is never checked.
    verdict = verify_tree_greedy(chain_tree(len(proposed)), [-1, *proposed], scores)
    return Verdict(len(verdict.path) - 1, verdict.token, verdict.kind)


def verify_sampling(
    proposed: list[int], p: torch.Tensor, q: torch.Tensor, generator: torch.Generator | None = None
) -> Verdict:
    """The speculative sampling rule for a chain drawn from the draft's q.

    As in Leviathan et al.'s algorithm, the g uniforms are drawn at once and the first rejection is found in one
    comparison, so a round reads one value from the device rather than one per token.

    Args:
        proposed: the g draft tokens.
        p: (g + 1, V) target probabilities at each proposed position and one after them.
        q: (g, V) draft probabilities the tokens were drawn from (one-hot for prompt lookup).
        generator: the run's random generator (uniforms and the final draw come from it).
    """
    g = len(proposed)
    if g:
        p_x, q_x = proposal_probs(proposed, p, q)
        ratio = torch.where(q_x > 0, p_x / q_x, 0.0).clamp(max=1.0)  # (g,) acceptance probabilities
        u = torch.rand(g, generator=generator, device=p.device)
        (rejected,) = read_values(u >= ratio)  # (g,) bools, read at once
        if any(rejected):
            j = rejected.index(True)
            nxt = torch.multinomial(residual(p[j], q[j]), 1, generator=generator)
            return Verdict(j, int(nxt), "resampled")
    nxt = torch.multinomial(p[g], 1, generator=generator)
    return Verdict(g, int(nxt), "bonus")


def verify_tree_sampling(
    tree: DraftTree, tokens: torch.Tensor, probs: torch.Tensor, generator: torch.Generator | None = None
) -> TreeVerdict:
    """Lossless tree verification for sampling: recursive rejection over a node's children (SpecInfer, Miao et
    al. 2024), for children that are the heads' top guesses rather than draws.

    At a node with target distribution p, child c_1 is accepted with probability p(c_1); if rejected, p becomes
    the residual, p with c_1 removed and renormalized, and c_2 is tried against it, and so on. This is
    speculative sampling's rule min(1, p(x) / q(x)) with the residual max(0, p - q), for a draft q that put all
    its mass on the child (a deterministic guess). If a child is accepted the walk goes on from it; if all are
    rejected, the token is drawn from the last residual; at a leaf, from p (the bonus). Each step therefore
    emits a token distributed exactly as p: c_i with probability (1 - p(c_1) - ... - p(c_i-1)) *
    p(c_i) / (1 - p(c_1) - ... - p(c_i-1)) = p(c_i), any other token with p(x). Guesses sampled from the heads'
    softmax would need that softmax as q; top guesses need the point mass.

    The uniforms for every child are drawn at once and the children's probabilities read in one transfer,
    so a round reads the device three times whatever the tree's size.

    Args:
        tokens: (N,) the tree's tokens; probs: (N, V) the target's final distribution after each node.
        generator: the run's random generator.
    """
    size = tree.size
    uniforms = torch.rand(size, generator=generator, device=probs.device).tolist()  # one per node (child)
    if size > 1:
        parents = torch.tensor(tree.parents[1:], device=probs.device)
        # p(child) under its parent's distribution, for every non-root node: (N - 1,)
        child_p = [0.0, *probs[parents, tokens[1:]].double().tolist()]
    else:
        child_p = [0.0]
    children, token_list = tree.children, tokens.tolist()
    path, node = [0], 0
    while True:
        removed = 0.0  # the mass of the rejected children, taken out of p
        rejected = []
        for child in children[node]:
            # The residual's probability of this child: p(c) / (1 - removed). u < it accepts.
            if uniforms[child] * (1.0 - removed) < child_p[child]:
                break
            removed += child_p[child]
            rejected.append(token_list[child])
        else:
            rest = probs[node].clone()  # the residual: p without the children turned down (unnormalized)
            if rejected:
                rest[torch.tensor(rejected, device=probs.device)] = 0.0
            if not torch.any(rest > 0):  # rounding took all the mass: the rule never gets here exactly
                rest = probs[node]
            token = int(torch.multinomial(rest, 1, generator=generator))
            return TreeVerdict(path, token, "resampled" if rejected else "bonus")
        node = child
        path.append(node)
