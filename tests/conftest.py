"""Shared fixtures: the tiny tokenizer and models for unit tests, the bundled model for integration tests."""

from __future__ import annotations

import pytest

from tests.tiny import make_tiny_model, make_tiny_tokenizer, wrap_loaded


@pytest.fixture(scope="session")
def tiny_tokenizer():
    return make_tiny_tokenizer()


@pytest.fixture
def tiny_loaded(tiny_tokenizer):
    """A fresh tiny model (seed 0) wrapped like a loaded model."""
    return wrap_loaded(make_tiny_model(tiny_tokenizer, seed=0), tiny_tokenizer)


@pytest.fixture(scope="session")
def bundled_fp32():
    """The embedded SmolLM2-135M-Instruct at float32: exact, and ten times faster than nf4 on a CPU."""
    from playground.models import load_model

    return load_model(precision="fp32")


@pytest.fixture(scope="session")
def bundled_nf4():
    """The embedded model at the default precision (bitsandbytes NF4)."""
    from playground.models import load_model

    return load_model(precision="nf4")
