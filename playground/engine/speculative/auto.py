"""The automatic draft: before every round, the free drafts are asked in turn (prompt lookup over the prompt and
the text so far, the suffix index of the model's own answers, the Medusa heads), each round is sized by what a
target pass costs on this machine (`cost.py`'s c(k)), and the round takes whichever is expected to give the most
tokens per unit of cost; a plain step when none beats one token per one-token pass.

A draft is worth g tokens when E(g) / c(g + 1) is largest, E(g) = 1 + sum over j <= g of the chance that the
first j guesses are all right. Those chances come from what the run has seen so far: a copied token's hit rate
per source (a Beta(1, 1) prior, updated after every round), the suffix index's own frequencies scaled by how well
they have predicted this run, and the heads' held-out hit rates by rank, scaled likewise. The cost is c(k) plus
what each kind of round has taken beyond its pass so far in the run (`pricing.py`): planning, a tree's mask, the
stages over more rows.

All three drafts are point masses (copies, or the heads' top guesses), verified by the tree loop like Medusa's,
so greedy output is plain greedy decoding's and sampling stays lossless.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from playground.engine.context import RunContext
from playground.engine.speculative import math as sm
from playground.engine.speculative.cost import best_chain_length, best_tree_size, chain_expected_tokens, cost_curve
from playground.engine.speculative.draft_tree import DraftTree, best_tree, expected_length
from playground.engine.speculative.plans import HeadsGuesses, Plan, chain_plan, root_plan
from playground.engine.speculative.pricing import RoundCosts
from playground.engine.speculative.suffix import SuffixIndex
from playground.medusa.draft import HeadsDraft

LOOKUP_NGRAM = 3  # the longest n-gram prompt lookup matches, by default (Settings.prompt_lookup_ngram's default)
MIN_LOOKUP_NGRAM = 2  # a one-token match copies too often by chance to be worth a longer pass
MAX_CHAIN = 15  # guesses a chain may hold (c(k) is measured up to 16 tokens per pass)


@dataclass
class AutoDraft:
    """What the automatic draft brings to a run besides the text: the target's Medusa heads and the suffix index
    of its answers, each None where none ships for the model (`drafts.load_draft`)."""

    loaded = None  # no second model: everything runs on the target's own passes, under its lock
    heads: HeadsDraft | None
    index: SuffixIndex | None
    lookup: bool = True  # prompt lookup among the sources (a measurement may switch it off to see the others alone)


def auto_planner(ctx: RunContext, draft: AutoDraft, lm_head: nn.Module) -> tuple[AutoPlanner, list[float]]:
    """The run's planner and the cost curve it sizes rounds by (measured once per model, at this context)."""
    curve = cost_curve(ctx.loaded, ctx.context_ids)
    heads = HeadsGuesses(draft.heads, lm_head, ctx.device) if draft.heads is not None else None
    lookup = (len(ctx.prompt.token_ids), ctx.typed) if draft.lookup else None
    planner = AutoPlanner(curve, lookup, draft.index, heads, ctx.device, ctx.settings.prompt_lookup_ngram)
    return planner, curve


@dataclass
class Tally:
    """A source's record in this run: guesses the target tested, those it kept, and what the source predicted."""

    tested: int = 0
    kept: int = 0
    predicted: float = 0.0  # the sum of the acceptance chances the source gave the tested guesses

    def rate(self) -> float:
        """The chance a copied guess is kept: the posterior mean under a Beta(1, 1) prior."""
        return (self.kept + 1) / (self.tested + 2)

    def calibration(self) -> float:
        """How far the source's own chances have been borne out: kept over predicted, both with one guess of
        prior, so a source starts trusted and is scaled up or down as it hits or misses."""
        return (self.kept + 1) / (self.predicted + 1)


def chain_value(curve: list[float], accept: list[float]) -> tuple[int, float, float]:
    """The best length g for a chain whose guess j is kept with chance accept[j] given the ones before it:
    (g, expected tokens E(g), E(g) / c(g + 1))."""
    g = best_chain_length(curve, accept)
    expected = chain_expected_tokens(accept, g)
    return g, expected, expected / curve[g]


