"""What the page's events are called with in these tests: the tiny model served, and the controls' values."""

import pytest

from playground.settings import Settings
from playground.ui.controls import control_values
from tests.tiny import make_tiny_model, wrap_loaded


def as_browser_sends(values: dict) -> dict:
    """A browser's number box sends whole numbers as floats."""
    return {name: float(v) if type(v) is int else v for name, v in values.items()}


# What the page sends for a greedy run of 8 tokens on the tiny model (it has no chat template).
VALUES = {
    "model": "tiny-random-llama",
    "precision": "fp32",
    **as_browser_sends(control_values(Settings(chat=False, max_new_tokens=8, measure_speedup=True), "the cat")),
}


@pytest.fixture
def runs(tiny_tokenizer):
    from playground.ui.runs import Runs

    # EOS almost never wins with this model (max_position_embeddings 512), so a long run goes on until stopped.
    model = make_tiny_model(tiny_tokenizer, seed=0, eos_boost=0.0)
    return Runs(["tiny-random-llama"], "fp32", wrap_loaded(model, tiny_tokenizer))
