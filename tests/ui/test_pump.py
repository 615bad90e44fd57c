"""The model thread and the batches the page receives from it."""

import itertools
import threading
import time

import pytest

from playground.ui import pump


def test_items_arrive_in_order_in_batches_and_errors_are_raised_here():
    def produce():
        yield from range(50)

    received = [item for batch in pump.batches(produce, threading.Event()) for item in batch]
    assert received == list(range(50))

    def fail():
        yield 1
        raise ValueError("bad knob")

    with pytest.raises(ValueError, match="bad knob"):
        list(pump.batches(fail, threading.Event()))


def test_closing_early_cancels_the_job_and_waits_for_it():
    cancel, ended = threading.Event(), threading.Event()

    def produce():
        try:
            while not cancel.is_set():
                yield 1
                time.sleep(0.001)
        finally:
            ended.set()

    run = pump.batches(produce, cancel)
    next(run)
    run.close()
    assert cancel.is_set() and ended.is_set()


def test_jobs_run_on_the_serving_thread_once_one_serves():
    until = threading.Event()
    server = threading.Thread(target=pump.serve_model_jobs, args=(until,), name="model-thread")
    server.start()
    try:
        while pump._serving_pid is None:
            time.sleep(0.01)
        names = [b for b in pump.batches(lambda: iter([threading.current_thread().name]), threading.Event())]
        assert names == [["model-thread"]]
    finally:
        until.set()
        server.join()
    assert pump._serving_pid is None
    names = [b for b in pump.batches(lambda: iter([threading.current_thread().name]), threading.Event())]
    assert names == [["run"]]  # no model thread: a thread per job


class FakeClock:
    """Stands in for `pump.time`: monotonic() reads a number that sleep() advances, and nothing else does, so
    the spacing of batches is checked whatever the machine's load."""

    def __init__(self) -> None:
        self.now = 1000.0  # monotonic()'s origin is arbitrary; a machine's clock reads far from zero
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_batches_come_at_most_once_per_interval_and_the_first_at_once(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(pump, "time", clock)
    taken = threading.Event()

    def produce():
        yield 0
        taken.wait(timeout=60)  # the rest only once the first batch is in the consumer's hands
        yield from range(1, 40)

    times, items = [], []
    for batch in pump.batches(produce, threading.Event(), min_interval=0.05):
        times.append(clock.now)
        items += batch
        taken.set()
        clock.now += 0.02  # the consumer's own work between batches (rendering the page)
    assert items == list(range(40))
    assert times[0] == 1000.0 and clock.sleeps[0] == 0.0, "the first batch comes at once"
    assert len(times) >= 2, "the first batch does not wait for the run to end"
    # Each later batch waits one interval from when the consumer came back for it (its work is not counted).
    assert clock.sleeps[1:] == pytest.approx([0.05] * (len(times) - 1))
    assert all(b - a == pytest.approx(0.07) for a, b in itertools.pairwise(times))
