"""What a target pass costs against the tokens it feeds, and the draft length or tree size that pays most for it.

c(k) is the time of one pass over k new tokens, in one-token passes (c(1) = 1). A round that feeds k tokens and
emits E of them on average goes E / c(k) times as fast as plain decoding, so the best round maximises that ratio,
not E alone. On a CPU at nf4, bitsandbytes' kernel decodes the 4-bit weights again for more input tokens, so c(k)
climbs (about 1.5 at k = 5-8 and 2 at 16 on a 2-core CPU); at bf16 it stays near 1.2, on a GPU near 1.

`curve` below is c(k) as a list: curve[k - 1] = c(k), so curve[g] is the cost of a pass over g + 1 tokens, the
text's last token and g draft tokens.
"""

from __future__ import annotations

import math
import threading
import time

import torch
from transformers import PreTrainedModel

from playground.engine.forward import forward_tokens, new_cache, prefill, rollback
from playground.engine.speculative.draft_tree import best_tree, expected_length
from playground.models.device_map import input_device

MOST = 16  # the longest pass measured: 16 new tokens
# The pass sizes timed, the rest interpolated. issue 27 measured bitsandbytes' CPU kernel at nf4 cost in steps of
# four input tokens (flat from 4m + 1 to 4m + 4), while at one thread it grows about evenly: timing both ends of
# the first groups (4 | 5, 8 | 9) and interpolating linearly between timed sizes is right for either shape where
# the choice of a round's size mostly falls (trees of 4 or so, chains of a few tokens), and costs about 12
# one-token passes instead of the 26 of timing every k.
TIMED = (1, 2, 4, 5, 8, 9, 12, 16)
REPEATS = 3  # timings per size; the least is kept, as noise on a shared machine only ever adds time
# A further repeat starts only if it would end within this many seconds of the start (the prefill included). On
# a 2-core CPU at nf4 the prefill of ~100 tokens and one repeat take about that long: one repeat there, all of
# them on a GPU.
BUDGET_S = 0.6


def timed_sizes(most: int) -> list[int]:
    """The pass sizes `measure_cost_curve` times for c(1..most): those of TIMED below `most`, and `most`."""
    return [k for k in TIMED if k < most] + [most]


def curve_from_times(times: dict[int, float], most: int) -> list[float]:
    """c(k) for k = 1..most from the least seconds measured at some sizes (which include 1 and `most`).

    A pass over more tokens never costs less, so the time at a timed k is at most the least time at any timed
    j >= k: that bound irons out a timing that noise inflated. Sizes between two timed ones are interpolated
    linearly. The result is non-decreasing, divided by the time of one token so that c(1) = 1.
    """
    if 1 not in times or most not in times:
        raise ValueError(f"the times must include sizes 1 and {most}, got {sorted(times)}")
    timed = sorted(k for k in times if k <= most)
    bounded = [min(t for j, t in times.items() if j >= k) for k in timed]
    seconds = interpolate(list(range(1, most + 1)), timed, bounded)
    # k one-token passes would feed the same k tokens: a pass over k costing more than that is noise (a slow
    # moment while it was timed), never the kernel, and is capped there.
    return [min(s / seconds[0], float(k)) for k, s in enumerate(seconds, start=1)]


def interpolate(points: list[int], known: list[int], values: list[float]) -> list[float]:
    """`values` (given at the ascending sizes `known`) at each of `points`, linear between known neighbours."""
    out = []
    for k in points:
        right = next(i for i, j in enumerate(known) if j >= k)
        if known[right] == k:
            out.append(values[right])
        else:
            a, b = known[right - 1], known[right]
            out.append(values[right - 1] + (values[right] - values[right - 1]) * (k - a) / (b - a))
    return out


