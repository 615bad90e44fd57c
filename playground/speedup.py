"""Measure speed-up's arithmetic: in which order the timings run, how they pair up, and the median speed-up with
its range, as the status line and the Draft acceptance tab say it.

One timing on a busy machine can be far off (the same draft read 0.80x and 1.19x on two runs), so plain and
speculative decoding are timed alternately, a few times each: a moment when the machine is slow then slows both
sides of a pair, and the median of the pairs' ratios ignores the odd one out.
"""

from __future__ import annotations

import statistics

from playground.trace import Speculative, SpeedupPair

SPECULATIVE, PLAIN = "speculative", "plain"


def timing_order(pairs: int) -> list[str]:
    """The decoding passes of `pairs` pairs in the order they run: speculative, plain, speculative, plain, ...
    (the run itself is the first speculative one)."""
    return [SPECULATIVE, PLAIN] * pairs


def pair_up(rates: list[float]) -> list[SpeedupPair]:
    """Tokens per second in `timing_order` as pairs (speculative, plain); a last speculative rate without its
    plain one (the run was stopped) is dropped."""
    return [SpeedupPair(rates[i], rates[i + 1]) for i in range(0, len(rates) - 1, 2)]


def median_range(pairs: list[SpeedupPair]) -> tuple[float, float, float]:
    """The pairs' speed-ups as (median, lowest, highest); `pairs` must not be empty."""
    ratios = [pair.speedup for pair in pairs]
    return statistics.median(ratios), min(ratios), max(ratios)


def speedup_text(spec: Speculative) -> str:
    """The measured speed-up in words: "1.05×, 0.98-1.12× over 3 pairs"; "1.19×" for a trace from before pairs
    (one reading), "" when none was measured."""
    if spec.speedup_pairs:
        median, low, high = median_range(spec.speedup_pairs)
        count = len(spec.speedup_pairs)
        if count == 1:
            return f"{median:.2f}× over 1 pair"
        return f"{median:.2f}×, {low:.2f}-{high:.2f}× over {count} pairs"
    return f"{spec.speedup:.2f}×" if spec.speedup else ""
