"""/compress through `gradio_client`: the compressor's own result, both runs and the KL when asked, and errors
that name the knob."""

import json

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from playground.compress import compress_prompt
from playground.engine.compare import compare_path
from playground.settings import Settings
from tests.helpers import run

pytestmark = pytest.mark.api

PROMPT = (
    "The ferry crosses the estuary in fourteen minutes at high tide. It carries eight cars and sixty passengers. "
    "A car with its driver pays nine pounds. How much does a car pay?"
)


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


def compress(client, **payload) -> dict:
    return json.loads(client.predict(json.dumps({"prompt": PROMPT, **payload}), api_name="/compress"))


def test_compress_gives_the_compressors_own_result(client, bundled_fp32):
    # fp32: this process's losses and the server's are the same on any CPU.
    answer = compress(client, precision="fp32", ratio=0.5, force_tokens=["nine"])
    expected = compress_prompt(bundled_fp32, PROMPT, 0.5, force_tokens=["nine"])
    got = answer["compression"]
    assert set(answer) == {"compression"}  # no runs unless asked
    assert got["ids"] == expected.ids and got["text"] == expected.text and got["ratio"] == expected.ratio
    assert [t["kept"] for t in got["tokens"]] == [t.kept for t in expected.tokens]
    assert all(t["kept"] for t in got["tokens"] if t["forced"]) and any(t["forced"] for t in got["tokens"])
    budget = compress(client, precision="fp32", budget=5, span=[0, 60])["compression"]
    assert sum(t["kept"] for t in budget["tokens"] if t["compressible"]) <= 5 + 1


def test_compress_with_run_gives_both_answers_the_kl_and_the_measured_prefill(client, bundled_fp32):
    knobs = {"precision": "fp32", "max_new_tokens": 6, "min_new_tokens": 6}
    answer = compress(client, ratio=0.5, run=True, **knobs)
    original, compressed = answer["original"], answer["compressed"]
    settings = Settings(max_new_tokens=6, min_new_tokens=6)
    a = run(bundled_fp32, PROMPT, settings)
    b = run(bundled_fp32, answer["compression"]["text"], settings)
    assert original["token_ids"] == a.output.token_ids and compressed["token_ids"] == b.output.token_ids
    assert original["prefill_tokens"] == len(a.prompt.token_ids) > compressed["prefill_tokens"]
    assert compressed["prefill_tokens"] == len(b.prompt.token_ids)
    assert answer["prefill_tokens_saved"] == original["prefill_tokens"] - compressed["prefill_tokens"]
    assert original["prefill_s"] > 0 and compressed["prefill_s"] > 0
    saved = original["prefill_s"] - compressed["prefill_s"]
    assert answer["prefill_s_saved"] == pytest.approx(saved)
    rows = compare_path(
        bundled_fp32, settings, bundled_fp32, settings, a.prompt.token_ids, a.output.token_ids, b.prompt.token_ids
    )
    assert answer["kl"] == pytest.approx([r.kl for r in rows], abs=1e-6)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"ratio": 0.01}, r"ratio must be a number from 0\.05 to 1\.0"),
        ({"ratio": 0.5, "budget": 10}, 'give "ratio" or "budget", not both'),
        ({"span": [5, 2]}, "span must satisfy"),
        ({"prompt": ""}, "prompt"),
        ({"strategy": "nonsense"}, "strategy"),
        ({"colour": 1}, "colour"),
    ],
)
def test_compress_errors_name_the_knob(client, payload, message):
    with pytest.raises(AppError, match=message):
        compress(client, **payload)
