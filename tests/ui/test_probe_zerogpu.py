"""The probe on ZeroGPU: the page's Probe and /probe each in a lease of their own, sized from the run probed."""

import json
import os

import gradio as gr
import pytest

from tests.ui.conftest import VALUES
from tests.ui.test_zerogpu_runs import calls, zerogpu, zerogpu_runs  # noqa: F401


def test_the_probe_executes_in_a_forked_worker(zerogpu_runs, zerogpu):  # noqa: F811
    *_, (_, _, parent) = zerogpu_runs.page.generate(VALUES)
    probe = zerogpu_runs.probes.probe(parent, "ab", True)  # pickled back from its worker
    assert probe.form == " ab" and len(probe.steps) == len(parent.steps) and probe.steps[0].word_probs is not None
    answer = json.loads(zerogpu_runs.api.probe_json({"trace": parent.to_dict(), "word": "q"}))
    assert [row["chosen_id"] for row in answer["probe"]["steps"]] == parent.output.token_ids
    workers = {call["task"]: call for call in calls(zerogpu)}
    assert {"_task", "_json_task"} <= set(workers) and os.getpid() not in {c["worker"] for c in workers.values()}
    assert all(call["seconds"] > 0 for call in workers.values())


def test_a_trace_that_cannot_be_read_gets_the_shortest_lease_and_a_message(zerogpu_runs, zerogpu):  # noqa: F811
    with pytest.raises(gr.Error):
        zerogpu_runs.api.probe_json({"trace": {"steps": "none"}, "word": "q"})
    (call,) = calls(zerogpu)
    assert call["seconds"] > 0


def test_no_run_no_probe(zerogpu_runs):  # noqa: F811
    with pytest.raises(gr.Error, match="Generate a run first"):
        zerogpu_runs.probes.probe(None, "q", True)
