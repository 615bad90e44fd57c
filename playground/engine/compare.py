"""Two configurations on the same text: at every step of A's path, A's and B's next-token distributions side by
side (teacher forcing: B reads A's tokens, so both answer the same question at every step), and how far apart
they are.

A and B may differ in any setting, in precision, or be two models sharing a tokenizer. Each side's
distribution is the one it would draw from: after its own processors (for greedy settings, the model's softmax
with any penalties applied).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import torch

from playground.engine.divergence import js_divergence, kl_divergence, total_variation, uncovered_mass
from playground.engine.forward import teacher_forced
from playground.engine.placement import read_values
from playground.engine.processors import apply_stages, build_stages
from playground.engine.stopping import eos_token_ids
from playground.models.device_map import input_device
from playground.settings import Settings, SettingsError
from playground.trace import PairedCandidate, StepDivergence

if TYPE_CHECKING:
    from playground.models import LoadedModel

TOP_N = 10  # each side's most likely tokens shown together at a step
_FIGURES = 8  # the scalar figures at the head of `_step_values`


def distributions(
    loaded: LoadedModel, settings: list[Settings], prompt_ids: list[int], tokens: list[int]
) -> Iterator[tuple[torch.Tensor, ...]]:
    """`loaded`'s distribution before each of `tokens` after `prompt_ids`, under each of `settings`' processors:
    one teacher-forced pass however many settings (they differ only in what is done with the logits).

    Yields:
        per token, one (V,) float32 probability vector per settings, on the model's device.
    """
    device = input_device(loaded.model)
    text = torch.tensor([prompt_ids + tokens], dtype=torch.long, device=device)  # (1, T + n)
    eos = eos_token_ids(loaded.model, loaded.tokenizer)
    stages = [build_stages(s, len(prompt_ids), eos, device) for s in settings]
    for i, logits in enumerate(teacher_forced(loaded.model, text[:, : len(prompt_ids)], tokens)):
        context = text[:, : len(prompt_ids) + i]
        yield tuple(torch.softmax(apply_stages(st, context, logits)[-1][1].float(), dim=-1)[0] for st in stages)


def compare_path(
    a: LoadedModel, a_settings: Settings, b: LoadedModel, b_settings: Settings, prompt_ids: list[int], tokens: list[int]
) -> list[StepDivergence]:
    """A's and B's distributions at every step of the path `tokens` (A's, after `prompt_ids`), compared.

    Raises:
        SettingsError: B does not share A's tokenizer, so the same ids would be different tokens.
    """
    if a is not b and a.tokenizer.get_vocab() != b.tokenizer.get_vocab():
        raise SettingsError("model", f"{b.info.id!r} does not share {a.info.id!r}'s tokenizer: nothing to compare")
    with a.lock, b.lock if b is not a else contextlib.nullcontext():  # a loaded model serves one run at a time
        return _compare(a, a_settings, b, b_settings, prompt_ids, tokens)


def _compare(
    a: LoadedModel, a_settings: Settings, b: LoadedModel, b_settings: Settings, prompt_ids: list[int], tokens: list[int]
) -> list[StepDivergence]:
    rows = []
    decode = functools.cache(lambda i: a.tokenizer.decode([i]))  # a token text repeats across the steps
    if a is b:  # one model: one pass, two sets of processors
        pairs = distributions(a, [a_settings, b_settings], prompt_ids, tokens)
    else:
        a_rows = (p for (p,) in distributions(a, [a_settings], prompt_ids, tokens))
        pairs = zip(a_rows, (q for (q,) in distributions(b, [b_settings], prompt_ids, tokens)), strict=True)
    for index, (token, (p, q)) in enumerate(zip(tokens, pairs, strict=True)):
        p, q = _same_length(p, q.to(p.device))
        (values,) = read_values(_step_values(p, q, token))  # one read from the device per step
        kl, uncovered, js, tv, agree, prob_a, prob_b, rank = values[:_FIGURES]
        ids, probs_a, probs_b = _thirds(values[_FIGURES:])
        rows.append(
            StepDivergence(
                index=index,
                token_id=token,
                kl=kl,
                uncovered=uncovered,
                js=js,
                tv=tv,
                top1_agree=bool(agree),
                prob_a=prob_a,
                prob_b=prob_b,
                rank_b=int(rank),
                candidates=pair_candidates(ids, probs_a, probs_b, decode),
            )
        )
    return rows


def _step_values(p: torch.Tensor, q: torch.Tensor, token: int) -> torch.Tensor:
    """Everything one step records, in one float64 vector so that it is read from the device at once: the
    `_FIGURES` figures, then the candidate ids (exact as float64), p at them, q at them: (8 + 3 * (2n + 1),)."""
    figures = torch.stack(
        [
            kl_divergence(p, q),
            uncovered_mass(p, q),
            js_divergence(p, q),
            total_variation(p, q),
            (torch.argmax(p) == torch.argmax(q)).double(),
            p[token].double(),
            q[token].double(),
            (q > q[token]).sum().double() + 1,  # A's token's rank under B
        ]
    ).double()
    ids = candidate_ids(p, q, token)  # (2n + 1,)
    return torch.cat([figures, ids.double(), p[ids].double(), q[ids].double()])


def _thirds(values: list[float]) -> tuple[list[float], list[float], list[float]]:
    size = len(values) // 3
    return values[:size], values[size : 2 * size], values[2 * size :]


def candidate_ids(p: torch.Tensor, q: torch.Tensor, token: int, n: int = TOP_N) -> torch.Tensor:
    """The ids of p's n most likely tokens, q's n most likely, and `token`, repeats included.

    A side whose filters keep fewer than n tokens fills its top n with arbitrary zero-probability ids: those
    become `token` too. The repeats are dropped after the read (`pair_candidates`): removing them here
    (torch.unique, a boolean mask) would give a tensor whose size depends on the data, and a GPU would stop to
    learn that size before the step's one read.

    Args:
        p, q: (V,) probability vectors on one device.
        token: the id always included (the token A took).
        n: how many of each side's most likely tokens; at most V are taken.

    Returns:
        (2 * min(n, V) + 1,) long ids on p's device.
    """
    n = min(n, p.shape[-1])
    chosen = torch.full((1,), token, dtype=torch.long, device=p.device)
    tops = [torch.topk(side, n) for side in (p, q)]
    return torch.cat([*(torch.where(top.values > 0, top.indices, chosen) for top in tops), chosen])


def pair_candidates(
    ids: list[float], probs_a: list[float], probs_b: list[float], decode: Callable[[int], str]
) -> list[PairedCandidate]:
    """The candidates read for one step, each id once, most likely under either side first (ties by id).

    Args:
        ids: candidate ids as `candidate_ids` gives them (as floats after the read; repeats allowed).
        probs_a, probs_b: A's and B's probability of each of `ids`.
        decode: a token id's text.
    """
    pairs = {int(i): (pa, pb) for i, pa, pb in zip(ids, probs_a, probs_b, strict=True)}
    order = sorted(pairs, key=lambda i: (-max(pairs[i]), i))
    return [PairedCandidate(id=i, text=decode(i), prob_a=pairs[i][0], prob_b=pairs[i][1]) for i in order]


def first_difference(a: list[int], b: list[int]) -> int:
    """How many tokens two texts share before they first differ (the shorter's length if one is the other's
    start)."""
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


def _same_length(p: torch.Tensor, q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    # Two models sharing a tokenizer may pad their vocabularies differently: the padding has probability 0.
    size = max(p.shape[-1], q.shape[-1])
    return torch.nn.functional.pad(p, (0, size - p.shape[-1])), torch.nn.functional.pad(q, (0, size - q.shape[-1]))
