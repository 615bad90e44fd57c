"""The launched app under load: many sessions at once, mixing strategies (benchmarks/load_test.py, small)."""

import pytest

from benchmarks.load_test import report, run_load
from tests.conftest import launched_app

pytestmark = pytest.mark.api


def test_concurrent_sessions_get_reproducible_results_and_memory_stays_flat(app_server):
    url, server = app_server
    figures = run_load(url, server.pid, sessions=6, duration=30, max_new_tokens=6)
    print(report(figures))
    assert figures["requests"] >= 20 and figures["hung_sessions"] == 0
    assert figures["errors"] == {}, "six sessions never fill a queue of 16"
    assert figures["irreproducible"] == [], "same settings and seed must give the same tokens, whatever else runs"
    assert figures["repeated_settings"] >= 10
    assert figures["rss_after_mb"] - figures["rss_before_mb"] < 150


def test_a_full_queue_turns_requests_away_with_its_message_and_keeps_serving():
    with launched_app("app-small-queue.log", PLAYGROUND_QUEUE_SIZE="2") as (url, server):
        figures = run_load(url, server.pid, sessions=8, duration=20, max_new_tokens=6)
    print(report(figures))
    assert figures["errors"].get("queue full", 0) > 0, "eight sessions must overflow a queue of 2"
    assert figures["unexpected_errors"] == 0 and figures["hung_sessions"] == 0
    assert figures["requests"] >= 10 and figures["irreproducible"] == []
