"""The Stop switch of each browser tab, and its rule of one run at a time.

The records are the page process's own. On ZeroGPU a run executes in a worker process forked from the page's,
which holds a copy of these records taken when it started: so a switch is armed, taken, stopped and released
only here, around the call that may run elsewhere (`Switches.run`), and the run gets its switch as an argument.
A `Switch` crosses that boundary: pickled, it is a file's path, so Stop pressed in the page process reaches a run
in the worker, which ends at its next step and finishes its trace as it does anywhere else.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import threading
import uuid
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr


class Switch:
    """A Stop switch, set in one process and read in it or in any process forked from it.

    `set()` flips an in-process event and creates a marker file; `is_set()` reads the event, then the file (one
    `stat` a decoding step, where the run executes in another process). Pickling keeps only the file's path.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()
        self.path.touch()

    def is_set(self) -> bool:
        return self._event.is_set() or self.path.exists()

    def release(self) -> None:
        """Removes the marker file once the run is over."""
        self.path.unlink(missing_ok=True)

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.path = state["path"]
        self._event = threading.Event()


class Switches:
    """Stop switches by browser session: clicked but still queued (armed), and running."""

    def __init__(self) -> None:
        self._armed: dict[str | None, Switch] = {}
        self._running: dict[str | None, Switch] = {}
        self._guard = threading.Lock()
        self._folder = Path(tempfile.mkdtemp(prefix="playground-stop-"))  # the switches' marker files
        weakref.finalize(self, shutil.rmtree, self._folder, ignore_errors=True)

    def _new(self) -> Switch:
        return Switch(self._folder / uuid.uuid4().hex)

    def arm(self, session: str | None) -> None:
        """Called when a run's button is clicked, before the run waits in the queue: a fresh Stop switch. A tab
        gets one run at a time, so one visitor cannot fill the queue; a second click is refused."""
        with self._guard:
            if session in self._armed or session in self._running:
                raise gr.Error(
                    "This tab already has a run waiting or going: wait for it, or press Stop.", print_exception=False
                )
            self._armed[session] = self._new()

    def stop(self, session: str | None) -> bool:
        """Flips the session's Stop switch; its run ends at its next step (or never starts, if still queued).
        False when the session has nothing waiting or going."""
        with self._guard:
            switches = [s for s in (self._armed.get(session), self._running.get(session)) if s is not None]
        for switch in switches:
            switch.set()
        return bool(switches)

    def forget(self, session: str | None) -> None:
        """The tab was closed: stop its run, if any, and drop what was kept for it."""
        self.stop(session)
        with self._guard:
            armed = self._armed.pop(session, None)
        if armed is not None:
            armed.release()

    @contextlib.contextmanager
    def run(self, session: str | None) -> Iterator[Switch]:
        """The session's run, from start to end, in the page process: takes the switch its click armed (or a new
        one, for an API call that did not click) and releases the tab when the run ends, however it ends."""
        with self._guard:
            switch = self._armed.pop(session, None) or self._new()
            self._running[session] = switch
        try:
            yield switch
        finally:
            with self._guard:
                if self._running.get(session) is switch:
                    del self._running[session]
            switch.release()
