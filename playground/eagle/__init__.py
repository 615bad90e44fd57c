"""An EAGLE-style draft head (Li et al., 2024, EAGLE-1): one decoder layer of the target's own kind that
predicts the target's next feature (its last hidden state) from the current feature and the next token's
embedding, drafting tokens one after another through the target's frozen LM head. `head.py` holds the module and
its file format, `drafter.py` drafts with it during decoding (its own small KV cache), `chains.py` drafts a chain
at every position of a known text at once (to measure it). `training/eagle.py` makes it from the model's own
answers; `benchmarks/eagle_vs_medusa.py` measures it against the Medusa heads."""
