"""The token probe's figure from a hand-built probe."""

import dataclasses

from playground.plots.probe import FLOOR, probe_figure
from playground.trace import Probe, ProbeStep
from tests.plots.hand_built import hand_trace


def test_the_probe_is_drawn_per_stage_with_the_word_and_the_runs_token():
    trace = hand_trace([2.0, 1.0, 0.0])
    trace = dataclasses.replace(trace, steps=[trace.steps[0], dataclasses.replace(trace.steps[0], index=1)])
    rows = [
        ProbeStep(0, 0, 0.6, {"raw": 0.2, "top_k": 0.0}, {"raw": 2, "top_k": 3}, {"raw": 0.05, "top_k": 0.0}),
        ProbeStep(1, 0, 0.7, {"raw": 0.1, "top_k": 0.3}, {"raw": 3, "top_k": 2}, {"raw": 0.01, "top_k": 0.02}),
    ]
    fig = probe_figure(Probe("ab", " ab", [5, 6], [" a", "b"], "", rows), trace)
    lines = {t.name: t for t in fig.data}
    assert list(lines["␣ab raw"].y) == [0.2, 0.1]
    assert list(lines["␣ab as drawn (final)"].y) == [FLOOR, 0.3]  # removed by top-k: drawn at the floor
    assert list(lines["the whole word ␣ab (chain rule)"].y) == [FLOOR, 0.02]
    assert list(lines["the run's own token"].y) == [0.6, 0.7] and list(lines["the run's own token"].x) == [1, 2]
    assert list(lines["rank as drawn (final)"].y) == [3, 2]


def test_nothing_probed_says_what_to_do():
    assert "Probe" in probe_figure(None, None).layout.annotations[0].text
