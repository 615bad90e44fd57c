"""How predictable each token of a prompt was to the model: one teacher-forced pass over the prompt gives, for
every token after the first, its probability, its rank among all tokens and the entropy and varentropy of the
distribution it was read from, given the tokens before it. The model's own distribution (temperature 1, no
sampling stage): a prompt is read, not sampled. Run on demand, never by Generate."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from playground.engine.forward import teacher_forced
from playground.engine.placement import read_values
from playground.engine.recording import TokenTexts, surprisal_moments
from playground.models import LoadedModel
from playground.models.device_map import input_device


@dataclass(frozen=True)
class TokenFigures:
    """One prompt token as the model read it. The first token has no context: its figures are None."""

    id: int
    text: str
    bytes: str | None  # hex of its bytes when its text alone is not whole characters (`TokenTexts.bytes_hex`)
    prob: float | None = None  # its probability given the tokens before it
    rank: int | None = None  # 1-based, among all V tokens by the model's logits
    entropy: float | None = None  # nats, of the distribution it was read from
    varentropy: float | None = None  # nats squared, the variance of that distribution's surprisal


def token_figures(logits: torch.Tensor, token: int) -> torch.Tensor:
    """[prob, rank, entropy, varentropy] of `token` under softmax(logits) (V,): the row is read once, on its
    device. (V,) -> (4,) float32"""
    logp = torch.log_softmax(logits.float(), dim=-1)  # (V,)
    rank = (logits > logits[token]).sum() + 1  # ties share the better rank, as `tail_ranks` counts them
    moments = surprisal_moments(logits[None])[0]  # (2,)
    return torch.stack([logp[token].exp(), rank.float(), moments[0].clamp(min=0), moments[1].clamp(min=0)])


def prompt_figures(loaded: LoadedModel, token_ids: list[int]) -> list[TokenFigures]:
    """Every prompt token's figures given the tokens before it (`TokenFigures`), from one teacher-forced pass
    (`forward.teacher_forced`, in chunks); the values come to the host in one read. Holds the model's lock."""
    texts = TokenTexts(loaded.tokenizer)
    words = texts(token_ids)
    head = [TokenFigures(token_ids[0], words[0], texts.bytes_hex(token_ids[0]))] if token_ids else []
    if len(token_ids) < 2:
        return head
    with loaded.lock:
        first = torch.tensor([token_ids[:1]], dtype=torch.long, device=input_device(loaded.model))  # (1, 1)
        rows = [
            token_figures(logits[0], token)
            for logits, token in zip(teacher_forced(loaded.model, first, token_ids[1:]), token_ids[1:], strict=True)
        ]
        values = read_values(torch.stack(rows))[0]  # (T - 1, 4)
    return head + [
        TokenFigures(token, word, texts.bytes_hex(token), prob, int(rank), entropy, varentropy)
        for token, word, (prob, rank, entropy, varentropy) in zip(token_ids[1:], words[1:], values, strict=True)
    ]
