"""How well a draft guesses a known answer, and what that is worth per target pass: pure functions over token
tensors, shared by the EAGLE head's training card and `benchmarks/eagle_vs_medusa.py`.

At an origin t of an answer the target has just emitted x_{t+1} from its feature f_t; a draft then guesses
x_{t+2}, x_{t+3}, ... (depth 1, 2, ...), which one target pass checks.
"""

from __future__ import annotations

import math

import torch

from playground.engine.speculative.draft_tree import DraftTree

IGNORE = -100  # a token past the answer's end: no guess matches it


def answer_origins(length: int, prompt_len: int) -> range:
    """The origins of a sequence of `length` tokens whose answer starts at `prompt_len`: from the last prompt
    token (its feature chose the answer's first token) to the last one with a token two places on."""
    return range(prompt_len - 1, length - 2)


def chain_truth(ids: list[int], prompt_len: int, depth: int) -> torch.Tensor:
    """(N, depth) the answer's tokens at t + 2, ..., t + 1 + depth for every origin t (IGNORE past the end)."""
    rows = [
        [ids[t + 1 + d] if t + 1 + d < len(ids) else IGNORE for d in range(1, depth + 1)]
        for t in answer_origins(len(ids), prompt_len)
    ]
    return torch.tensor(rows, dtype=torch.long).reshape(-1, depth)


def chain_acceptance(drafted: torch.Tensor, truth: torch.Tensor) -> list[float]:
    """Share of origins whose first d drafted tokens are all right, for d = 1..D.

    Args:
        drafted, truth: (N, D) token ids.
    """
    right = (drafted == truth).long().cumprod(dim=1)  # (N, D): 1 while every guess so far is right
    return [float(rate) for rate in right.float().mean(dim=0)]


def tree_accepted(tree: DraftTree, guesses: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """(N,) how many guessed tokens a tree accepts at each origin: the depth of its deepest node whose whole
    path is right.

    Args:
        guesses: (N, K, R) head k's guesses at each rank, best first; truth: (N, K) the tokens they guess.
    """
    hits = guesses == truth[:, :, None]  # (N, K, R)
    accepted = torch.zeros(guesses.shape[0], dtype=torch.long)
    for path in tree.paths[1:]:
        right = torch.stack([hits[:, k, rank] for k, rank in enumerate(path)]).all(dim=0)  # (N,)
        accepted = torch.maximum(accepted, right.long() * len(path))
    return accepted


def expected_tokens(acceptance: list[float], length: int) -> float:
    """Expected tokens per target pass with a chain of `length` drafted tokens: the target's own token plus the
    chance that each prefix of the chain is right."""
    return 1.0 + sum(acceptance[:length])


def pass_cost(tokens: int) -> float:
    """A target pass over `tokens` new tokens, in one-token passes: 1 for one, else nf4's
    0.92 + 0.24 * ceil(tokens / 4) on a 2-core CPU (bitsandbytes decodes the 4-bit weights again for every group
    of four input tokens)."""
    return 1.0 if tokens <= 1 else 0.92 + 0.24 * math.ceil(tokens / 4)


def tokens_per_cost(expected: float, pass_tokens: int, draft_passes: float) -> float:
    """Tokens per unit of cost, one plain step being 1: expected tokens over the pass's cost plus the drafting's
    (in one-token target passes)."""
    return expected / (pass_cost(pass_tokens) + draft_passes)
