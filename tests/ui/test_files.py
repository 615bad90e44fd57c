"""Trace files: export writes the trace as JSON, import reads it back and names what is wrong with bad files."""

import json

import gradio as gr
import pytest

from playground.engine import generate
from playground.settings import FLOAT_FIELDS, Settings
from playground.ui import files
from playground.ui.files import export_trace, read_trace
from playground.ui.views import all_views


def test_export_then_import_gives_the_same_trace(tiny_loaded):
    trace = generate(tiny_loaded, "the cat", Settings(strategy="beam", num_beams=3, chat=False, max_new_tokens=6))
    button = export_trace(trace)
    path = button.value["path"]  # a component's value is Gradio's file data
    assert button.visible and path.endswith("trace-beam.json")
    assert read_trace(path) == trace
    assert not export_trace(None).visible


def test_a_speculative_trace_keeps_its_format_through_export_and_import(tiny_loaded, tmp_path):
    settings = Settings(strategy="speculative", draft_model="prompt-lookup", chat=False, max_new_tokens=6)
    trace = generate(tiny_loaded, "the cat the cat", settings)
    data = json.loads(trace.to_json())["speculative"]
    # The published keys: a draft names only what it has, and there is no speed-up unless one was measured.
    assert set(data) == {
        "draft", "num_draft_tokens", "schedule", "rounds", "acceptance_rate", "mean_accepted_per_round",
        "tokens_per_round", "target_calls", "draft_calls", "draft_s", "verify_s",
    }  # fmt: skip
    assert data["draft"] == {"source": "prompt-lookup", "ngram": 3}
    for spec_round in data["rounds"]:  # where prompt lookup found the draft, in rounds that proposed one
        assert set(spec_round) == {
            "start", "num_draft_tokens", "proposed", "emitted", "alpha", "expected_tokens", "tokens",
            *(["lookup"] if spec_round["proposed"] else []),
        }  # fmt: skip
        assert set(spec_round["emitted"]) == {"id", "text", "kind", "p"}
    path = tmp_path / "speculative.json"
    path.write_text(trace.to_json())
    assert read_trace(str(path)) == trace


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe\x00binary", "not text"),
        (b"{not json", "not valid JSON (line 1)"),
        (b'{"schema": "something-else"}', "schema must be 'decoding-playground/trace@1'"),
        (b'{"schema": "decoding-playground/trace@1"}', "not a decoding-playground trace"),
    ],
)
def test_bad_files_are_named(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(gr.Error) as err:
        read_trace(str(path))
    assert message in err.value.message


def test_oversized_files_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_MAX_TRACE_MB", "0.001")
    path = tmp_path / "big.json"
    path.write_text("x" * 2000)
    with pytest.raises(gr.Error, match=r"The trace file is 0\.0 MB; the limit is 0\.001 MB"):
        read_trace(str(path))


def corrupt(trace, change) -> bytes:
    data = json.loads(trace.to_json())
    change(data)
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["steps"][0]["chosen"].update(prob="high"), "trace.steps[0].chosen.prob must be a finite number"),
        (lambda d: d["timing"].update(decode_s=float("nan")), "trace.timing.decode_s must be a finite number"),
        (lambda d: d["output"].update(stop_reason="bored"), "output.stop_reason must be one of"),
        (lambda d: d["steps"][0]["chosen"].update(bytes="e6zz"), "steps[0].chosen.bytes must be the token's bytes"),
        (lambda d: d["steps"][0]["chosen"].update(bytes=230), "trace.steps[0].chosen.bytes must be of type str"),
        (lambda d: d["steps"][0]["candidates"][1].update(bytes="E6"), "steps[0].candidates[1].bytes must be the"),
        (lambda d: d["steps"][0]["chosen"].update(prob=-0.5), "steps[0].chosen.prob must be a probability (0 to 1)"),
        (lambda d: d["steps"][1]["candidates"][0]["probs"].update(final=5.0), "steps[1].candidates[0].probs must be"),
        (lambda d: d["steps"][0]["candidates"][0].update(removed_by="bogus"), "names a stage not in raw, "),
        (lambda d: d["steps"][0]["candidates"][0]["probs"].update(bogus=0.1), "candidates[0] names a stage not in"),
        (lambda d: d.update(steps=[]), "steps must hold one step per generated token (3), got 0"),
        (lambda d: d["output"].update(token_ids=d["output"]["token_ids"][:2]), "one step per generated token (2)"),
        (lambda d: d["steps"][2]["chosen"].update(id=d["steps"][2]["chosen"]["id"] + 1), "steps[2] must have index 2"),
        (lambda d: d["output"].update(token_ids=[-1, 0, 0]), "output.token_ids must be token ids of the model"),
        (lambda d: d.update(run_id="<img src=x onerror=alert(1)>"), "run_id must be a run id"),
        (lambda d: d["model"].update(vocab_size=0), "model.vocab_size must be at least 1"),
        (lambda d: d["model"].update(precision="fp64"), "model.precision must be one of nf4, fp4, int8, bf16, fp32"),
        (lambda d: d["beams"]["nodes"][0].update(status="<b>x</b>"), "status must be one of"),
        (lambda d: d["steps"][0].update(candidates={"a": 1}), "not a decoding-playground trace"),
        (lambda d: d["steps"][0]["candidates"][0].update(probs=[0.5]), "candidates[0].probs must be an object"),
        (lambda d: d["model"].update(extra=1), "unexpected keyword argument 'extra'"),
        (lambda d: d.update(speculative={"rounds": 3}), "not a decoding-playground trace"),
        (lambda d: d.update(steps=None), "not a decoding-playground trace"),
    ],
)
def test_files_whose_data_do_not_fit_the_format_are_named(tmp_path, tiny_loaded, change, message):
    trace = generate(tiny_loaded, "the cat", Settings(strategy="beam", num_beams=2, chat=False, max_new_tokens=3))
    path = tmp_path / "bad.json"
    path.write_bytes(corrupt(trace, change))
    with pytest.raises(gr.Error) as err:
        read_trace(str(path))
    assert message in err.value.message


