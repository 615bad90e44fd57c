"""/probe through `gradio_client`: the engine's probe along a run made from settings or given as a trace, and
errors that name what is wrong."""

import json

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from playground.engine.probe import probe
from playground.settings import Settings
from playground.trace import Trace

pytestmark = pytest.mark.api


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


def test_probe_runs_the_settings_then_probes_as_the_engine_does(client, bundled_fp32):
    # fp32: this process's probabilities and the server's are the same on any CPU.
    knobs = {"precision": "fp32", "max_new_tokens": 6, "min_new_tokens": 6, "temperature": 0.8}
    payload = {"prompt": "Name a colour.", "word": "Blueberry", **knobs}
    answer = json.loads(client.predict(json.dumps(payload), api_name="/probe"))
    trace = Trace.from_dict(answer["trace"])
    expected = probe(bundled_fp32, Settings(max_new_tokens=6, min_new_tokens=6, temperature=0.8),
                     trace.prompt.token_ids, trace.output.token_ids, "Blueberry")  # fmt: skip
    got = answer["probe"]
    assert got["form"] == " Blueberry" and got["token_ids"] == expected.token_ids and len(got["steps"]) == 6
    for row, want in zip(got["steps"], expected.steps, strict=True):
        assert row["ranks"] == want.ranks
        for stage, p in want.probs.items():
            assert row["probs"][stage] == pytest.approx(p, rel=1e-6, abs=1e-12)
            assert row["word_probs"][stage] == pytest.approx(want.word_probs[stage], rel=1e-6, abs=1e-15)
    # The same run given as a trace, by token id this time: no run is made, and the id's figures come back.
    again = json.loads(client.predict(json.dumps({"trace": answer["trace"], "word": "12"}), api_name="/probe"))
    assert set(again) == {"probe"} and again["probe"]["token_ids"] == [12]
    assert again["probe"]["steps"][0]["word_probs"] is None


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"prompt": "Hi", "max_new_tokens": 2}, "word"),
        ({"prompt": "Hi", "max_new_tokens": 2, "word": "   "}, "type a word or a token id"),
        ({"prompt": "Hi", "max_new_tokens": 2, "word": "999999"}, "outside the vocabulary"),
        ({"trace": {}, "word": "a", "prompt": "Hi"}, "not both"),
    ],
)
def test_probe_names_what_is_wrong(client, payload, message):
    with pytest.raises(AppError, match=message):
        client.predict(json.dumps(payload), api_name="/probe")
