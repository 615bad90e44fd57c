"""The server's side of the page on ZeroGPU, in process: every model call in a forked worker (the stand-in for the
`spaces` package in tests/standins does what ZeroGPU does to a call, without a GPU), the tab's records in the
page process. The same page actions as on a CPU must work call after call."""

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

from tests.tiny import make_tiny_model, wrap_loaded
from tests.ui.conftest import VALUES

STANDIN = Path(__file__).resolve().parents[1] / "standins" / "spaces" / "__init__.py"


@pytest.fixture
def zerogpu(monkeypatch, tmp_path):
    """ZeroGPU's switch on, the stand-in imported as `spaces`; yields the stand-in's log."""
    log = tmp_path / "leases.jsonl"
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    monkeypatch.setenv("ZEROGPU_STANDIN_LOG", str(log))
    spec = importlib.util.spec_from_file_location("spaces", STANDIN)
    standin = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(standin)
    monkeypatch.setitem(sys.modules, "spaces", standin)
    return log


@pytest.fixture
def zerogpu_runs(zerogpu, tiny_tokenizer):
    from playground.ui.runs import Runs

    model = make_tiny_model(tiny_tokenizer, seed=0, eos_boost=0.0)  # a long run goes on until stopped
    return Runs(["tiny-random-llama"], "fp32", wrap_loaded(model, tiny_tokenizer))


def calls(log: Path) -> list[dict]:
    return [record for record in map(json.loads, log.read_text().splitlines()) if "task" in record]


def test_each_run_executes_in_a_forked_worker_and_the_tab_is_free_after_it(zerogpu_runs, zerogpu):
    for _ in range(3):
        zerogpu_runs.switches.arm("alice")  # refused if the last run's record were left behind
        *_, (_, _, trace) = zerogpu_runs.page.generate(VALUES, session="alice")
        assert trace.output.stop_reason == "max_new_tokens" and len(trace.steps) == 8
    workers = {call["worker"] for call in calls(zerogpu)}
    assert len(workers) == 1 and os.getpid() not in workers  # one worker, forked once, reused


def test_stop_reaches_a_run_in_the_worker_every_time(zerogpu_runs):
    for _ in range(3):
        zerogpu_runs.switches.arm("bob")
        run = zerogpu_runs.page.generate({**VALUES, "max_new_tokens": 400.0}, session="bob")
        next(run)
        assert zerogpu_runs.switches.stop("bob") is True
        *_, (_, _, trace) = run
        assert trace.output.stop_reason == "cancelled" and len(trace.steps) < 400
        assert zerogpu_runs.switches.stop("bob") is False


def test_a_lease_is_sized_from_the_request(zerogpu_runs, zerogpu):
    list(zerogpu_runs.page.generate(VALUES, session="carol"))
    list(zerogpu_runs.page.generate({**VALUES, "max_new_tokens": 400.0, "strategy": "beam"}, session="carol"))
    short, long = (call["seconds"] for call in calls(zerogpu))
    assert 0 < short < long <= 120


def test_compare_mass_and_the_json_api_each_execute_in_a_forked_worker(zerogpu_runs, zerogpu):
    *_, (_, _, parent) = zerogpu_runs.page.generate(VALUES)
    assert len(zerogpu_runs.experiments.compare(VALUES, parent).steps) == 8  # pickled back from its worker
    assert zerogpu_runs.experiments.mass({**VALUES, "mass_depth": 1.0}).depth == 1
    assert '"schema"' in zerogpu_runs.api.run_json({"prompt": "the cat", "chat": False, "max_new_tokens": 3})
    workers = {call["task"]: call["worker"] for call in calls(zerogpu)}
    assert set(workers) == {"_stream_task", "_compare_task", "_mass_task", "_json_task"}
    assert os.getpid() not in workers.values()
