"""Two configurations on the same text: at every step of A's path, A's and B's next-token distributions side by
side (teacher forcing: B reads A's tokens, so both answer the same question at every step), and how far apart
they are.

A and B may differ in any setting, in precision, or be two models sharing a tokenizer. Each side's
distribution is the one it would draw from: after its own processors (for greedy settings, the model's softmax
with any penalties applied).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

import torch

from playground.engine.divergence import js_divergence, kl_divergence, total_variation, uncovered_mass
from playground.engine.forward import teacher_forced
from playground.engine.processors import apply_stages, build_stages
from playground.engine.stopping import eos_token_ids
from playground.settings import Settings, SettingsError
from playground.trace import StepDivergence

if TYPE_CHECKING:
    from playground.models import LoadedModel


def distributions(
    loaded: LoadedModel, settings: list[Settings], prompt_ids: list[int], tokens: list[int]
) -> Iterator[tuple[torch.Tensor, ...]]:
    """`loaded`'s distribution before each of `tokens` after `prompt_ids`, under each of `settings`' processors:
    one teacher-forced pass however many settings (they differ only in what is done with the logits).

    Yields:
        per token, one (V,) float32 probability vector per settings, on the model's device.
    """
    device = loaded.model.device
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
    if a is b:  # one model: one pass, two sets of processors
        pairs = distributions(a, [a_settings, b_settings], prompt_ids, tokens)
    else:
        a_rows = (p for (p,) in distributions(a, [a_settings], prompt_ids, tokens))
        pairs = zip(a_rows, (q for (q,) in distributions(b, [b_settings], prompt_ids, tokens)), strict=True)
    for index, (token, (p, q)) in enumerate(zip(tokens, pairs, strict=True)):
        p, q = _same_length(p, q.to(p.device))
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
        )
        kl, uncovered, js, tv, agree, prob_a, prob_b, rank = figures.tolist()  # one read from the device per step
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
            )
        )
    return rows


def first_difference(a: list[int], b: list[int]) -> int:
    """How many tokens two texts share before they first differ (the shorter's length if one is the other's
    start)."""
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


def _same_length(p: torch.Tensor, q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    # Two models sharing a tokenizer may pad their vocabularies differently: the padding has probability 0.
    size = max(p.shape[-1], q.shape[-1])
    return torch.nn.functional.pad(p, (0, size - p.shape[-1])), torch.nn.functional.pad(q, (0, size - q.shape[-1]))
