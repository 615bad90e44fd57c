"""/lens through `gradio_client`: the logit lens of a step of a run made from settings, then of the trace it gave,
equal to the engine's in this process (fp32: the same on any CPU), and a bad step named."""

import json

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from playground.engine import generate
from playground.engine.logit_lens import lens_step
from playground.settings import Settings

pytestmark = pytest.mark.api

PROMPT = "The capital of France is"
SETTINGS = {"prompt": PROMPT, "precision": "fp32", "chat": False, "strategy": "greedy", "max_new_tokens": 3}


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


def lens(client, payload: dict) -> dict:
    return json.loads(client.predict(json.dumps(payload), api_name="/lens"))


def test_lens_is_the_engines_from_settings_and_from_a_trace(client, bundled_fp32):
    trace = generate(bundled_fp32, PROMPT, Settings(chat=False, strategy="greedy", max_new_tokens=3))
    first = lens(client, {**SETTINGS, "step": 1})
    expected = lens_step(bundled_fp32, trace, 1).to_dict()
    assert first["output"] == trace.output.text
    assert first["first_top1_layer"] == expected["first_top1_layer"]
    assert [row["chosen_rank"] for row in first["layers"]] == [row["chosen_rank"] for row in expected["layers"]]
    assert [t["id"] for t in first["layers"][-1]["top"]] == [t["id"] for t in expected["layers"][-1]["top"]]
    run = json.loads(client.predict(json.dumps(SETTINGS), api_name="/run"))
    second = lens(client, {"trace": run, "step": 2})
    assert second["step"] == 2 and second["token_id"] == trace.output.token_ids[1]
    assert second["first_top1_layer"] == lens_step(bundled_fp32, trace, 2).first_top1_layer


def test_a_step_the_run_does_not_have_is_named(client):
    with pytest.raises(AppError, match="from 1 to 3, got 4"):
        lens(client, {**SETTINGS, "step": 4})