def clock(device: torch.device) -> float:
    """The time now, after the GPU's queued work (CUDA runs asynchronously: the clock would stop too early)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


def _time_pass(model: PreTrainedModel, tokens: list[int], cache, length: int, device: torch.device) -> float:
    """Seconds of one pass over `tokens` after the `length` cached ones; the cache is rolled back after it."""
    started = clock(device)
    forward_tokens(model, tokens, cache)
    seconds = clock(device) - started
    rollback(cache, length)
    return seconds


def measure_cost_curve(model: PreTrainedModel, context_ids: list[int], most: int = MOST) -> list[float]:
    """c(k) for k = 1..most, in one-token passes (the first is 1.0), measured on `model` after `context_ids`
    (`pass_times`, then `curve_from_times`).

    Args:
        context_ids: the text the passes follow (its length sets the attention's cost); at least one token.
        most: the largest pass measured.
    """
    return curve_from_times(pass_times(model, context_ids, most), most)


def implausible(times: dict[int, float]) -> bool:
    """Some pass over k tokens took longer than k one-token passes: a slow moment spoiled the timing."""
    return any(seconds > k * times[1] for k, seconds in times.items())


@torch.no_grad()
def pass_times(model: PreTrainedModel, context_ids: list[int], most: int = MOST) -> dict[int, float]:
    """The least seconds of one pass at each of `timed_sizes(most)` after `context_ids`.

    The context is prefilled once; then, `REPEATS` times (fewer where a repeat would end past `BUDGET_S` and the
    times so far are plausible), one pass at each size, in turn so that a slow moment hits every size alike, each
    rolled back. One repeat costs about 12 one-token passes at nf4 (0.4 s for the 135M model on a 2-core CPU),
    the prefill of 100 tokens about a third of that.
    """
    if not context_ids or most < 1:
        raise ValueError(f"measure_cost_curve needs a context and most >= 1, got {len(context_ids)} tokens, {most}")
    started = time.perf_counter()
    device = input_device(model)
    cache = new_cache(model)
    prefill(model, torch.tensor([context_ids], device=device), cache)
    length = len(context_ids)
    filler = context_ids[-1]  # which token is fed does not change the cost
    _time_pass(model, [filler], cache, length, device)  # a first pass warms caches and allocators: not counted
    times = {k: math.inf for k in timed_sizes(most)}
    for _ in range(REPEATS):
        repeat_started = time.perf_counter()
        for k in times:
            times[k] = min(times[k], _time_pass(model, [filler] * k, cache, length, device))
        now = time.perf_counter()
        if now + (now - repeat_started) - started > BUDGET_S and not implausible(times):
            break  # the next repeat would end past the budget, and this one looks right
    return times


SETTLE = 3  # measurements a model's curve takes its least times from, one per run, before it is kept as it is
_times: dict[tuple[str, str, str], tuple[int, dict[int, float]]] = {}  # key -> (measurements, least times)
_curves_lock = threading.Lock()


def cost_curve(loaded, context_ids: list[int]) -> list[float]:
    """c(k) for k = 1..MOST of a loaded model, per model id, precision and device: the first `SETTLE` calls each
    time the passes again (at their own context) and keep each size's least time over all of them, as a slow
    moment only ever adds time; later calls reuse the settled curve. Call it while holding the model (a run holds
    `loaded.lock`), so no other pass shares the processor with the timing.

    Args:
        loaded: a LoadedModel.
        context_ids: the run's text so far (the prompt, say).
    """
    key = (loaded.info.id, loaded.info.precision, loaded.info.device)
    with _curves_lock:
        count, least = _times.get(key, (0, {}))
        if count < SETTLE:
            fresh = pass_times(loaded.model, context_ids)
            least = {k: min(seconds, least.get(k, math.inf)) for k, seconds in fresh.items()}
            _times[key] = count + 1, least
        return curve_from_times(least, MOST)


def clear_cost_curves() -> None:
    """Forgets every measured curve (tests; a model reloaded on other hardware)."""
    with _curves_lock:
        _times.clear()


def chain_expected_tokens(accept: list[float], g: int) -> float:
    """Tokens a round of `g` draft tokens emits on average: 1 (the target's own) plus, for each draft token j,
    the chance that it and every one before it are accepted, accept[0] * ... * accept[j]."""
    return 1.0 + sum(math.prod(accept[: j + 1]) for j in range(g))


def best_chain_length(curve: list[float], accept: list[float]) -> int:
    """The number of draft tokens g that makes a chain round pay most: the g in 0..min(len(accept),
    len(curve) - 1) with the largest expected tokens per unit of cost, E(g) / curve[g] (a pass over g + 1
    tokens). 0 means a plain step is best; of equally good lengths, the shortest.

    Args:
        curve: c(k) for k = 1, 2, ... (curve[0] = 1).
        accept: accept[j], the chance draft token j is accepted given the ones before it were.
    """
    longest = min(len(accept), len(curve) - 1)
    best, best_rate = 0, 1.0 / curve[0]
    for g in range(1, longest + 1):
        rate = chain_expected_tokens(accept, g) / curve[g]
        if rate > best_rate:
            best, best_rate = g, rate
    return best


def best_tree_size(curve: list[float], hit_rates: list[list[float]], most: int) -> int:
    """The number of guesses N for Medusa heads that makes a round pay most: the N in 0..most (and at most
    len(curve) - 1) with the largest expected tokens per unit of cost, expected_length(best_tree(hit_rates,
    N + 1)) / curve[N]: the tree has N + 1 nodes, the root (the text's last token) and N guesses, all fed in one
    pass. 0 means a plain step is best; of equally good sizes, the smallest.

    Args:
        curve: c(k) for k = 1, 2, ...
        hit_rates: hit_rates[k][r], the chance head k's rank-r guess is right (the heads' card).
    """
    best, best_rate = 0, 1.0 / curve[0]
    for guesses in range(1, min(most, len(curve) - 1) + 1):
        tree = best_tree(hit_rates, guesses + 1)
        # A tree can come out smaller when the heads have fewer guesses: its pass is priced at its real size.
        rate = expected_length(tree, hit_rates) / curve[tree.size - 1]
        if rate > best_rate:
            best, best_rate = guesses, rate
    return best