class AutoPlanner:
    """Draft_model "auto": the cascade of free drafts, sized by the cost curve.

    Args:
        curve: c(k), k = 1..K (`cost.cost_curve`).
        lookup: where prompt lookup's matches are found: (prompt length, the typed span [start, end)); None
            leaves prompt lookup out.
        index: the suffix index of the model's answers (`suffix.SuffixIndex`; tests may hand any object with its
            `propose(text, budget) -> (tokens, chances)`), or None.
        heads: the target's Medusa heads (`plans.HeadsGuesses`), or None.
        device: the run's device.
        ngram: the longest n-gram prompt lookup matches (the prompt_lookup_ngram setting).
    """

    def __init__(
        self,
        curve: list[float],
        lookup: tuple[int, tuple[int, int]] | None,
        index,
        heads: HeadsGuesses | None,
        device: torch.device,
        ngram: int = LOOKUP_NGRAM,
    ) -> None:
        self.curve, self.lookup, self.index, self.heads, self.device = curve, lookup, index, heads, device
        self.ngram = ngram
        self.tallies = {"prompt-lookup": Tally(), "suffix": Tally(), "medusa": Tally()}
        self.costs = RoundCosts(curve)  # what each kind of round has taken beyond its pass, in this run
        # the heads' tree by (calibration, overheads), rounded
        self.trees: dict[tuple[float, float, float], tuple[DraftTree | None, list[list[float]]]] = {}

    def plan(self, text: list[int], last: torch.Tensor | None, left: int) -> Plan:
        """The round after `text` with the most tokens per unit of cost; `left` tokens may follow its path."""
        budget = min(left, MAX_CHAIN, len(self.curve) - 1)
        best, value = lambda: root_plan("none"), 1.0 / (self.curve[0] + self.costs.overhead("none"))
        for worth, make in self.candidates(text, last, budget):
            if worth > value:
                best, value = make, worth
        return best()

    def candidates(self, text: list[int], last: torch.Tensor | None, budget: int):
        """Each source's expected tokens per unit of cost this round, with what makes its plan (only the chosen
        one is made: the heads' guesses cost a pass of the heads), in cascade order."""
        if budget <= 0:
            return
        tokens, at = sm.prompt_lookup(text, self.ngram, budget) if self.lookup else ([], -1)
        if tokens and self._matched(text, at) >= min(MIN_LOOKUP_NGRAM, self.ngram):
            rate = self.tallies["prompt-lookup"].rate()
            g, expected, worth = chain_value(self.costs.priced("prompt-lookup"), [rate] * len(tokens))
            where = sm.lookup_source(at, self.lookup[0], self.lookup[1])
            yield (
                worth,
                lambda: chain_plan(tokens[:g], [1.0] * g, expected, self.device, source="prompt-lookup", lookup=where),
            )
        if self.index is not None:
            copied, chances = self.index.propose(text, budget)
            if copied:
                scale = self.tallies["suffix"].calibration()
                accept = [min(1.0, chance * scale) for chance in chances]
                n, found, value = chain_value(self.costs.priced("suffix"), accept)
                yield value, lambda: chain_plan(copied[:n], chances[:n], found, self.device, source="suffix")
        tree, rates = self.heads_tree()
        if tree is not None and last is not None:
            shape = tree.truncated(budget)
            worth = expected_length(shape, rates) / self.costs.priced("medusa")[shape.size - 1]
            yield worth, lambda: self.heads.plan(tree, last, budget, source="medusa", rates=rates)

    def heads_tree(self) -> tuple[DraftTree | None, list[list[float]]]:
        """The heads' tree worth most per unit of cost, and the hit rates it was sized by: the card's, with head 1's
        scaled by how well the heads have done in this run. Every path starts with a head-1 guess, so that scales
        the tree's expected accepted length by the same factor. The cost is c(k) with the overheads heads rounds
        and plain ones have shown. (None, ...) without heads or when no tree pays."""
        if self.heads is None:
            return None, []
        scale = round(self.tallies["medusa"].calibration() * 20) / 20  # steps of 0.05: a tree is sized per step
        key = (scale, round(self.costs.overhead("medusa"), 2), round(self.costs.overhead("none"), 2))
        if key not in self.trees:
            card = self.heads.draft.hit_rates
            rates = [[min(1.0, rate * scale) for rate in card[0]], *card[1:]]
            priced = self.costs.priced("medusa")
            size = best_tree_size(priced, rates, len(priced) - 1)
            self.trees[key] = (best_tree(rates, size + 1) if size else None), rates
        return self.trees[key]

    @staticmethod
    def _matched(text: list[int], at: int) -> int:
        """How many tokens before position `at` agree with the text's last ones (the n-gram prompt lookup hit),
        counted up to MIN_LOOKUP_NGRAM: all that is asked of it."""
        n = 0
        while n < MIN_LOOKUP_NGRAM and at - 1 - n >= 0 and text[at - 1 - n] == text[len(text) - 1 - n]:
            n += 1
        return n

    def timed(self, plan: Plan, pass_s: float, round_s: float) -> None:
        """After a round: the seconds of its pass and of the whole round price its kind's next ones."""
        self.costs.add(plan.source, plan.shape.size, pass_s, round_s)

    def seen(self, plan: Plan, accepted: int) -> None:
        """After a round: how many of the plan's chain the target kept updates its source's tally."""
        if plan.source not in self.tallies or plan.guesses is None:
            return
        tally, depth = self.tallies[plan.source], plan.shape.size - 1
        if plan.source == "medusa":  # what the card's rates predicted against what the target kept
            tally.kept += accepted
            tally.predicted += expected_length(plan.shape, self.heads.draft.hit_rates) - 1
            return
        tested = min(accepted + 1, depth)  # the guesses after the first miss were never tested
        tally.tested += tested
        tally.kept += accepted
        if plan.source == "suffix":
            tally.predicted += sum(plan.guess_q[:tested, 0].tolist())
