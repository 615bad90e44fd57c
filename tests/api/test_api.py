"""The launched app through `gradio_client`: the /generate endpoint streams the engine's text and names bad values."""

import html
import itertools
import re

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from playground.engine import generate
from playground.settings import Settings
from playground.ui.controls import CONTROLS, control_values, make_settings
from tests.helpers import run

pytestmark = pytest.mark.api

# Every parameter of /generate but the prompt, by name, as the page sends them for a greedy run of 16 tokens.
DEFAULTS = {
    "model": "SmolLM2-135M-Instruct",
    "precision": "nf4",
    **{name: value for name, value in control_values(Settings(max_new_tokens=16), "").items() if name != "prompt"},
}


def shown_text(output_html: str) -> str:
    """The text a person reads in the Output: the HTML without its tags (and their hover cards)."""
    return html.unescape(re.sub(r"<[^>]+>", "", output_html))


def engine_text(model, prompt: str, values: dict) -> tuple[str, Settings]:
    """What the engine makes of the same controls, as the Output shows it: every generated token's text."""
    settings = make_settings(values)
    trace = run(model, prompt, settings)
    return "".join(step.chosen.text for step in trace.steps), trace


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


def call(client, prompt, **changes):
    return client.predict(prompt=prompt, **{**DEFAULTS, **changes}, api_name="/generate")


@pytest.mark.parametrize(
    "changes",
    [
        dict(),
        dict(strategy="sample", temperature=0.8, top_p=0.9, top_k=40, seed=3),
        dict(strategy="beam", num_beams=3),
        dict(repetition_penalty=1.3),
        dict(strategy="constrained", num_beams=3, force_words="umbrella", force_one_of="red | blue", max_new_tokens=24),
        dict(strategy="speculative", draft_model="prompt-lookup"),
        dict(
            strategy="speculative", draft_model=None, draft_precision="bf16", do_sample=True, seed=5, num_draft_tokens=3
        ),
        dict(strategy="speculative", draft_model="medusa", tree_size=6),
        dict(strategy="sample", temperature=2, top_p=1, repetition_penalty=2, seed=1),
    ],
    ids=lambda changes: "-".join(f"{k}={v}" for k, v in changes.items()) or "greedy",
)
def test_endpoint_returns_the_engines_text(client, bundled_fp32, changes):
    # At fp32: the server and this test are two processes, and nf4 rounds differently from one CPU (and one
    # process) to another, so only fp32 gives both the same tokens on any machine.
    prompt = "Tell me about the moon."
    changes = {**changes, "precision": "fp32"}
    output, status = call(client, prompt, **changes)
    text, expected = engine_text(bundled_fp32, prompt, {**DEFAULTS, **changes})
    assert shown_text(output) == text
    assert f"{expected.timing.new_tokens} tokens" in status and "stopped:" in status


def test_endpoint_streams(client):
    job = client.submit(prompt="Count to ten.", **{**DEFAULTS, "max_new_tokens": 40}, api_name="/generate")
    outputs = list(job)
    # The model runs on while the page catches up, so updates carry several tokens; there are still many.
    assert len(outputs) >= 4
    assert all(b[0].startswith(a[0]) for a, b in itertools.pairwise(outputs))


