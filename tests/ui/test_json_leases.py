"""Each headless endpoint's GPU lease on ZeroGPU is sized as the work it leads to, from the run it names or the
trace it gives: never the shortest lease a request that cannot be read gets."""

import json

import pytest

from playground.settings import Settings
from playground.ui.leases import START_SECONDS, lease

RUN = {"prompt": "the cat", "model": "tiny-random-llama", "precision": "fp32", "chat": False, "max_new_tokens": 64}


def seconds(runs, work: str, settings: dict) -> int:
    """The lease of `work` for the tiny model's run with `settings`."""
    return lease(runs.gate, "tiny-random-llama", "fp32", Settings.from_dict(settings), work).seconds


@pytest.mark.parametrize(
    ("kind", "extra", "work"),
    [
        ("run", {}, "run"),
        ("compress", {"ratio": 0.5, "force_tokens": ["cat"]}, "run"),
        ("compress", {"ratio": 0.5, "run": True}, "compare"),
        ("lens", {"step": 2}, "run"),
        ("probe", {"word": "cat", "space": True}, "compare"),
    ],
)
def test_an_endpoint_named_by_settings_is_leased_as_its_work(runs, kind, extra, work):
    settings = {k: v for k, v in RUN.items() if k not in ("prompt", "model", "precision")}
    expected = seconds(runs, work, settings)
    assert runs.api._json_seconds(kind, {**RUN, **extra}) == expected
    assert expected > START_SECONDS


@pytest.mark.parametrize(
    ("kind", "extra", "work"), [("lens", {"step": 1}, "run"), ("probe", {"word": "cat"}, "compare")]
)
def test_an_endpoint_given_a_trace_is_leased_as_the_traces_run(runs, kind, extra, work):
    trace = json.loads(runs.api.run_json(json.dumps(RUN)))
    expected = seconds(runs, work, trace["settings"])
    assert runs.api._json_seconds(kind, {"trace": trace, **extra}) == expected > START_SECONDS
