"""Decoding Playground: see how a language model chooses its next token."""

__version__ = "0.1.0"
