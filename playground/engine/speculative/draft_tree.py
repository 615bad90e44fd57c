"""The draft tree: which of the heads' guesses are verified together in one target pass, as a static tree
(Medusa's "choices"). Node 0 is the root, the token the target itself chose; every other node is a path of
ranks, (r1, r2, ...): head 1's r1-th guess, then head 2's r2-th guess after it, and so on.

The tree is chosen from the heads' measured accuracy (`best_tree`): a node's value is the chance that the path
to it is right (the product of its ranks' hit rates), and the tree keeps the most valuable nodes whose parents
it keeps, so its expected accepted length is as large as its size allows.
"""

from __future__ import annotations

import functools
import heapq
import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class DraftTree:
    """Nodes in breadth-first order (the root first, then by depth and path)."""

    paths: tuple[tuple[int, ...], ...]  # node i's path of ranks; () for the root
    parents: tuple[int, ...]  # node i's parent (-1 for the root)

    @property
    def size(self) -> int:
        return len(self.paths)

    @property
    def depths(self) -> list[int]:
        return [len(path) for path in self.paths]

    def mask(self, device: torch.device | str = "cpu") -> torch.Tensor:
        """(N, N) bool: node i may attend to node j, j being i or one of its ancestors (tree attention)."""
        mask = torch.zeros(self.size, self.size, dtype=torch.bool, device=device)
        for node in range(self.size):
            ancestor = node
            while ancestor >= 0:
                mask[node, ancestor] = True
                ancestor = self.parents[ancestor]
        return mask

    def tokens(self, root: int, guesses: torch.Tensor) -> torch.Tensor:
        """The token at every node: the root's, then each node's head guess at its rank.

        Args:
            guesses: (K, R) each head's guesses, best first (token ids).

        Returns:
            (N,) token ids, on `guesses`' device.
        """
        heads, ranks = guesses.shape
        index = [heads * ranks] + [(len(path) - 1) * ranks + path[-1] for path in self.paths[1:]]
        flat = torch.cat([guesses.reshape(-1), torch.tensor([root], device=guesses.device, dtype=guesses.dtype)])
        return flat[torch.tensor(index, device=guesses.device)]

    @functools.cached_property
    def children(self) -> list[list[int]]:
        """Each node's children, best rank first (breadth-first order sorts siblings by rank)."""
        children: list[list[int]] = [[] for _ in range(self.size)]
        for node, parent in enumerate(self.parents[1:], start=1):
            children[parent].append(node)
        return children

    @functools.cached_property
    def is_chain(self) -> bool:
        """Every node is its predecessor's child: a row of tokens (the root alone included)."""
        return self.parents == tuple(range(-1, self.size - 1))

    @property
    def max_rank(self) -> int:
        """How many guesses per head the tree reads (its largest rank + 1; 0 for the root alone)."""
        return max((rank for path in self.paths for rank in path), default=-1) + 1

    def truncated(self, max_depth: int) -> DraftTree:
        """The nodes at most `max_depth` below the root (the tree itself when it is no deeper)."""
        if max(self.depths) <= max_depth:
            return self
        return build_tree([path for path in self.paths[1:] if len(path) <= max_depth])

    def path_to(self, node: int) -> list[int]:
        """The nodes from the root to `node`, both included."""
        path = []
        while node >= 0:
            path.append(node)
            node = self.parents[node]
        return path[::-1]


def build_tree(choices: list[tuple[int, ...]] | tuple[tuple[int, ...], ...]) -> DraftTree:
    """A tree from its paths of ranks (any order; each path's parent must be there too)."""
    paths = sorted({tuple(path) for path in choices}, key=lambda path: (len(path), path))
    known = {(): 0} | {path: i + 1 for i, path in enumerate(paths)}
    for path in paths:
        if not path or min(path) < 0 or path[:-1] not in known:
            raise ValueError(f"draft tree path {path} needs its parent {path[:-1]} and ranks >= 0")
    return DraftTree(paths=((), *paths), parents=(-1, *(known[path[:-1]] for path in paths)))


ROOT_ONLY = build_tree([])  # a round without guesses (the first): the target reads its last token alone


def best_tree(hit_rates: list[list[float]], size: int) -> DraftTree:
    """The `size`-node tree (root included) with the largest expected accepted length, for heads whose rank-r
    guess is right with probability `hit_rates[k][r]` (head k, rank r): nodes are added best first, each
    worth the product of its path's hit rates, and a node can only join once its parent has."""
    heads, ranks = len(hit_rates), len(hit_rates[0]) if hit_rates else 0
    chosen: list[tuple[int, ...]] = []
    frontier = [(-hit_rates[0][r], (r,)) for r in range(ranks)] if heads else []
    heapq.heapify(frontier)
    while frontier and len(chosen) + 1 < size:
        value, path = heapq.heappop(frontier)
        chosen.append(path)
        if len(path) < heads:  # its children, one head further
            for r in range(ranks):
                heapq.heappush(frontier, (value * hit_rates[len(path)][r], (*path, r)))
    return build_tree(chosen)


def expected_length(tree: DraftTree, hit_rates: list[list[float]]) -> float:
    """The expected number of tokens a round emits with this tree: 1 (the target's own) plus, for every node,
    the chance that its whole path is right (an upper bound: the heads' hits are not independent)."""
    return 1.0 + sum(math.prod(hit_rates[k][r] for k, r in enumerate(path)) for path in tree.paths[1:])
