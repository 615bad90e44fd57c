"""Trace files: export writes the trace as JSON, import reads it back and names what is wrong with bad files."""

import gradio as gr
import pytest

from playground.engine import generate
from playground.settings import Settings
from playground.ui import files
from playground.ui.files import export_trace, read_trace


def test_export_then_import_gives_the_same_trace(tiny_loaded):
    trace = generate(tiny_loaded, "the cat", Settings(strategy="beam", num_beams=3, chat=False, max_new_tokens=6))
    button = export_trace(trace)
    path = button.value["path"]  # a component's value is Gradio's file data
    assert button.visible and path.endswith("trace-beam.json")
    assert read_trace(path) == trace
    assert not export_trace(None).visible


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
    monkeypatch.setattr(files, "MAX_TRACE_BYTES", 10)
    path = tmp_path / "big.json"
    path.write_text("x" * 100)
    with pytest.raises(gr.Error, match="the limit is"):
        read_trace(str(path))
