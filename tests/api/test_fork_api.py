"""/fork through `gradio_client`: the analysis of a given trace is the engine's in this process (fp32, the tiny
model the app also serves), and bad input is refused naming the field."""

import json

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from playground.fork.request import ForkRequest
from playground.fork.run import fork_analysis
from playground.models import load_model
from playground.trace import Trace

pytestmark = pytest.mark.api

FORK = {"samples": 3, "alternatives": 1, "max_positions": 3, "max_new_tokens": 4, "rule": "first_word"}


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


@pytest.fixture(scope="module")
def traced(client, allowed_tiny_model):
    """A greedy run of the tiny model, made by /run, as JSON."""
    run = {"prompt": "the cat", "model": allowed_tiny_model, "precision": "fp32", "chat": False, "max_new_tokens": 4}
    return json.loads(client.predict(json.dumps(run), api_name="/run"))


def test_fork_of_a_trace_is_the_engines_analysis(client, traced, allowed_tiny_model):
    answer = json.loads(client.predict(json.dumps({"trace": traced, "fork": FORK}), api_name="/fork"))
    *_, expected = fork_analysis(load_model(allowed_tiny_model, "fp32"), Trace.from_dict(traced), ForkRequest(**FORK))
    want = expected.to_dict()
    assert answer["rule"] == want["rule"] and answer["outcomes"] == want["outcomes"]
    assert answer["change_points"] == want["change_points"] and answer["stopped"] is None
    assert [p["index"] for p in answer["positions"]] == [0, 1, 2]
    for got, position in zip(answer["positions"], want["positions"], strict=True):
        assert got["o"] == pytest.approx(position["o"]) and got["tv"] == pytest.approx(position["tv"], abs=1e-9)
        for branch, wanted in zip(got["branches"], position["branches"], strict=True):
            # The same tokens and outcomes; the server's threads may round a probability's last bits otherwise.
            assert [s["token_ids"] for s in branch["samples"]] == [s["token_ids"] for s in wanted["samples"]]
            assert branch["outcomes"] == wanted["outcomes"] and branch["token_id"] == wanted["token_id"]
            assert branch["prob"] == pytest.approx(wanted["prob"], rel=1e-5)


def test_fork_from_settings_makes_the_run_first(client, allowed_tiny_model):
    payload = {"prompt": "the cat", "model": allowed_tiny_model, "precision": "fp32", "chat": False,
               "max_new_tokens": 2, "fork": {**FORK, "samples": 2}}  # fmt: skip
    answer = json.loads(client.predict(json.dumps(payload), api_name="/fork"))
    assert [p["index"] for p in answer["positions"]] == [0, 1]
    assert all(len(p["branches"]) == 2 for p in answer["positions"])


@pytest.mark.parametrize(
    ("fork", "named"),
    [
        ({"rule": "regex", "pattern": "("}, "Pattern (outcome_pattern)"),
        ({"samples": 10_000}, "Samples per branch (samples): samples must be a whole number from 1 to 128"),
        ({"samples": 64, "alternatives": 8, "max_new_tokens": 64}, "Budget (max_fork_tokens)"),
        ({"sample": 3}, "'sample' is not a field of the forking analysis"),
    ],
)
def test_bad_input_is_refused_by_name(client, traced, fork, named):
    with pytest.raises(AppError) as err:
        client.predict(json.dumps({"trace": traced, "fork": fork}), api_name="/fork")
    assert named in str(err.value)
