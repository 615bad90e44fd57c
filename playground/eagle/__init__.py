"""An EAGLE-style draft head (Li et al., 2024, EAGLE-1): one decoder layer of the target's own kind that
predicts the target's next feature (its last hidden state) from the current feature and the next token's
embedding, drafting tokens one after another through the target's frozen LM head. `head.py` holds the module and
its file format, `drafter.py` drafts with it during decoding (its own small KV cache), `chains.py` drafts a chain
at every position of a known text at once (to measure it). `training/eagle.py` makes it from the model's own
answers; `benchmarks/eagle_vs_medusa.py` measures it against the Medusa heads.

No head ships: trained on 300 of the 1,000 answers (8 epochs, 21 minutes of a shared 2-core CPU), its greedy chain
is right 28.0% / 5.5% / 0.9% / 0.1% at depths 1-4 on the 60 held-out answers, 1.34 tokens per target pass at
best, a little under the shipped Medusa tree of 4 (1.35) once a pass's cost and the drafting are counted (1.09
against 1.13 tokens per unit of cost at nf4). The code stays so that a better-trained head is measured the same
way."""
