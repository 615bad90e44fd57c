"""Two configurations on the same text: at every step of A's path, A's and B's next-token distributions side by
side (teacher forcing: B reads A's tokens, so both answer the same question at every step), and how far apart
they are.

A and B may differ in any setting, in precision, or be two models sharing a tokenizer. Each side's
distribution is the one it would draw from: after its own processors (for greedy settings, the model's softmax
with any penalties applied), compared as float64 log-probabilities (`divergence`), so that a token B's temperature
makes unlikely stays possible, and one a stage of B's removed is impossible and named with that stage.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import torch

from playground.engine.divergence import (
    js_divergence,
    kl_divergence,
    log_probs,
    ruled_out_token,
    total_variation,
    uncovered_mass,
)
from playground.engine.forward import teacher_forced
from playground.engine.placement import read_values
from playground.engine.processors import after_choice, apply_stages, build_stages, start_stages
from playground.engine.recording import removing_stage
from playground.engine.stopping import eos_token_ids
from playground.models.device_map import input_device
from playground.settings import Settings, SettingsError
from playground.trace import PairedCandidate, StepDivergence

if TYPE_CHECKING:
    from playground.models import LoadedModel

TOP_N = 10  # each side's most likely tokens shown together at a step
_FIGURES = 10  # the scalar figures at the head of `_step_values`
Staged = list[tuple[str, torch.Tensor]]  # [(stage name, (1, V) scores)], "raw" first, as `apply_stages` gives them


def staged_scores(
    loaded: LoadedModel, settings: list[Settings], prompt_ids: list[int], tokens: list[int]
) -> Iterator[tuple[Staged, ...]]:
    """`loaded`'s scores before each of `tokens` after `prompt_ids`, after every stage of each of `settings`'
    processors: one teacher-forced pass however many settings (they differ only in what is done with the logits).

    Yields:
        per token, one `Staged` list per settings, on the model's device: its last entry is what that settings
        would draw from.
    """
    device = input_device(loaded.model)
    text = torch.tensor([prompt_ids + tokens], dtype=torch.long, device=device)  # (1, T + n)
    eos = eos_token_ids(loaded.model, loaded.tokenizer)
    stages = [build_stages(s, len(prompt_ids), eos, device, loaded.tokenizer) for s in settings]
    for st in stages:  # nothing is drawn: a random stage gives the distribution a step samples from on average
        start_stages(st, None)
    for i, logits in enumerate(teacher_forced(loaded.model, text[:, : len(prompt_ids)], tokens)):
        context = text[:, : len(prompt_ids) + i]
        yield tuple(apply_stages(st, context, logits) for st in stages)
        for st in stages:  # a stage that remembers (mirostat's mu) follows the path's tokens
            after_choice(st, text[0, len(prompt_ids) + i : len(prompt_ids) + i + 1])


def distributions(
    loaded: LoadedModel, settings: list[Settings], prompt_ids: list[int], tokens: list[int]
) -> Iterator[tuple[torch.Tensor, ...]]:
    """`staged_scores`' final distributions as probabilities.

    Yields:
        per token, one (V,) float32 probability vector per settings, on the model's device.
    """
    for staged in staged_scores(loaded, settings, prompt_ids, tokens):
        yield tuple(torch.softmax(s[-1][1].float(), dim=-1)[0] for s in staged)


def compare_path(
    a: LoadedModel,
    a_settings: Settings,
    b: LoadedModel,
    b_settings: Settings,
    prompt_ids: list[int],
    tokens: list[int],
    b_prompt_ids: list[int] | None = None,
) -> list[StepDivergence]:
    """A's and B's distributions at every step of the path `tokens` (A's, after `prompt_ids`), compared.

    Args:
        b_prompt_ids: the prompt B reads before A's tokens (a compressed prompt, say); None: A's `prompt_ids`.
            Step i compares p(. | prompt_ids + tokens[:i]) under A with q(. | b_prompt_ids + tokens[:i]) under B.

    Raises:
        SettingsError: B does not share A's tokenizer, so the same ids would be different tokens.
    """
    if a is not b and a.tokenizer.get_vocab() != b.tokenizer.get_vocab():
        raise SettingsError("model", f"{b.info.id!r} does not share {a.info.id!r}'s tokenizer: nothing to compare")
    b_prompt_ids = prompt_ids if b_prompt_ids is None else b_prompt_ids
    with a.lock, b.lock if b is not a else contextlib.nullcontext():  # a loaded model serves one run at a time
        pairs = _paired_scores(a, a_settings, b, b_settings, prompt_ids, b_prompt_ids, tokens)
        return _compare(a, pairs, tokens)


def _paired_scores(
    a: LoadedModel,
    a_settings: Settings,
    b: LoadedModel,
    b_settings: Settings,
    prompt_ids: list[int],
    b_prompt_ids: list[int],
    tokens: list[int],
) -> Iterator[tuple[Staged, Staged]]:
    """A's and B's staged scores before each of `tokens`: one pass where both read the same model and prompt
    (they differ only in their processors), a pass each otherwise."""
    if a is b and list(b_prompt_ids) == list(prompt_ids):
        return staged_scores(a, [a_settings, b_settings], prompt_ids, tokens)
    a_rows = (s for (s,) in staged_scores(a, [a_settings], prompt_ids, tokens))
    return zip(a_rows, (s for (s,) in staged_scores(b, [b_settings], b_prompt_ids, tokens)), strict=True)


def _compare(a: LoadedModel, pairs: Iterator[tuple[Staged, Staged]], tokens: list[int]) -> list[StepDivergence]:
    """The steps' records from A's and B's staged scores before each of `tokens`."""
    decode = functools.cache(lambda i: a.tokenizer.decode([i]))  # a token text repeats across the steps
    rows = []
    for index, (token, (staged_a, staged_b)) in enumerate(zip(tokens, pairs, strict=True)):
        (values,) = read_values(_step_values(staged_a, staged_b, token))  # one read from the device per step
        rows.append(_step_row(index, token, values, [name for name, _ in staged_b], decode))
    return rows


def _step_row(
    index: int, token: int, values: list[float], b_stages: list[str], decode: Callable[[int], str]
) -> StepDivergence:
    """A step's record from the values `_step_values` packed, read to the host."""
    kl, uncovered, js, tv, agree, prob_a, prob_b, rank, removed, stage = values[:_FIGURES]
    ids, probs_a, probs_b = _thirds(values[_FIGURES:])
    return StepDivergence(
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
        removed_id=None if removed < 0 else int(removed),
        removed_text=None if removed < 0 else decode(int(removed)),
        removed_by=None if removed < 0 else b_stages[int(stage)],
    )


def _step_values(staged_a: Staged, staged_b: Staged, token: int) -> torch.Tensor:
    """Everything one step records, in one float64 vector so that it is read from the device at once: the
    `_FIGURES` figures (the last two `ruled_out`'s token and stage), then the candidate ids (exact as float64), p
    at them, q at them: (10 + 3 * (2n + 1),)."""
    device, size = staged_a[-1][1].device, max(staged_a[-1][1].shape[-1], staged_b[-1][1].shape[-1])
    staged_b = [(name, _aligned(scores, size, device)) for name, scores in staged_b]
    logp, logq = log_probs(_aligned(staged_a[-1][1], size, device)[0]), log_probs(staged_b[-1][1][0])  # (V,) each
    p, q = logp.exp(), logq.exp()
    figures = torch.stack(
        [
            kl_divergence(logp, logq),
            uncovered_mass(logp, logq),
            js_divergence(logp, logq),
            total_variation(logp, logq),
            (torch.argmax(logp) == torch.argmax(logq)).double(),
            p[token],
            q[token],
            (logq > logq[token]).sum().double() + 1,  # A's token's rank under B
        ]
    )
    ids = candidate_ids(p, q, token)  # (2n + 1,)
    return torch.cat([figures, ruled_out(logp, staged_b).double(), ids.double(), p[ids], q[ids]])


def ruled_out(logp: torch.Tensor, staged_b: Staged) -> torch.Tensor:
    """Why KL(A || B) is infinite: the token A gives the most probability among those B rules out, and the index
    into `staged_b` of the first of B's stages that gave it a score of -inf.

    Args:
        logp: (V,) A's log-probabilities.
        staged_b: B's stages, (1, V) scores each, on logp's device.

    Returns:
        (2,) long: [token, stage], [-1, -1] where B rules out no token A can take.
    """
    removed = ruled_out_token(logp, log_probs(staged_b[-1][1][0]))  # () long, -1 where none
    stage = removing_stage(staged_b, removed.clamp_min(0).view(1, 1))[0, 0]
    return torch.stack([removed, torch.where(removed < 0, -1, stage)])


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


def _aligned(scores: torch.Tensor, size: int, device: torch.device) -> torch.Tensor:
    """(1, V) scores as (1, size) on `device`: two models sharing a tokenizer may sit on different devices and pad
    their vocabularies differently (the padding can never be taken: -inf)."""
    if scores.device != device:
        scores = scores.to(device)
    if scores.shape[-1] == size:
        return scores
    return torch.nn.functional.pad(scores, (0, size - scores.shape[-1]), value=-math.inf)
