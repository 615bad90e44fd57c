"""Turns the per-stage scores of one decoding step into the trace's `Step` records.

The tensor work (ranking, per-stage probabilities, which stage removed a token, entropy) is batched over
rows and kept as small (B, N) tensors; token texts are looked up only for what ends up in the trace.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch

from playground.engine.placement import read_values
from playground.engine.token_bytes import token_bytes
from playground.stages import FILTERS, HISTORY
from playground.trace import TABLE_TEMPERATURES, Candidate, Chosen, Step


@dataclass
class RowSummary:
    """The top candidates of B rows at one step, read to the host as Python lists. N = candidates kept per row."""

    ids: list[list[int]]  # (B, N) token ids, best first by the model's own distribution (`ranking_scores`)
    logits: list[list[float]]  # (B, N) raw model logits
    probs: dict[str, list[list[float]]]  # stage name -> (B, N) probability after that stage; "final" included
    removed_by: list[list[int]]  # (B, N) index into `stage_names` of the first stage that zeroed it, -1 if none
    stage_names: list[str]
    entropy: list[float]  # (B,) nats, of the final distribution
    varentropy: list[float]  # (B,) nats squared, the variance of the final distribution's surprisal
    raw_moments: list[list[float]]  # (B, 2) entropy and varentropy of the raw distribution, softmax(raw logits)
    kept: list[int]  # (B,) tokens with a probability above 0 in the final distribution
    log_z: list[list[float]]  # (B, len(TABLE_TEMPERATURES)) ln sum_v exp(raw_logit_v / T), `log_normalizers`
    # Columns before `ranked - 1` are the top of the ranking, in order; the ids from column `ranked - 1` on (a
    # chosen token put in the last top slot, forced tokens) may rank anywhere: `tail_ranks` (B, N - ranked + 1)
    # holds their 1-based ranks among all V tokens.
    ranked: int
    tail_ranks: list[list[int]]
    chosen: list[int] | None = None  # (B,) `must_include`, read with the rest: the step's decided tokens
    also: list[Any] = field(default_factory=list)  # the values of `summarize_rows`' `also`, read with the rest

    def rank(self, row: int, column: int) -> int:
        """The 1-based rank of the id in `column` of `row` among all tokens, by `ranking_scores`."""
        if column < self.ranked - 1:
            return column + 1
        return self.tail_ranks[row][column - self.ranked + 1]


def surprisal_moments(scores: torch.Tensor) -> torch.Tensor:
    """Entropy H = sum p (-log p) and varentropy sum p (-log p - H)^2 of softmax(scores) per row, in nats (and
    nats squared): the mean and the variance of the surprisal of a token drawn from the row. A token with p = 0
    (-inf score) contributes nothing. (B, V) -> (B, 2) [entropy, varentropy]

    One log_softmax over the vocabulary serves both; the variance is taken as sum p (s - H)^2, not
    E[s^2] - H^2, which cancels badly when the distribution is nearly sure.
    """
    logp = torch.log_softmax(scores.float(), dim=-1)  # (B, V)
    p = logp.exp()
    surprisal = torch.where(p > 0, -logp, torch.zeros_like(logp))  # (B, V), 0 where p is 0 (not inf * 0)
    h = (p * surprisal).sum(dim=-1, keepdim=True)  # (B, 1)
    varentropy = (p * (surprisal - h).square()).sum(dim=-1, keepdim=True)  # (B, 1)
    return torch.cat([h, varentropy], dim=-1)


def log_normalizers(raw_logits: torch.Tensor, temperatures: tuple[float, ...]) -> torch.Tensor:
    """ln sum_v exp(raw_logit_v / T) over the whole vocabulary, for each T: with a token's raw logit, its exact
    probability at temperature T, exp(logit / T - that), whichever T the run used. (B, V) -> (B, len(temperatures))
    float64.

    Shifted by each row's largest logit, the sum is taken in float32 (as the trace's probabilities are), one T at a
    time so a verify pass's many rows never hold (B, T, V) at once. Each exponent is clamped at -80: below it,
    exp gives subnormal floats, which a CPU computes many times slower, and every such term together moves the
    sum by less than V * e^-80 of its first term, e^0 = 1.
    """
    top = raw_logits.float().max(dim=-1, keepdim=True).values  # (B, 1)
    shifted = raw_logits.float() - top  # (B, V), at most 0
    sums = torch.stack([torch.exp((shifted / t).clamp(min=-80.0)).sum(dim=-1) for t in temperatures], dim=-1)
    scale = torch.tensor(temperatures, dtype=torch.float64, device=top.device)  # (T,)
    return top.double() / scale + sums.double().log()  # (B, T)


def ranking_scores(staged: list[tuple[str, torch.Tensor]]) -> torch.Tensor:
    """Scores of the last stage before any filter, penalties left out: the order in which candidates are
    shown, the model's own (temperature keeps it). (B, V)

    Penalties are left out so the tokens they push down or ban stay among the candidates: a repetition
    penalty's or an n-gram ban's effect is seen on the tokens it touched, which would otherwise drop out.
    """
    ranked = staged[0][1]
    for name, scores in staged:
        if name in FILTERS:
            break
        if name not in HISTORY:
            ranked = scores
    return ranked


def removing_stage(staged: list[tuple[str, torch.Tensor]], ids: torch.Tensor) -> torch.Tensor:
    """(B, N) the index into `staged` of the first stage that gave each of `ids` (B, N) a score of -inf, -1 if
    none did. `torch.where`, not a boolean-mask write: a mask's size depends on the data, which a GPU stops to
    learn."""
    removed_by = torch.full(ids.shape, -1, dtype=torch.long, device=ids.device)
    for index, (_, scores) in enumerate(staged):
        gone = torch.isneginf(scores.gather(-1, ids)) & (removed_by < 0)
        removed_by = torch.where(gone, index, removed_by)
    return removed_by


def tail_ranks(order: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """(B, T) the 1-based ranks by `order` (B, V) of the ids (B, T) in each row, which may sit anywhere."""
    tail = order.gather(-1, ids)  # (B, T)
    return (order[:, None, :] > tail[:, :, None]).sum(dim=-1) + 1  # (B, 1, V) > (B, T, 1) -> (B, T)


def pair_columns(
    order: torch.Tensor, top: torch.Tensor, rows: torch.Tensor, tokens: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The (row, token) pairs laid out as columns: ((B, M) ids, (B, M) their 1-based ranks by `order` (B, V)).

    Column j of row b holds `tokens[j]` where `rows[j]` is b, else the row's best id `top` (B,), whose rank is 1:
    a place that is not the row's own repeats its first column. Each pair is ranked once in its own row, (M, V)
    comparisons rather than (B, M, V): beam search records 2B pairs a step.
    """
    mine = rows[None, :] == torch.arange(order.shape[0], device=order.device)[:, None]  # (B, M)
    ids = torch.where(mine, tokens[None, :], top[:, None])
    own = order[rows]  # (M, V)
    ranks = (own > own.gather(-1, tokens[:, None])).sum(dim=-1) + 1  # (M,)
    return ids, torch.where(mine, ranks[None, :], 1)


