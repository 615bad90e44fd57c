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


def test_batches_come_at_most_once_per_interval_and_the_first_at_once():
    def produce():
        for i in range(40):
            time.sleep(0.005)
            yield i

    started = time.monotonic()
    times, items = [], []
    for batch in pump.batches(produce, threading.Event(), min_interval=0.05):
        times.append(time.monotonic() - started)
        items += batch
    assert items == list(range(40))
    assert times[0] < 0.04 and len(times) <= 6  # 0.2 s of work in 0.05 s slices
    assert all(b - a >= 0.045 for a, b in itertools.pairwise(times))