@pytest.mark.parametrize(
    ("prompt", "changes", "message"),
    [
        ("Hi", dict(strategy="sample", temperature=-1), "temperature must be > 0 for sampling, got -1"),
        ("Hi", dict(max_new_tokens=100000), "max_new_tokens must be <= 1024 (the server's limit), got 100000"),
        ("Hi", dict(strategy="beam", num_beams=50), "num_beams must be <= 8"),
        ("Hi", dict(top_k=2.5, strategy="sample"), "top_k must be a whole number, got 2.5"),
        ("", dict(), "prompt must not be empty"),
        ("Hi", dict(strategy="nucleus"), "strategy must be one of greedy, sample, beam, constrained"),
        ("Hi", dict(strategy="constrained"), "Forced words: force_words or force_one_of must hold at least one"),
        (
            "Hi",
            dict(strategy="constrained", force_one_of="red || blue"),
            "One of: force_one_of options must be non-empty",
        ),
        (
            "Hi",
            dict(strategy="speculative", num_draft_tokens=99),
            "Draft tokens per round: num_draft_tokens must be <=",
        ),
        ("Hi", dict(strategy="speculative", draft_precision="fp8"), "draft_precision must be one of"),
        ("Hi", dict(model="/etc/passwd"), "model '/etc/passwd' is not served here"),
        ("Hi", dict(precision="fp64"), "precision 'fp64' is unknown"),
        ("Hi", dict(chat="yaml"), "Chat template: chat must be true, false or unset"),
        ("Hi", dict(strategy="beam", num_return_sequences=5, num_beams=4), "Return sequences: num_return_sequences"),
    ],
)
def test_bad_values_are_named_and_the_server_keeps_serving(client, prompt, changes, message):
    with pytest.raises(AppError) as err:
        call(client, prompt, **changes)
    # The message is HTML (the page renders it), so a quoted value cannot inject markup.
    assert message in html.unescape(str(err.value))
    output, _ = call(client, "Say yes.", max_new_tokens=2)
    assert shown_text(output)


def test_run_endpoint_returns_the_trace(client, bundled_fp32):
    import json

    payload = {
        "prompt": "Tell me about owls.",
        "strategy": "beam",
        "num_beams": 3,
        "max_new_tokens": 10,
        "temperature": 0.5,
        "model": "SmolLM2-135M-Instruct",
        "precision": "fp32",  # the same tokens in this process as in the server's, on any CPU
    }
    trace = json.loads(client.predict(json.dumps(payload), api_name="/run"))
    assert trace["schema"] == "decoding-playground/trace@1" and trace["beams"]["nodes"]
    assert trace["model"]["precision"] == "fp32"
    expected = generate(bundled_fp32, payload["prompt"], Settings(strategy="beam", num_beams=3, max_new_tokens=10))
    assert trace["output"]["token_ids"] == expected.output.token_ids


def test_run_endpoint_takes_whole_numbers_for_floats(client, bundled_fp32):
    import json

    payload = '{"prompt": "the cat sat", "strategy": "greedy", "precision": "fp32", "max_new_tokens": 1, '
    payload += '"repetition_penalty": 2}'
    trace = json.loads(client.predict(payload, api_name="/run"))
    assert trace["settings"]["repetition_penalty"] == 2.0
    expected = generate(bundled_fp32, "the cat sat", Settings(max_new_tokens=1, repetition_penalty=2.0))
    assert trace["output"]["token_ids"] == expected.output.token_ids


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ('{"prompt": "Hi", "temprature": 0.5}', "unknown setting 'temprature'"),
        ('{"prompt": "Hi", "repetition_penalty": true}', "repetition_penalty must be a number, got True"),
        ('{"prompt": "Hi", "max_new_tokens": 0}', "max_new_tokens must be >= 1, got 0"),
        ('{"prompt": ""}', "prompt must not be empty"),
        ("[1, 2]", "payload must be a JSON object of settings"),
        ("{oops", "payload is not valid JSON"),
        ('{"prompt": "Hi", "model": "gpt2"}', "model 'gpt2' is not served here"),
        ('{"prompt": "Hi", "model": "/root/.cache"}', "model '/root/.cache' is not served here"),
        ('{"prompt": "Hi", "strategy": "speculative", "draft_model": "../x"}', "model '../x' is not served here"),
        ('{"prompt": "Hi", "strategy": "sample", "temperature": NaN}', "temperature must be a number, got nan"),
        ('{"prompt": "Hi", "strategy": "sample", "top_p": Infinity}', "top_p must be a finite number, got inf"),
        ('{"prompt": "Hi", "max_new_tokens": 1e400}', "max_new_tokens must be a whole number, got inf"),
        ('{"prompt": "Hi", "max_new_tokens": -5}', "max_new_tokens must be >= 1, got -5"),
        ('{"prompt": "Hi \\ud800"}', "prompt holds a lone surrogate (U+D800) at character 4"),
        ('{"prompt": "Hi \\u0000"}', "prompt holds the control character U+0000 at character 4"),
        ('{"prompt": ' + '"' + "a" * 5_000_000 + '"}', "prompt is 5000000 characters long, the server allows"),
        ('{"prompt": ["Hi"]}', "prompt must be text, got ['Hi']"),
        ('{"prompt": "Hi", "stop": {"a": 1}}', "stop must be a string or a list of strings"),
        ('{"prompt": "Hi", "strategy": "constrained", "force_words": [""]}', "force_words must be non-empty phrases"),
        ('{"prompt": "Hi", "precision": "fp64"}', "precision 'fp64' is unknown"),
    ],
)
def test_run_endpoint_names_what_is_wrong(client, payload, message):
    with pytest.raises(AppError) as err:
        client.predict(payload, api_name="/run")
    assert message in html.unescape(str(err.value))


