"""/run takes the presence/frequency and DRY keys, records their stages, and names a bad value."""

import json

import gradio as gr
import pytest


def test_run_json_takes_the_penalty_keys_and_records_their_stages(runs):
    payload = {"prompt": "abcabcabc", "chat": False, "max_new_tokens": 2, "presence_penalty": 1, "dry_multiplier": 1}
    trace = json.loads(runs.api.run_json({**payload, "dry_sequence_breakers": ["\n"]}))
    assert trace["settings"]["presence_penalty"] == 1.0 and trace["settings"]["dry_sequence_breakers"] == ["\n"]
    assert {"presence_frequency", "dry"} <= set(trace["steps"][0]["candidates"][0]["probs"])
    with pytest.raises(gr.Error, match=r"dry_allowed_length must be .* 1, got 0"):
        runs.api.run_json({**payload, "dry_allowed_length": 0})
