"""Speculative decoding: a cheap draft proposes tokens and the target checks them all in one forward pass.

- `drafts.py`: which draft a run needs (`load_draft`: a model, prompt lookup, or Medusa heads), and the chain
  drafts' proposers.
- `chain.py`: the loop for a chain of proposals (a draft model or prompt lookup).
- `tree.py`: the loop for Medusa heads, whose guesses form a tree (`draft_tree.py`).
- `verification.py`: what the target keeps of a chain or a tree, greedy or sampled.
- `math.py`: the rest of the arithmetic as pure functions (residual, acceptance, prompt lookup, schedule).
- `rounds.py`: what both loops share: emitting a round's tokens, its record, the run's totals.
"""

from playground.engine.speculative.chain import speculative_decode
from playground.engine.speculative.drafts import load_draft
from playground.engine.speculative.tree import tree_decode

__all__ = ["load_draft", "speculative_decode", "tree_decode"]
