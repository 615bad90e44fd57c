"""What a tree round verifies, and who decides it: a `Plan` is the round's tree of guesses, and a planner makes
one before every round from the text so far and the hidden state that chose its last token.

Two planners share the tree loop (`tree.py`): the Medusa heads' static tree (`HeadsPlanner`, draft_model
"medusa"), and the automatic draft's cascade (`auto.AutoPlanner`), whose chains from prompt lookup or the suffix
index are trees with one child per node.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from accelerate.utils import align_module_device, has_offloaded_params
from torch import nn

from playground.engine.speculative.draft_tree import ROOT_ONLY, DraftTree, best_tree, build_tree, expected_length
from playground.medusa.draft import HeadsDraft
from playground.medusa.heads import MedusaHeads


@dataclass
class Plan:
    """One round's guesses: the tree's shape, the token at each (depth, rank), and how sure the draft was."""

    shape: DraftTree
    guesses: torch.Tensor | None  # (K, R) token ids: depth k + 1, rank r; None for the root alone
    guess_q: torch.Tensor | None  # (K, R) the draft's probability of each guess (1 for a copied token)
    expected: float  # tokens the round is expected to emit, the target's own included
    source: str | None = None  # the automatic draft's source (trace.DRAFT_SOURCES); None for a fixed draft
    lookup: str | None = None  # prompt lookup: where the copied tokens start (trace.LOOKUP_SOURCES)


def root_plan(source: str | None = None) -> Plan:
    """A round without guesses: the target reads the text's last token alone (a plain step)."""
    return Plan(ROOT_ONLY, None, None, 1.0, source)


def chain_plan(tokens: list[int], q: list[float], expected: float, device: torch.device, **record) -> Plan:
    """A chain of guesses as a tree with one child per node: depth j + 1 holds tokens[j] at rank 0.

    Args:
        q: the draft's probability of each token (1 for a copy).
        record: `source` and `lookup`, as `Plan` records them.
    """
    if not tokens:
        return root_plan(record.get("source"))
    shape = build_tree([(0,) * depth for depth in range(1, len(tokens) + 1)])
    guesses = torch.tensor(tokens, dtype=torch.long, device=device)[:, None]  # (g, 1)
    guess_q = torch.tensor(q, dtype=torch.float32, device=device)[:, None]  # (g, 1)
    return Plan(shape, guesses, guess_q, expected, **record)


def heads_projection(heads: MedusaHeads, lm_head: nn.Module) -> torch.Tensor:
    """The rows of the LM head's weight the heads score, (M, d), on the heads' device. An LM head accelerate
    offloaded keeps its weight on `meta` between forward passes: it is brought over for the read and copied."""
    device = next(heads.parameters()).device
    with align_module_device(lm_head):
        return heads.projection(lm_head.weight).to(device, copy=has_offloaded_params(lm_head))


class HeadsGuesses:
    """The Medusa heads' best guesses for the tokens after the text, from the hidden state that chose its last
    token: `HeadsPlanner` and the automatic draft both read them."""

    def __init__(self, draft: HeadsDraft, lm_head: nn.Module, device: torch.device) -> None:
        self.draft, self.device = draft, device
        self.calls = 0  # the heads' passes this run
        # (M, d), once per run, stored column-major: the heads multiply by its transpose, which is then contiguous
        # (on a CPU that matmul takes about 60% of the time it takes on the row-major copy).
        self.projection = heads_projection(draft.heads, lm_head).T.contiguous().T

    def guesses(self, last: torch.Tensor, ranks: int, depth: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(D, R) guesses and their q, R = `ranks`, from `last` ((d,)), by the first D = `depth` heads (all K
        when None): a tree reads no deeper than its depth. On the run's device."""
        heads = self.draft.heads
        self.calls += 1
        with torch.no_grad():
            # On the last layer's device; the heads sit with the LM head, usually the same one.
            logits = heads(last.to(self.projection.device), self.projection, depth)  # (D, M)
            q = torch.softmax(logits.float(), dim=-1)  # (D, M)
            guess_q, columns = torch.topk(q, k=min(max(ranks, 1), q.shape[-1]), dim=-1)  # (K, R)
        return heads.token_ids(columns).to(self.device), guess_q.to(self.device)

    def plan(
        self, tree: DraftTree, last: torch.Tensor | None, left: int, source: str | None = None, rates=None
    ) -> Plan:
        """`tree`, cut to `left` tokens deep, over the heads' guesses after `last`; the root alone without one.
        Its expected length comes from `rates` (the card's hit rates by default)."""
        shape = tree.truncated(left)
        if last is None or shape.size == 1:
            return root_plan(source)
        guesses, guess_q = self.guesses(last, shape.max_rank, max(shape.depths))
        return Plan(shape, guesses, guess_q, expected_length(shape, rates or self.draft.hit_rates), source)


class HeadsPlanner:
    """draft_model "medusa": the static tree of `tree_size` guesses with the best chance of being right, from the
    heads' held-out hit rates by rank (`draft_tree.best_tree`). The first round has no hidden state yet: the
    prompt's last token alone."""

    def __init__(self, heads: HeadsGuesses, size: int) -> None:
        self.heads = heads
        self.tree = best_tree(heads.draft.hit_rates, size + 1)

    def plan(self, text: list[int], last: torch.Tensor | None, left: int) -> Plan:
        """The round after `text`; `left` tokens may follow its accepted path."""
        return self.heads.plan(self.tree, last, left)

    def seen(self, plan: Plan, accepted: int) -> None:
        """A fixed tree learns nothing from a round."""

    def timed(self, plan: Plan, pass_s: float, round_s: float) -> None:
        """Nor from its time."""
