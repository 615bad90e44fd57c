"""A browser session's runs as a tree: every run is a node, a branch hangs under the run it continued. Bounded:
beyond `Limits.max_session_runs` runs or `max_session_mb` of traces the oldest leaf goes first (a leaf, so no
kept run loses its parent). It is saved and loaded as one JSON file of traces."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

from playground.settings import Limits
from playground.trace import Trace

SCHEMA = "decoding-playground/runs@1"


@dataclass
class RunTree:
    """The runs by run_id, oldest first, with the size of each one's trace as JSON."""

    max_runs: int = Limits.max_session_runs
    max_bytes: int = int(Limits.max_session_mb * 2**20)
    runs: dict[str, Trace] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    shown: str | None = None  # the run the page shows

    @classmethod
    def within(cls, limits: Limits) -> RunTree:
        """An empty tree bounded by the server's limits."""
        return cls(max_runs=limits.max_session_runs, max_bytes=int(limits.max_session_mb * 2**20))

    def add(self, trace: Trace) -> str:
        """Keeps `trace` (a run without an id gets one; a run already kept is not added twice), shows it, and
        drops the oldest leaves beyond the bounds. Returns its run_id."""
        if trace.run_id is None:
            trace.run_id = uuid.uuid4().hex[:12]
        if trace.run_id not in self.runs:
            self.runs[trace.run_id] = trace
            self.sizes[trace.run_id] = len(trace.to_json().encode("utf-8"))
        self.shown = trace.run_id
        while len(self.runs) > 1 and (len(self.runs) > self.max_runs or sum(self.sizes.values()) > self.max_bytes):
            self._drop_oldest(keep=trace.run_id)
        return trace.run_id

    def _drop_oldest(self, keep: str) -> None:
        """Drops the oldest leaf but `keep`; when `keep` is the only leaf (a chain of branches), the oldest run,
        whose child becomes a root."""
        others = [run for run in self.runs if run != keep]
        run = next((run for run in others if not self.children(run)), others[0])
        del self.runs[run], self.sizes[run]

    def parent(self, run_id: str) -> str | None:
        """The kept run `run_id` branched from (None for a fresh run, or one whose parent is not kept). A parent
        is always older than its child, so a loaded file whose runs name each other cannot make a cycle."""
        branch = self.runs[run_id].branch
        if branch is None or branch.parent not in self.runs:
            return None
        order = list(self.runs)
        return branch.parent if order.index(branch.parent) < order.index(run_id) else None

    def children(self, run_id: str) -> list[str]:
        """The kept runs that branched from `run_id`, oldest first."""
        return [run for run in self.runs if self.parent(run) == run_id]

    def roots(self) -> list[str]:
        return [run for run in self.runs if self.parent(run) is None]

    def number(self, run_id: str) -> int:
        """The run's 1-based place among the kept runs, oldest first: how the tree view names it (#n)."""
        return list(self.runs).index(run_id) + 1

    def layout(self) -> dict[str, tuple[int, float]]:
        """Where each run sits in a drawing: (depth, row), depth counting branchings from its root, rows so that
        each run is centred on its children's rows and no two subtrees overlap."""
        places: dict[str, tuple[int, float]] = {}
        next_row = 0.0

        def place(run: str, depth: int) -> float:
            nonlocal next_row
            rows = [place(child, depth + 1) for child in self.children(run)]
            if rows:
                row = (rows[0] + rows[-1]) / 2
            else:
                row, next_row = next_row, next_row + 1
            places[run] = (depth, row)
            return row

        for root in self.roots():
            place(root, 0)
        return places

    def to_json(self) -> str:
        """The kept runs as one file: the schema, the shown run, every trace oldest first."""
        data = {"schema": SCHEMA, "shown": self.shown, "runs": [trace.to_dict() for trace in self.runs.values()]}
        return json.dumps(data, ensure_ascii=False)

    def extend(self, traces: list[Trace], shown: str | None = None) -> None:
        """Adds loaded runs in their order and shows `shown` if it is one of them (else the last)."""
        for trace in traces:
            self.add(trace)
        if shown in self.runs:
            self.shown = shown


def read_runs(data: dict) -> tuple[list[Trace], str | None]:
    """The traces and shown run of a runs file's parsed JSON; raises ValueError/KeyError/TypeError on a bad one
    (each trace is validated as a single trace file is)."""
    if data.get("schema") != SCHEMA:
        raise ValueError(f"schema must be {SCHEMA!r}, got {data.get('schema')!r}")
    if not isinstance(data["runs"], list):
        raise TypeError("runs must be a list of traces")
    traces = [Trace.from_dict(item) for item in data["runs"]]
    for trace in traces:
        trace.validate()
    shown = data.get("shown")
    return traces, shown if isinstance(shown, str) else None
