"""Medusa heads (Cai et al., 2024): small heads on the target's last hidden state that guess the tokens after
next, so that a tree of their guesses can be verified in one target pass. Weights and their loading, like the
models package: `heads.py` holds the module and its file format, `draft.py` loads the heads that ship here for a
target. The engine decodes with them (`engine/speculative/`); `training/medusa.py` makes them from the model's own
text."""
