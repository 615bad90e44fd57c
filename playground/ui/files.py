"""Exporting a run's trace as a JSON file, and loading one back to view it without the model."""

from __future__ import annotations

import html
import json
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

import gradio as gr

from playground.run_tree import SCHEMA as RUNS_SCHEMA
from playground.run_tree import RunTree, read_runs
from playground.settings import Limits
from playground.trace import Trace

# Every run writes its export here; Gradio copies it into its own cache (cleared by the Blocks' delete_cache),
# and only the newest KEEP_EXPORTS stay, so a server that runs for months does not fill its disk.
EXPORTS = Path(tempfile.gettempdir()) / f"decoding-playground-exports-{os.getpid()}"
KEEP_EXPORTS = 32


def export_trace(trace: Trace | None) -> Any:
    """The download button, pointing at this run's trace written as JSON (hidden until there is one)."""
    if trace is None:
        return gr.DownloadButton(value=None, visible=False)
    name = f"trace-{trace.settings.get('strategy', 'run')}.json"
    return gr.DownloadButton(value=_export(name, trace.to_json(indent=1)), visible=True, interactive=True)


def withheld_export() -> Any:
    """The download button greyed and pointing at nothing, from the click that starts a run until `export_trace`
    gives it that run's file: the status line shows a run's summary before its export is written, and a click
    in between would save the run before it."""
    return gr.DownloadButton(value=None, interactive=False)


def export_runs(tree: RunTree | None) -> Any:
    """The download button of the session's runs as one file (hidden until there is a run)."""
    if tree is None or not tree.runs:
        return gr.DownloadButton(value=None, visible=False)
    return gr.DownloadButton(value=_export(f"runs-{len(tree.runs)}.json", tree.to_json()), visible=True)


def _export(name: str, text: str) -> str:
    EXPORTS.mkdir(parents=True, exist_ok=True)
    folder = EXPORTS / uuid.uuid4().hex  # one folder per export keeps the download's file name readable
    folder.mkdir()
    path = folder / name
    path.write_text(text, encoding="utf-8")
    prune_exports()
    return str(path)


def prune_exports(keep: int = KEEP_EXPORTS) -> None:
    """Deletes all but the newest `keep` exports."""
    folders = sorted(EXPORTS.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)
    for folder in folders[keep:]:
        for file in folder.iterdir():
            file.unlink(missing_ok=True)
        folder.rmdir()


def read_trace(path: Any) -> Trace:
    """A trace from an uploaded file; raises gr.Error saying what is wrong with it.

    Args:
        path: the uploaded file's path (what gr.File gives a function).
    """
    file = _uploaded(path, "The trace file", Limits.from_env().max_trace_mb)
    try:
        trace = Trace.from_json(file.read_text(encoding="utf-8"))
        trace.validate()
        return trace
    except UnicodeDecodeError:
        message = "The file is not text: upload a trace exported from this page or the CLI's --json."
    except json.JSONDecodeError as exc:
        message = f"The file is not valid JSON (line {exc.lineno}): upload a trace exported from this page."
    except RecursionError:
        message = "The file is not a decoding-playground trace: its JSON is nested far too deeply."
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        message = f"The file is not a decoding-playground trace: {str(exc)[:300]}"
    raise gr.Error(html.escape(message, quote=False), print_exception=False)


def read_upload(path: Any) -> tuple[list[Trace], str | None]:
    """The runs of an uploaded file, which is one trace or a runs file (the Runs tab's export), and the run to
    show; raises gr.Error saying what is wrong with it. A runs file may be as large as a session's runs."""
    file = _uploaded(path, "The file", Limits.from_env().max_session_mb)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        data = None  # read_trace names the problem
    if not isinstance(data, dict) or data.get("schema") != RUNS_SCHEMA:
        trace = read_trace(path)
        return [trace], trace.run_id
    try:
        return read_runs(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        message = f"The file is not a decoding-playground runs file: {str(exc)[:300]}"
    raise gr.Error(html.escape(message, quote=False), print_exception=False)


def _uploaded(path: Any, what: str, limit_mb: float) -> Path:
    """The uploaded file's path, refused with a gr.Error when there is none or it is over `limit_mb`."""
    if not path:
        raise gr.Error("No file was uploaded.", print_exception=False)
    file = Path(path)
    size = file.stat().st_size
    if size > limit_mb * 2**20:
        raise gr.Error(f"{what} is {size / 2**20:.1f} MB; the limit is {limit_mb:g} MB.", print_exception=False)
    return file