def test_a_model_on_the_hosts_allowlist_can_be_picked(client, allowed_tiny_model):
    import json

    payload = {"prompt": "the cat", "model": allowed_tiny_model, "precision": "fp32", "chat": False}
    trace = json.loads(client.predict(json.dumps({**payload, "max_new_tokens": 5}), api_name="/run"))
    assert (trace["model"]["id"], trace["model"]["precision"], trace["model"]["source"]) == (
        allowed_tiny_model,
        "fp32",
        "local",
    )
    assert len(trace["output"]["token_ids"]) == 5
    output, status = call(client, "the cat", model=allowed_tiny_model, precision="fp32", chat=False)
    assert status.startswith(f"{allowed_tiny_model} fp32 · 16 tokens") and shown_text(output)
    # The same directory's parent, or the directory spelled another way, is not on the list.
    with pytest.raises(AppError, match="is not served here"):
        client.predict(json.dumps({**payload, "model": allowed_tiny_model + "/"}), api_name="/run")


def test_an_allowlisted_model_drafts_for_itself(client, allowed_tiny_model):
    changes = dict(model=allowed_tiny_model, precision="fp32", chat=False, strategy="speculative")
    _, status = call(client, "the cat", **changes, draft_model=allowed_tiny_model)
    # The same weights (bf16 draft, fp32 target): nearly every proposal is accepted.
    assert "of draft tokens accepted" in status
    accepted = int(status.split("% of draft tokens accepted")[0].split("· ")[-1])
    assert accepted >= 80


def test_generate_takes_one_parameter_per_control_by_its_settings_name(client):
    info = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/generate"]
    assert tuple(p["parameter_name"] for p in info["parameters"]) == CONTROLS


def test_generate_by_position_in_the_old_order_still_runs(client):
    # Before knobs had one spelling, /generate's 24 parameters ended in forced_words, one_of, draft,
    # num_draft_tokens, do_sample, measure_speedup, stop_strings, and took "raw"/"chat" and "bf16" for Draft.
    # At fp32, with an fp32 draft: how many tokens a run makes before EOS is the same on any CPU.
    old = ["SmolLM2-135M-Instruct", "fp32", "Say yes.", "raw", "speculative", 1.0, 1.0, 50, 0.0, 1.0, 1.0, 0, 4, 0]
    old += [4, 1.0, 1, "", "", "fp32", 2, False, False, ""]
    output, status = client.predict(*old, api_name="/generate")
    assert shown_text(output) and " · 4 tokens · " in status and "of draft tokens accepted" in status


def test_run_endpoint_branches_with_prefix_ids(client, bundled_fp32):
    import json

    # At fp32, so that the engine in this process makes the server's tokens; min_new_tokens keeps step 3 there.
    base = {"prompt": "Name a colour.", "precision": "fp32", "max_new_tokens": 6, "min_new_tokens": 4}
    parent = json.loads(client.predict(json.dumps(base), api_name="/run"))
    step = parent["steps"][2]
    token = next(c["id"] for c in step["candidates"] if c["id"] != step["chosen"]["id"])
    prefix = [*parent["output"]["token_ids"][:2], token]
    payload = {**base, "prefix_ids": prefix, "parent_run": parent["run_id"]}
    child = json.loads(client.predict(json.dumps(payload), api_name="/run"))
    assert child["output"]["token_ids"][:3] == prefix
    assert child["branch"]["parent"] == parent["run_id"] and child["branch"]["at"] == 3
    assert [s.get("origin") for s in child["steps"][:4]] == ["inherited", "inherited", "forced", None]
    # The engine, called directly, makes the same tokens.
    settings = Settings(max_new_tokens=6, min_new_tokens=4, prefix_ids=tuple(prefix))
    expected = run(bundled_fp32, "Name a colour.", settings)
    assert child["output"]["token_ids"] == expected.output.token_ids
    with pytest.raises(AppError, match="prefix_ids holds 999999, not a token id of this model"):
        client.predict(json.dumps({**payload, "prefix_ids": [999999]}), api_name="/run")


