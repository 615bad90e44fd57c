"""The launched app under load: many sessions at once, mixing strategies (benchmarks/load_test.py, small)."""

import pytest

from benchmarks.load_test import report, run_load
from tests.conftest import launched_app

pytestmark = pytest.mark.api


def test_concurrent_sessions_get_reproducible_results_and_memory_stays_flat(app_server):
    url, server = app_server
    # A short window: each session goes on past it until it was answered `min_requests` times.
    # Every session is answered at least four times, however fast this machine is: its first four draws (the
    # sessions' seeds are fixed) hold 8 settings twice or more, so the comparison below compares something.
    figures = run_load(url, server.pid, sessions=6, duration=10, max_new_tokens=6, min_requests=4)
    print(report(figures))
    assert figures["fewest_per_session"] >= 4 and figures["hung_sessions"] == 0
    assert figures["errors"] == {}, "six sessions never fill a queue of 16"
    assert figures["repeated_settings"] >= 8
    assert figures["irreproducible"] == [], "same settings and seed must give the same tokens, whatever else runs"
    assert figures["rss_after_mb"] - figures["rss_before_mb"] < 150


def test_a_full_queue_turns_requests_away_with_its_message_and_keeps_serving():
    with launched_app("app-small-queue.log", PLAYGROUND_QUEUE_SIZE="2") as (url, server):
        # A request turned away is sent again: each session's first two draws are answered, 4 settings twice.
        figures = run_load(url, server.pid, sessions=8, duration=5, max_new_tokens=6, min_requests=2)
    print(report(figures))
    assert figures["errors"].get("queue full", 0) > 0, "eight sessions must overflow a queue of 2"
    assert figures["unexpected_errors"] == 0 and figures["hung_sessions"] == 0
    assert figures["fewest_per_session"] >= 2, "every session is served again once the queue has room"
    assert figures["repeated_settings"] >= 4 and figures["irreproducible"] == []
