"""Medusa heads (Cai et al., 2024): small heads on the target's last hidden state that guess the tokens after
next, so that a tree of their guesses can be verified in one target pass. `heads.py` holds the module and its
file; `train.py` makes the heads from the model's own text."""