def test_compare_endpoint_reads_run_a_under_other_settings_as_the_engine_does(client, bundled_fp32):
    import json

    from playground.engine.compare import compare_path

    # At fp32, whose tokens this process shares with the server's on any CPU (nf4 ended after 6 tokens on an
    # AMD EPYC, not 8); min_new_tokens holds A to 8 steps whatever the model would rather do.
    b = {"strategy": "sample", "top_k": 5, "temperature": 1.3, "seed": 3}
    a_knobs = {"precision": "fp32", "max_new_tokens": 8, "min_new_tokens": 8}
    payload = {"prompt": "Name a colour.", "a": a_knobs, "b": b}
    answer = json.loads(client.predict(json.dumps(payload), api_name="/compare"))
    a, comparison = answer["a"], answer["comparison"]
    # A is the run /run gives for the same settings: the engine, called directly, makes the same tokens.
    a_settings = Settings(max_new_tokens=8, min_new_tokens=8)
    assert a["output"]["token_ids"] == run(bundled_fp32, "Name a colour.", a_settings).output.token_ids
    assert comparison["b_model"] == "SmolLM2-135M-Instruct" and comparison["b_precision"] == "fp32"
    assert comparison["b_changes"] == b and len(comparison["steps"]) == 8
    expected = compare_path(
        bundled_fp32,
        a_settings,
        bundled_fp32,
        a_settings.replace(**b),
        a["prompt"]["token_ids"],
        a["output"]["token_ids"],
    )
    for row, want in zip(comparison["steps"], expected, strict=True):
        assert row["kl"] is None and row["uncovered"] == pytest.approx(want.uncovered)  # top-k 5 rules tokens out
        removed = [row["removed_id"], row["removed_text"], row["removed_by"]]  # why: the stage and its token
        assert removed == [want.removed_id, want.removed_text, "top_k"]
        for key in ("js", "tv", "prob_a", "prob_b", "rank_b", "top1_agree"):
            assert row[key] == pytest.approx(getattr(want, key), abs=1e-6), key
        assert [c["id"] for c in row["candidates"]] == [c.id for c in want.candidates]
    with pytest.raises(AppError, match="unknown key 'c'"):
        client.predict(json.dumps({**payload, "c": 1}), api_name="/compare")


def test_run_endpoint_samples_many_and_mass_endpoint_gives_the_tree(client):
    import json

    payload = {"prompt": "Name a colour.", "strategy": "sample", "num_samples": 8, "seed": 2, "max_new_tokens": 5}
    trace = json.loads(client.predict(json.dumps(payload), api_name="/run"))
    samples = trace["samples"]["samples"]
    assert [s["seed"] for s in samples] == list(range(2, 10)) and trace["output"]["token_ids"] == samples[0][
        "token_ids"
    ]
    assert all(len(s["probs"]) == len(s["token_ids"]) <= 5 for s in samples)
    with pytest.raises(AppError, match="num_samples above 1 needs the sample strategy"):
        client.predict(json.dumps({**payload, "strategy": "greedy"}), api_name="/run")
    tree = json.loads(client.predict(json.dumps({"prompt": "Name a colour.", "mass_depth": 2}), api_name="/mass"))
    root = tree["root"]
    assert tree["depth"] == 2 and tree["threshold"] == 0.005
    assert sum(c["joint"] for c in root["children"]) + root["other"] == pytest.approx(1.0)
    with pytest.raises(AppError, match="mass_depth must be"):
        client.predict(json.dumps({"prompt": "x", "mass_depth": 7}), api_name="/mass")