def whole_numbers_as_ints(value):
    """The JSON data with every integral float written as an int, as some JSON writers do (1.0 -> 1)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [whole_numbers_as_ints(v) for v in value]
    if isinstance(value, dict):
        return {k: whole_numbers_as_ints(v) for k, v in value.items()}
    return value


@pytest.mark.parametrize(
    "knobs",
    [
        dict(strategy="beam", num_beams=2, length_penalty=2.0),
        dict(strategy="sample", temperature=2.0, top_p=1.0, top_k=3, seed=1),
        dict(strategy="speculative", draft_model="prompt-lookup", repetition_penalty=2.0),
    ],
    ids=lambda knobs: knobs["strategy"],
)
def test_a_trace_with_whole_numbers_for_floats_loads_and_draws(tmp_path, tiny_loaded, knobs):
    trace = generate(tiny_loaded, "the cat the cat", Settings(chat=False, max_new_tokens=4, **knobs))
    path = tmp_path / "ints.json"
    data = whole_numbers_as_ints(json.loads(trace.to_json()))
    assert isinstance(data["settings"]["top_p"], int)
    path.write_text(json.dumps(data))
    loaded = read_trace(str(path))
    assert all(type(loaded.settings[name]) is float for name in FLOAT_FIELDS if name != "max_time")
    assert loaded.settings == trace.settings
    assert all(view is not None for view in all_views(loaded))


@pytest.mark.parametrize(
    ("value", "message"),
    [(True, "trace.settings.top_p must be a finite number"), (10**400, "trace.settings.top_p must be a finite")],
)
def test_a_trace_whose_float_setting_is_no_number_is_named(tmp_path, tiny_loaded, value, message):
    trace = generate(tiny_loaded, "the cat", Settings(chat=False, max_new_tokens=2))
    path = tmp_path / "bad.json"
    path.write_bytes(corrupt(trace, lambda d: d["settings"].update(top_p=value)))
    with pytest.raises(gr.Error) as err:
        read_trace(str(path))
    assert message in err.value.message


def test_deeply_nested_json_is_named_not_a_crash(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(gr.Error, match="nested far too deeply"):
        read_trace(str(path))


def test_only_the_newest_exports_are_kept(tiny_loaded, monkeypatch, tmp_path):
    monkeypatch.setattr(files, "EXPORTS", tmp_path / "exports")
    trace = generate(tiny_loaded, "the cat", Settings(chat=False, max_new_tokens=2))
    for _ in range(files.KEEP_EXPORTS + 5):
        export_trace(trace)
    kept = list((tmp_path / "exports").iterdir())
    assert len(kept) == files.KEEP_EXPORTS and all((folder / "trace-greedy.json").is_file() for folder in kept)