def candidate_columns(
    order: torch.Tensor,
    ranked: int,
    must_include: torch.Tensor | None = None,
    extra: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ids a step records in each row: the top `ranked` by `order` (B, V), `must_include` (B,) put in the last
    of them where it is missing, then `extra`'s (row, token) pairs (`pair_columns`). Returns (B, N) ids and
    (B, N - ranked + 1) the 1-based ranks of the ids from column `ranked - 1` on (`RowSummary.tail_ranks`)."""
    ids = torch.topk(order, k=ranked, dim=-1).indices  # (B, ranked)
    best = ids[:, 0].clone()  # (B,) rank 1; kept apart, since `must_include` may replace column 0 when N is 1
    if must_include is not None:
        present = (ids == must_include[:, None]).any(dim=-1)  # (B,)
        ids[:, -1] = torch.where(present, ids[:, -1], must_include)  # not a boolean mask: see `removing_stage`
    ranks = tail_ranks(order, ids[:, ranked - 1 :])  # (B, 1)
    if extra is not None:
        rows, tokens = (t.to(ids.device) for t in extra)
        extra_ids, extra_ranks = pair_columns(order, best, rows, tokens)
        ids, ranks = torch.cat([ids, extra_ids], dim=1), torch.cat([ranks, extra_ranks], dim=1)
    return ids, ranks


def summarize_rows(
    staged: list[tuple[str, torch.Tensor]],
    raw_logits: torch.Tensor,
    top_n: int,
    must_include: torch.Tensor | None = None,
    extra: tuple[torch.Tensor, torch.Tensor] | None = None,
    also: tuple[torch.Tensor, ...] = (),
) -> RowSummary:
    """Keeps the top `top_n` candidates of each row, plus `must_include` (the chosen token) when missing.

    The ranking and gathering run where the scores are (the model's device); the small (B, N) result comes
    to the host in one read (`read_values`), since the trace reads every value of it.

    Args:
        staged: [(stage name, (B, V) scores)] from `apply_stages`, "raw" first.
        raw_logits: (B, V) the model's logits before any processing.
        top_n: candidates per row, ranked by `ranking_scores`.
        must_include: (B,) a token id per row that must appear (it replaces the last candidate if absent);
            read back as `chosen`.
        extra: (rows, tokens), (M,) each: more (row, token) pairs to record after the top `top_n`, each in its
            own row (beam search's continuations, constrained beam search's forced tokens, which may rank
            anywhere); see `pair_columns`.
        also: more tensors the caller needs from this step, read in the same transfer (`RowSummary.also`).
    """
    order = ranking_scores(staged)
    ranked = min(top_n, order.shape[-1])
    ids, ranks = candidate_columns(order, ranked, must_include, extra)
    names = [name for name, _ in staged]
    probs = torch.stack([torch.softmax(scores.float(), dim=-1).gather(-1, ids) for _, scores in staged])  # (S, B, N)
    kept = (~torch.isneginf(staged[-1][1])).sum(dim=-1)  # (B,)
    chosen = () if must_include is None else (must_include,)
    log_z = log_normalizers(raw_logits, TABLE_TEMPERATURES)  # (B, 4)
    # The final and the raw distributions' moments in one batched pass: (2B, V) -> (2B, 2).
    moments = surprisal_moments(torch.cat([staged[-1][1], raw_logits]))
    figures = (moments, ranks, kept, log_z, *chosen, *also)
    values = read_values(ids, removing_stage(staged, ids), raw_logits.float().gather(-1, ids), probs, *figures)
    ids, removed_by, logits, stage_probs, moments, ranks, kept, log_z = values[:8]
    by_stage = dict(zip(names, stage_probs, strict=True))
    by_stage["final"] = by_stage[names[-1]]
    return RowSummary(
        ids=ids,
        logits=logits,
        probs=by_stage,
        removed_by=removed_by,
        stage_names=names,
        entropy=[row[0] for row in moments[: len(ids)]],
        varentropy=[row[1] for row in moments[: len(ids)]],
        raw_moments=moments[len(ids) :],
        kept=kept,
        log_z=log_z,
        ranked=ranked,
        tail_ranks=ranks,
        chosen=values[8] if chosen else None,
        also=values[8 + len(chosen) :],
    )


class TokenTexts:
    """Decodes single tokens once and remembers them: the same few thousand ids recur at every step."""

    def __init__(self, tokenizer) -> None:
        self.tokenizer = tokenizer
        self.known: dict[int, str] = {}
        self.raw: dict[int, str | None] = {}

    def __call__(self, token_ids: list[int]) -> list[str]:
        """The text of each token id, decoded on its own."""
        missing = [i for i in dict.fromkeys(token_ids) if i not in self.known]
        if missing:
            texts = self.tokenizer.batch_decode([[i] for i in missing], skip_special_tokens=False)
            self.known.update(zip(missing, texts, strict=True))
        return [self.known[i] for i in token_ids]

    def bytes_hex(self, token_id: int) -> str | None:
        """Hex of the token's bytes when its text alone is not whole characters, else None (`token_bytes`)."""
        if token_id not in self.raw:
            found = token_bytes(self.tokenizer, token_id, self([token_id])[0])
            self.raw[token_id] = None if found is None else found.hex()
        return self.raw[token_id]


def to_step(
    index: int,
    summary: RowSummary,
    row: int,
    chosen_id: int,
    texts: TokenTexts,
    top_n: int,
) -> Step:
    """The trace Step for row `row` of a summary, with `chosen_id` as the decided token."""
    ids = summary.ids[row]
    keep = ids[:top_n]
    if chosen_id not in keep:
        keep[-1] = chosen_id
    columns = [ids.index(i) for i in keep]
    stage_probs = {name: p[row] for name, p in summary.probs.items()}
    logits = summary.logits[row]
    removed = summary.removed_by[row]
    words = texts(keep)
    candidates = [
        Candidate(
            id=token,
            text=word,
            logit=_finite(logits[col]),
            probs={name: values[col] for name, values in stage_probs.items()},
            removed_by=None if removed[col] < 0 else summary.stage_names[removed[col]],
            bytes=texts.bytes_hex(token),
        )
        for token, word, col in zip(keep, words, columns, strict=True)
    ]
    chosen_col = columns[keep.index(chosen_id)]
    return Step(
        index=index,
        chosen=Chosen(
            id=chosen_id,
            text=words[keep.index(chosen_id)],
            prob=stage_probs["final"][chosen_col],
            bytes=texts.bytes_hex(chosen_id),
            rank=summary.rank(row, chosen_col),
        ),
        # -sum p log p rounds to a hair below 0 for a sure step; "-0.00 nats" reads as an error.
        entropy=max(0.0, summary.entropy[row]),
        varentropy=max(0.0, summary.varentropy[row]),
        raw_entropy=max(0.0, summary.raw_moments[row][0]),
        raw_varentropy=max(0.0, summary.raw_moments[row][1]),
        candidates=candidates,
        kept=summary.kept[row],
        log_z={f"{t:g}": value for t, value in zip(TABLE_TEMPERATURES, summary.log_z[row], strict=True)},
    )


def _finite(value: float) -> float:
    # JSON has no -inf; a raw logit is finite for real models, but keep the trace valid regardless.
    return value if math.isfinite(value) else -1e30
