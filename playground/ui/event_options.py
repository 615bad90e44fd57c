"""The options the page's events share, said once.

The page's own events are private: only /generate, /run, /compare, /mass, /compress and /probe are the app's API,
and a private event is neither listed in the API docs nor callable by Gradio's clients. Everything that runs a
model waits in one queue ("model") that serves one request at a time, because a loaded model serves one run at a
time.
"""

from __future__ import annotations

from typing import Any

PRIVATE: dict[str, Any] = {"api_visibility": "private"}
# A private event answered at once, outside the queue: it only shows, hides or sets controls.
INSTANT: dict[str, Any] = {**PRIVATE, "queue": False}
MODEL_QUEUE: dict[str, Any] = {"concurrency_limit": 1, "concurrency_id": "model"}
