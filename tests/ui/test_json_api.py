"""The headless endpoints, called directly: /run, /compare and /mass, and the errors they name."""

import json

import gradio as gr
import pytest

from playground.engine.compare import first_difference


def test_run_json_checks_the_model_against_the_allowlist(runs):
    assert '"schema"' in runs.api.run_json({"prompt": "the cat", "chat": False, "max_new_tokens": 3})
    with pytest.raises(gr.Error, match="not served here"):
        runs.api.run_json({"prompt": "the cat", "model": "gpt2"})
    with pytest.raises(gr.Error, match="unknown setting 'temprature'"):
        runs.api.run_json({"prompt": "the cat", "temprature": 0.5})


def test_run_json_takes_whole_numbers_where_floats_go(runs):
    payload = '{"prompt": "the cat sat", "chat": false, "max_new_tokens": 1, "repetition_penalty": 2}'
    trace = json.loads(runs.api.run_json(payload))
    assert trace["settings"]["repetition_penalty"] == 2.0 and len(trace["output"]["token_ids"]) == 1
    with pytest.raises(gr.Error, match="temperature must be a number, got True"):
        runs.api.run_json({"prompt": "the cat", "temperature": True})


def test_run_json_never_loads_a_draft_from_a_path(runs):
    payload = {"prompt": "the cat", "strategy": "speculative", "draft_model": "/tmp/evil-model"}
    with pytest.raises(gr.Error, match="model '/tmp/evil-model' is not served here"):
        runs.api.run_json(payload)
    assert '"schema"' in runs.api.run_json({**payload, "draft_model": "prompt-lookup", "chat": False})


def test_compare_endpoint_runs_a_then_compares_b_where_it_differs(runs):
    b = {"strategy": "sample", "top_k": 3, "seed": 7}
    payload = {"prompt": "the cat", "a": {"chat": False, "max_new_tokens": 6}, "b": b}
    answer = json.loads(runs.api.compare_json(json.dumps(payload)))
    a, comparison = answer["a"], answer["comparison"]
    assert len(comparison["steps"]) == len(a["output"]["token_ids"]) == 6
    assert comparison["b_changes"] == b and comparison["a_run"] == a["run_id"]
    for step, row in zip(a["steps"], comparison["steps"], strict=True):
        # B samples from A's softmax cut to its top 3: the same most likely token, the rest of A's ruled out.
        assert row["token_id"] == step["chosen"]["id"] and row["top1_agree"]
        assert row["kl"] is None and row["uncovered"] > 0  # infinite KL, written as null: JSON has no infinity
        assert row["prob_a"] == pytest.approx(step["chosen"]["prob"], abs=1e-5)
        assert sum(c["prob_b"] > 0 for c in row["candidates"]) == 3
    own = comparison["b_token_ids"]
    assert comparison["first_difference"] == first_difference(a["output"]["token_ids"], own)
    assert len(comparison["b_texts"]) == len(own) == 6
    same = json.loads(runs.api.compare_json({"prompt": "the cat", "a": {"chat": False, "max_new_tokens": 3}}))
    assert [row["kl"] for row in same["comparison"]["steps"]] == [0.0, 0.0, 0.0]  # B = A when "b" is left out


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("[1]", "payload must be a JSON object of settings"),
        ({"prompt": "x", "c": {}}, "unknown key 'c'"),
        ({"prompt": "x", "a": [1]}, '"a" must be a JSON object of settings'),
        ({"prompt": "x", "a": {"chat": False}, "b": {"top_q": 1}}, "top_q"),
        ({"prompt": "x", "a": {"chat": False}, "b": {"precision": "fp8"}}, "precision 'fp8' is unknown"),
        ({"prompt": "", "a": {"chat": False}}, "prompt must not be empty"),
    ],
)
def test_compare_endpoint_names_what_is_wrong(runs, payload, message):
    with pytest.raises(gr.Error) as err:
        runs.api.compare_json(payload)
    assert message in err.value.message
