"""Where the model runs while the page streams: one thread that does all model work, and batches of its
updates handed to the page.

Streaming a run straight through Gradio pauses the model at every step while the page is updated, which
halves its speed on a small CPU. Here the model runs on at its own pace, and each time the page is ready for
more it gets everything produced since the last update in one batch.

The model thread is the process's main thread when `serve_model_jobs()` runs there (app.py does, after
starting the server): bitsandbytes' CPU 4-bit kernel ran 2.7 times slower per call from any other thread on
the machines measured (benchmarks/page_latency.py shows the effect). Without it, each run gets a thread.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

_DONE = object()
_jobs: queue.SimpleQueue = queue.SimpleQueue()
_serving_pid: int | None = None  # the process whose main thread takes jobs (not a forked child of it)


class _Raised:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def serve_model_jobs(until: threading.Event | None = None) -> None:
    """Makes the calling thread the model thread: runs submitted jobs one after another until `until` is set
    (or forever). Call it from the main thread after the server has started without blocking."""
    global _serving_pid
    _serving_pid = os.getpid()
    try:
        while until is None or not until.is_set():
            try:
                job = _jobs.get(timeout=0.5)  # wakes now and then, so Ctrl-C and `until` are noticed
            except queue.Empty:
                continue
            job()
    finally:
        _serving_pid = None


def submit(job: Callable[[], None]) -> None:
    """Runs `job` on the model thread if one serves this process, else on a new thread."""
    if _serving_pid == os.getpid():
        _jobs.put(job)
    else:
        threading.Thread(target=job, name="run", daemon=True).start()


def batches(
    make: Callable[[], Iterator[Any]], cancel: threading.Event, min_interval: float = 0.0
) -> Iterator[list[Any]]:
    """Yields lists of the items `make()` produced since the previous list, in order, at most one list per
    `min_interval` seconds (the first at once): every page update re-renders the Output in the browser,
    which on a 2-core machine takes CPU from the model.

    `make()` is called on the model thread. An exception there is raised here. When the consumer stops early
    (the request was abandoned), `cancel` is set, which the run checks at every step, and the job is waited
    for, so the model is free again when this generator is closed.
    """
    items: queue.SimpleQueue = queue.SimpleQueue()
    ended = threading.Event()

    def work() -> None:
        try:
            if not cancel.is_set():  # abandoned while it waited for the model thread
                for item in make():
                    items.put(item)
        except BaseException as exc:  # handed to the consumer, which raises it
            items.put(_Raised(exc))
        finally:
            items.put(_DONE)
            ended.set()

    submit(work)
    finished = False
    last = 0.0
    try:
        while not finished:
            time.sleep(max(0.0, last + min_interval - time.monotonic()))
            batch = [items.get()]
            while True:
                try:
                    batch.append(items.get_nowait())
                except queue.Empty:
                    break
            finished = batch[-1] is _DONE  # nothing follows _DONE
            batch = [item for item in batch if item is not _DONE]
            for item in batch:
                if isinstance(item, _Raised):
                    raise item.exc
            if batch:
                yield batch
                last = time.monotonic()
    finally:
        if not finished:
            cancel.set()
            ended.wait()
