"""A load test on loopback: many sessions at once, mixing strategies, against the launched app.

    python -m benchmarks.load_test [--sessions 24] [--duration 300] [--max-new-tokens 8]

Launches `python app.py` (embedded model, nf4), then `--sessions` gradio_client sessions each send /run
requests back to back for `--duration` seconds, drawn from a fixed pool of settings (every strategy, a few
seeds); a request turned away is sent again until it is answered. It prints requests/s, p50/p95 latency, errors
by kind (only Gradio's documented "queue is full" rejection is allowed), whether every setting answered more than
once gave the same tokens each time, and the server's resident memory before and after.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

PROMPTS = ["Name a colour.", "Tell me about owls.", "Write a haiku about rain."]


def payloads(max_new_tokens: int) -> list[dict]:
    """The pool: every strategy, sampling with three seeds, all short."""
    pool = []
    for prompt in PROMPTS:
        base = {"prompt": prompt, "max_new_tokens": max_new_tokens}
        pool += [
            {**base, "strategy": "greedy"},
            *({**base, "strategy": "sample", "temperature": 0.9, "top_p": 0.9, "seed": s} for s in (1, 2, 3)),
            {**base, "strategy": "beam", "num_beams": 3},
            {**base, "strategy": "constrained", "num_beams": 3, "force_words": ["blue"]},
            {**base, "strategy": "speculative", "draft_model": "prompt-lookup", "do_sample": True, "seed": 4},
        ]
    return pool


def resident_mb(pid: int) -> float:
    """The process's resident memory (VmRSS), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


@dataclass
class Results:
    latencies: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    tokens: dict[str, set] = field(default_factory=dict)  # settings -> every token sequence seen for them
    answered: Counter = field(default_factory=Counter)  # settings -> how many times they were answered
    per_session: Counter = field(default_factory=Counter)  # session number -> requests answered
    lock: threading.Lock = field(default_factory=threading.Lock)


def session(url: str, pool: list[dict], until: float, results: Results, number: int, min_requests: int) -> None:
    """One client: requests drawn from `pool` (seeded by `number`) until `until` has passed and at least
    `min_requests` were answered. A request that fails is sent again, so the settings answered are the first
    draws of the session's seed, whatever the timing."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    rng = random.Random(number)
    payload = None
    while time.monotonic() < until or results.per_session[number] < min_requests:
        payload = payload or rng.choice(pool)
        started = time.monotonic()
        try:
            trace = json.loads(client.submit(json.dumps(payload), api_name="/run").result(timeout=180))
        except Exception as exc:  # counted by kind; the caller decides which kinds are allowed
            kind = "queue full" if "queue is full" in str(exc).lower() else f"{type(exc).__name__}: {exc}"[:160]
            with results.lock:
                results.errors[kind] += 1
            time.sleep(0.5)
            continue
        with results.lock:
            results.latencies.append(time.monotonic() - started)
            key = json.dumps(payload, sort_keys=True)
            results.tokens.setdefault(key, set()).add(tuple(trace["output"]["token_ids"]))
            results.answered[key] += 1
            results.per_session[number] += 1
        payload = None


def run_load(url: str, pid: int, sessions: int, duration: float, max_new_tokens: int, min_requests: int = 0) -> dict:
    """Runs the load and returns its figures (see the module docstring); each session goes on past `duration`
    until `min_requests` of its requests were answered."""
    pool = payloads(max_new_tokens)
    results = Results()
    # Warm up: every strategy once, so first-use allocations are not counted as growth.
    from gradio_client import Client

    warm = Client(url, verbose=False)
    for payload in pool[: len(pool) // len(PROMPTS)]:
        warm.predict(json.dumps(payload), api_name="/run")
    before = resident_mb(pid)
    started = time.monotonic()
    until = started + duration
    workers = [
        threading.Thread(target=session, args=(url, pool, until, results, i, min_requests), daemon=True)
        for i in range(sessions)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=duration + 240)
    elapsed = time.monotonic() - started
    latencies = sorted(results.latencies)
    return {
        "requests": len(latencies),
        "requests_per_s": len(latencies) / elapsed,
        "p50_s": statistics.median(latencies) if latencies else float("nan"),
        "p95_s": latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan"),
        "errors": dict(results.errors),
        "unexpected_errors": sum(n for kind, n in results.errors.items() if kind != "queue full"),
        "irreproducible": [key for key, seen in results.tokens.items() if len(seen) > 1],
        "repeated_settings": sum(1 for count in results.answered.values() if count >= 2),
        "fewest_per_session": min(results.per_session[i] for i in range(sessions)),
        "rss_before_mb": before,
        "rss_after_mb": resident_mb(pid),
        "hung_sessions": sum(worker.is_alive() for worker in workers),
    }


def report(figures: dict) -> str:
    return (
        f"{figures['requests']} requests, {figures['requests_per_s']:.2f}/s, latency p50 {figures['p50_s']:.2f} s, "
        f"p95 {figures['p95_s']:.2f} s; errors {figures['errors'] or 'none'}; "
        f"{len(figures['irreproducible'])} of {figures['repeated_settings']} settings answered twice or more gave "
        f"differing tokens; at least {figures['fewest_per_session']} answers per session; "
        f"resident memory {figures['rss_before_mb']:.0f} -> {figures['rss_after_mb']:.0f} MB; "
        f"hung sessions {figures['hung_sessions']}"
    )


def main() -> None:
    from benchmarks import machine
    from benchmarks.page_latency import launch_app

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=24)
    parser.add_argument("--duration", type=float, default=300)
    parser.add_argument("--max-new-tokens", type=int, default=8)
    args = parser.parse_args()
    print(machine.describe())
    server, url = launch_app()
    try:
        print(report(run_load(url, server.pid, args.sessions, args.duration, args.max_new_tokens)))
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
