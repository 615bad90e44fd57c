"""The gate, called directly: which models a request may name, and loading them."""

import pytest

from playground.models import ModelLoadError


def test_runs_load_refuses_before_loading_anything(runs):
    with pytest.raises(ModelLoadError, match="not served here"):
        runs.gate.load("../models/secret", "fp32")
    assert runs.gate.load("tiny-random-llama", "fp32") is runs.gate.default
