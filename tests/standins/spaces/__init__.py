"""A stand-in for the `spaces` package on ZeroGPU hardware, for a machine without a GPU.

It does to a call what ZeroGPU does (read against spaces 0.51, `spaces/zero/wrappers.py`): the decorated
function runs in a worker process forked from the page's at its first call and reused after; its arguments, each
value it yields, its result and its exception are pickled across; closing the page's generator (Stop) asks the
worker to close the task's generator at its next value; the duration is called with the task's arguments. Only
the GPU is missing. Put this folder first on PYTHONPATH and set SPACES_ZERO_GPU=true.

ZEROGPU_STANDIN_LOG names a file that gets one JSON line per event: the import ({"torch_imported": ...}, whether
torch was imported before this package) and each call ({"task": ..., "seconds": ..., "worker": its process id}).
"""

from __future__ import annotations

import functools
import inspect
import json
import multiprocessing
import os
import queue
import stat
import sys
import threading
from datetime import timedelta
from typing import Any

_FORK = multiprocessing.get_context("fork")
_auto_wrap = True


def _log(**record: Any) -> None:
    path = os.environ.get("ZEROGPU_STANDIN_LOG")
    if path:
        with open(path, "a") as log:
            log.write(json.dumps(record) + "\n")


_log(torch_imported="torch" in sys.modules, gradio_imported="gradio" in sys.modules)


def disable_gradio_auto_wrap() -> None:
    global _auto_wrap
    _auto_wrap = False


def gradio_auto_wrap(task: Any) -> Any:
    """What Gradio calls on every event function on a Space: wrapped in GPU unless switched off."""
    return GPU(task) if _auto_wrap and callable(task) else task


class _Worker:
    """One forked process running one task, call after call; a pipe carries pickles both ways."""

    def __init__(self, task: Any) -> None:
        self.task = task
        self.lock = threading.Lock()  # one call at a time, as a worker serves one lease at a time
        self.process: Any = None

    def start(self) -> None:
        if self.process is not None and self.process.is_alive():
            return
        self.page, child = _FORK.Pipe()
        self.stop = _FORK.Event()
        self.process = _FORK.Process(target=self._serve, args=(child,), daemon=True)
        self.process.start()

    def _serve(self, conn: Any) -> None:
        self.page.close()  # the page's end: once the page process is gone, recv() ends this worker
        _close_sockets(keep=conn.fileno())
        while True:
            try:
                args, kwargs = conn.recv()
            except EOFError:
                return
            self.stop.clear()
            try:
                if inspect.isgeneratorfunction(self.task):
                    gen = self.task(*args, **kwargs)
                    for value in gen:
                        if self.stop.is_set():
                            gen.close()
                            break
                        conn.send(("value", value))
                else:
                    conn.send(("value", self.task(*args, **kwargs)))
            except Exception as exc:
                conn.send(("error", exc))
            conn.send(("end", None))

    def receive(self) -> tuple[str, Any]:
        try:
            return self.page.recv()
        except EOFError:
            return "error", RuntimeError("ZeroGPU worker error: GPU task aborted")

    def forward(self, results: queue.SimpleQueue) -> None:
        """Hands one call's messages to `results` until its end, then frees the worker, whether or not the page
        still reads them (as spaces' reader thread does)."""
        try:
            while True:
                message = self.receive()
                results.put(message)
                if message[0] == "end" or self.process.exitcode is not None:
                    return
        finally:
            self.lock.release()


def _close_sockets(keep: int) -> None:
    """Closes the sockets a forked worker inherited but `keep`, as spaces does: the server's connections stay
    open while any process holds them, so a browser would send later requests (Stop) where no one answers."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            if fd != keep and stat.S_ISSOCK(os.fstat(fd).st_mode):
                os.close(fd)
        except OSError:  # the listing's own descriptor, already gone
            continue


def _seconds(duration: Any, args: tuple, kwargs: dict) -> float:
    value = duration(*args, **kwargs) if callable(duration) else duration
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float) or value <= 0):
        raise TypeError(f"a GPU duration must be a positive number of seconds, got {value!r}")
    return value


def GPU(task: Any = None, *, duration: Any = None, size: Any = None) -> Any:
    if task is None:
        return functools.partial(GPU, duration=duration, size=size)
    worker = _Worker(task)
    name = getattr(task, "__name__", repr(task))

    def lease(args: tuple, kwargs: dict) -> queue.SimpleQueue:
        """Starts the call in the worker; returns the queue its messages arrive in."""
        seconds = _seconds(duration, args, kwargs)
        worker.lock.acquire()
        try:
            worker.start()
            worker.page.send((args, kwargs))
        except BaseException:  # an argument that cannot be pickled fails the call, as on ZeroGPU
            worker.lock.release()
            raise
        _log(task=name, seconds=seconds, worker=worker.process.pid)
        results: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=worker.forward, args=(results,), daemon=True).start()
        return results

    if inspect.isgeneratorfunction(task):

        @functools.wraps(task)
        def stream(*args: Any, **kwargs: Any) -> Any:
            results = lease(args, kwargs)
            while True:
                kind, value = results.get()
                if kind == "end":
                    return
                if kind == "error":
                    raise value
                try:
                    yield value
                except GeneratorExit:  # the page abandoned the call: the worker closes the task at its next value
                    worker.stop.set()
                    raise

        return stream

    @functools.wraps(task)
    def call(*args: Any, **kwargs: Any) -> Any:
        kind, value = lease(args, kwargs).get()
        if kind == "error":
            raise value
        return value

    return call
