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
    EXPORTS.mkdir(parents=True, exist_ok=True)
    folder = EXPORTS / uuid.uuid4().hex  # one folder per run keeps the download's file name readable
    folder.mkdir()
    path = folder / f"trace-{trace.settings.get('strategy', 'run')}.json"
    path.write_text(trace.to_json(indent=1), encoding="utf-8")
    prune_exports()
    return gr.DownloadButton(value=str(path), visible=True)


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
    if not path:
        raise gr.Error("No file was uploaded.", print_exception=False)
    file = Path(path)
    size = file.stat().st_size
    limit = Limits.from_env().max_trace_mb
    if size > limit * 2**20:
        raise gr.Error(f"The trace file is {size / 2**20:.1f} MB; the limit is {limit:g} MB.", print_exception=False)
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
