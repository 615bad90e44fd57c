"""The entropy map: entropix's regions on hand-built distributions, and the figure's points."""

import dataclasses
import math

import pytest

from playground.plots.entropy_map import BETWEEN, NOT_RECORDED, REGIONS, entropy_map_figure, region
from tests.plots.hand_built import hand_trace

LELV, HELV, LEHV, HEHV = REGIONS


def moments(probs: list[tuple[float, int]]) -> tuple[float, float]:
    """Entropy and varentropy (nats) of a distribution given as (probability, how many tokens have it)."""
    h = sum(-n * p * math.log(p) for p, n in probs)
    return h, sum(n * p * (-math.log(p) - h) ** 2 for p, n in probs)


@pytest.mark.parametrize(
    ("probs", "expected"),
    [
        ([(0.999, 1), (0.001 / 9, 9)], LELV),  # all but certain
        ([(1 / 20, 20)], HELV),  # twenty tokens alike: H = ln 20 = 3.0, V = 0
        ([(0.9, 1), (0.1 / 10_000, 10_000)], LEHV),  # one strong token and a long flat tail: a fork
        ([(0.5, 1), (0.5 / 1_000_000, 1_000_000)], HEHV),  # half on one token, half spread thin
        ([(1 / 3, 3)], BETWEEN),  # three alike: H = 1.1, V = 0, in no region
    ],
)
def test_hand_built_distributions_fall_in_entropix_regions(probs, expected):
    assert sum(p * n for p, n in probs) == pytest.approx(1.0)
    assert region(*moments(probs)) is expected


def test_overlaps_go_to_the_first_case_as_entropix_argmax_takes_them():
    assert region(2.0, 3.0) is LEHV  # both LEHV (H < 2.5) and HEHV (H > 1.2) hold: LEHV comes first
    assert region(2.5, 3.0) is HEHV
    assert region(0.2, 2.0) is BETWEEN  # low entropy, middling varentropy: no case
    assert region(3.0, 2.0) is BETWEEN


def mapped_trace(values: list[tuple[float, float | None]]):
    """A trace whose steps have the given (entropy, varentropy)."""
    base = hand_trace([2.0, 1.0, 0.0])
    step = base.steps[0]
    steps = [
        dataclasses.replace(
            step, index=i, entropy=h, varentropy=v, chosen=dataclasses.replace(step.chosen, text=f"w{i}")
        )
        for i, (h, v) in enumerate(values)
    ]
    return dataclasses.replace(base, steps=steps)


def test_each_step_is_a_point_in_its_region_carrying_its_step():
    fig = entropy_map_figure(mapped_trace([(0.1, 0.2), (3.0, 0.5), (1.0, 6.0), (0.2, 2.0)]))
    by_name = {t.name.split(" ")[0]: t for t in fig.data}
    assert list(by_name["LELV"].x) == [0.1] and by_name["LELV"].customdata[0][0] == 0
    assert list(by_name["HELV"].y) == [0.5] and by_name["HELV"].customdata[0][0] == 1
    assert by_name["LEHV"].customdata[0][0] == 2 and by_name["between"].customdata[0][0] == 3
    assert "Step 3: w2" in by_name["LEHV"].hovertext[0] and "forks in the path" in by_name["LEHV"].hovertext[0]
    assert list(by_name["HEHV"].x) == []
    labels = " ".join(a.text for a in fig.layout.annotations)
    for shown in REGIONS:
        assert shown.suggests.split(":")[0] in labels


def test_a_trace_without_varentropy_says_it_was_not_recorded():
    fig = entropy_map_figure(mapped_trace([(0.1, None), (2.0, None)]))
    assert fig.layout.annotations[0].text == NOT_RECORDED and not fig.data
