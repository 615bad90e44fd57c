"""Shared fixtures: the tiny tokenizer and models for unit tests, the bundled model for integration tests."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from tests.tiny import make_tiny_model, make_tiny_tokenizer, wrap_loaded

# Hypothesis searches afresh on every local run; CI (.ci/run sets HYPOTHESIS_PROFILE=ci; CI=true also selects it)
# runs the same examples every time, so a clean clone cannot fail on an example no one has seen. A failure found
# locally becomes an explicit @example. HYPOTHESIS_PROFILE=ci reproduces CI's examples locally.
hypothesis_settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
hypothesis_settings.register_profile("dev", print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(scope="session")
def tiny_tokenizer():
    return make_tiny_tokenizer()


@pytest.fixture
def tiny_loaded(tiny_tokenizer):
    """A fresh tiny model (seed 0) wrapped like a loaded model."""
    return wrap_loaded(make_tiny_model(tiny_tokenizer, seed=0), tiny_tokenizer)


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory, tiny_tokenizer):
    """The tiny model saved as a directory, as `load_model` and the command line take a model."""
    path = tmp_path_factory.mktemp("tiny-dir")
    make_tiny_model(tiny_tokenizer, seed=1).save_pretrained(path)
    tiny_tokenizer.save_pretrained(path)
    return str(path)


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


@contextlib.contextmanager
def launched_app(log_name: str = "app.log", **env_overrides: str):
    """The app as a user starts it (`python app.py`, embedded model at the default precision) on a free port,
    with some environment variables changed; yields (url, process). Its log goes to artifacts/."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False", **env_overrides}
    (root / "artifacts").mkdir(exist_ok=True)
    log = open(root / "artifacts" / log_name, "w")  # noqa: SIM115  (closed with the server, below)
    server = subprocess.Popen([sys.executable, "app.py"], cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    try:
        while True:
            if server.poll() is not None:
                pytest.fail(f"app.py exited with code {server.returncode} before serving")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("app.py did not start serving within 300 s")
                time.sleep(0.5)
        yield url, server
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="session")
def allowed_tiny_model(tmp_path_factory):
    """A tiny model directory the shared app lists in PLAYGROUND_MODELS, a second model a person may pick."""
    from tests.tiny import make_tiny_tokenizer, save_tiny_model

    return save_tiny_model(tmp_path_factory.mktemp("allowed") / "tiny-model", make_tiny_tokenizer(), eos_boost=0.0)


@pytest.fixture(scope="session")
def app_server(allowed_tiny_model):
    """The app as a host starts it, shared by the API and browser tests: (url, process). Besides the embedded
    default its allowlist holds one tiny model."""
    with launched_app(PLAYGROUND_MODELS=allowed_tiny_model) as launched:
        yield launched


@pytest.fixture(scope="session")
def app_url(app_server):
    return app_server[0]
