"""Exporting a run's trace as a JSON file, and loading one back to view it without the model."""

from __future__ import annotations

import html
import json
import tempfile
from pathlib import Path
from typing import Any

import gradio as gr

from playground.trace import Trace

MAX_TRACE_BYTES = 20 * 2**20  # a 1024-step trace with 100 candidates per step is about 15 MB


def export_trace(trace: Trace | None) -> Any:
    """The download button, pointing at this run's trace written as JSON (hidden until there is one)."""
    if trace is None:
        return gr.DownloadButton(value=None, visible=False)
    folder = Path(tempfile.mkdtemp(prefix="trace-"))
    path = folder / f"trace-{trace.settings.get('strategy', 'run')}.json"
    path.write_text(trace.to_json(indent=1), encoding="utf-8")
    return gr.DownloadButton(value=str(path), visible=True)


def read_trace(path: Any) -> Trace:
    """A trace from an uploaded file; raises gr.Error saying what is wrong with it.

    Args:
        path: the uploaded file's path (what gr.File gives a function).
    """
    if not path:
        raise gr.Error("No file was uploaded.", print_exception=False)
    file = Path(path)
    size = file.stat().st_size
    if size > MAX_TRACE_BYTES:
        raise gr.Error(
            f"The trace file is {size / 2**20:.1f} MB; the limit is {MAX_TRACE_BYTES // 2**20} MB.",
            print_exception=False,
        )
    try:
        return Trace.from_json(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        message = "The file is not text: upload a trace exported from this page or the CLI's --json."
    except json.JSONDecodeError as exc:
        message = f"The file is not valid JSON (line {exc.lineno}): upload a trace exported from this page."
    except (KeyError, TypeError, ValueError) as exc:
        message = f"The file is not a decoding-playground trace: {exc}"
    raise gr.Error(html.escape(message, quote=False), print_exception=False)
