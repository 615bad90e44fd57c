"""The arithmetic of beam search, as pure functions over small tensors (one prompt, B beams, K candidates).

They follow transformers' vectorized beam search step for step (same operations, same order, same -1e9
masking), so a run picks exactly the sequences `generate(num_beams=B)` picks. Each works on whatever device its
inputs are on, and makes its new tensors there.
"""

from __future__ import annotations

import torch

NEG = -1.0e9  # "impossible" score, as in transformers; finite so that sums stay ordered


def num_candidates(num_beams: int, num_eos: int) -> int:
    """Candidates kept per step: enough that num_beams survive even if every EOS is among them."""
    return max(2, 1 + num_eos) * num_beams


def length_penalized(cum_logprob: torch.Tensor | float, length: int, length_penalty: float):
    """A hypothesis' score: cumulative log-probability / length ** length_penalty."""
    return cum_logprob / (length**length_penalty)


def top_continuations(
    log_probs: torch.Tensor, running_scores: torch.Tensor, k: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The k best (beam, token) extensions by cumulative log-probability.

    Args:
        log_probs: (B, V) processed next-token log-probabilities of each running beam.
        running_scores: (B,) cumulative log-probability of each running beam.
        k: how many to keep.

    Returns:
        scores (k,) cumulative log-probabilities, best first; beams (k,) source beam; tokens (k,) token id.
    """
    vocab = log_probs.shape[-1]
    accumulated = (log_probs + running_scores[:, None]).reshape(1, -1)  # (1, B * V)
    scores, flat = torch.topk(accumulated, k=k)
    return scores[0], flat[0] // vocab, flat[0] % vocab


def select_running(scores: torch.Tensor, hits_stop: torch.Tensor, num_beams: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The num_beams best candidates that did not stop, and their scores (stopped ones sink by 1e9).

    Args:
        scores: (K,) cumulative log-probabilities, best first.
        hits_stop: (K,) bool, the candidate ends its sequence (EOS, stop string, length or time).
    """
    masked = scores + hits_stop.to(torch.float32) * NEG
    picked = torch.topk(masked, k=num_beams).indices
    return picked, masked[picked]


def update_finished(
    finished_scores: torch.Tensor,
    finished_filled: torch.Tensor,
    scores: torch.Tensor,
    hits_stop: torch.Tensor,
    length: int,
    length_penalty: float,
    early_stopping: bool | str,
    improvable: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Merges this step's finished candidates into the bank of the num_beams best finished hypotheses.

    Only candidates among the top num_beams may finish; the rest of the K exist to keep enough beams alive.

    Args:
        finished_scores: (B,) length-penalized scores in the bank (NEG where empty).
        finished_filled: (B,) bool, the slot holds a hypothesis.
        scores: (K,) cumulative log-probabilities of this step's candidates, best first.
        hits_stop: (K,) bool.
        length: generated length of the candidates (this step's index + 1).
        early_stopping: True stops adding once the bank is full.
        improvable: the early-stop heuristic still allows improvement.

    Returns:
        picked (B,) indices into [bank (B) ; candidates (K)], their scores (B,), filled (B,), and
        just_finished (K,) bool.
    """
    num_beams = finished_scores.shape[0]
    just_finished = hits_stop & (torch.arange(scores.shape[0], device=scores.device) < num_beams)
    penalized = length_penalized(scores, length, length_penalty)
    bank_full = bool(finished_filled.all()) and early_stopping is True
    penalized = penalized + float(bank_full) * NEG
    penalized = penalized + float(not improvable) * NEG
    penalized = penalized + (~just_finished).to(torch.float32) * NEG
    merged = torch.cat([finished_scores, penalized])
    picked = torch.topk(merged, k=num_beams).indices
    return (
        picked,
        merged[picked],
        torch.cat([finished_filled, just_finished])[picked],
        just_finished,
    )


def still_improvable(
    improvable: bool,
    best_running: torch.Tensor,
    finished_scores: torch.Tensor,
    finished_filled: torch.Tensor,
    length: int,
    max_new_tokens: int,
    early_stopping: bool | str,
    length_penalty: float,
) -> bool:
    """transformers' early-stop heuristic: could the best running beam still beat the worst finished one?

    Args:
        best_running: () cumulative log-probability of the best running beam.
        length: tokens generated so far.
    """
    if early_stopping == "never" and length_penalty > 0.0:
        best_length = max_new_tokens  # a positive penalty favours length: assume the longest possible
    else:
        best_length = length
    best_possible = best_running / (best_length**length_penalty)
    worst = torch.where(finished_filled, finished_scores.min(), torch.tensor(NEG, device=finished_scores.device))
    return improvable and bool(torch.any(best_possible > worst))


def should_continue(
    improvable: bool,
    finished_filled: torch.Tensor,
    hits_stop: torch.Tensor,
    early_stopping: bool | str,
) -> bool:
    """Beam search goes on while improvement is possible, the bank is open, and some beam can continue."""
    bank_closed = bool(finished_filled.all()) and early_stopping is True
    return improvable and not bank_closed and not bool(hits_stop.all())


def candidate_statuses(
    picked: torch.Tensor, hits_stop: torch.Tensor, banked: torch.Tensor, just_finished: torch.Tensor
) -> list[str]:
    """The fate of each of a step's K candidates, as the beam tree records it: "finished" if it finished and
    entered the bank, "kept" if it runs on, else "pruned".

    Args:
        picked: (B,) indices of the candidates that run on (`select_running`); B is the bank's size too.
        hits_stop: (K,) bool, the candidate ends its sequence.
        banked, just_finished: `update_finished`'s (B,) indices into [bank (B) ; candidates (K)] and (K,) bool.
    """
    num_beams = picked.shape[0]
    kept = set(picked.tolist())
    entered_bank = {i - num_beams for i in banked.tolist() if i >= num_beams}
    statuses = []
    for i, (finished, stops) in enumerate(zip(just_finished.tolist(), hits_stop.tolist(), strict=True)):
        if finished and i in entered_bank:
            statuses.append("finished")
        elif i in kept and not stops:
            statuses.append("kept")
        else:
            statuses.append("pruned")
    return statuses


def allocate_by_bank(scores: torch.Tensor, banks: torch.Tensor, num_beams: int) -> torch.Tensor:
    """Dynamic beam allocation (Post & Vilar 2018) as transformers 4.x ordered it: candidates are ranked by
    score within their bank (constraint progress), then taken round-robin across banks, most progress first:
    the best of every bank, then the second best of every bank, ... until num_beams are chosen.

    Args:
        scores: (K,) cumulative log-probabilities of the candidates.
        banks: (K,) integer constraint progress of each candidate.
        num_beams: how many to choose.

    Returns:
        (min(num_beams, K),) candidate indices, in the order chosen.
    """
    by_bank = sorted(range(len(scores)), key=lambda i: (-int(banks[i]), -float(scores[i])))
    rank: dict[int, int] = {}
    seen: dict[int, int] = {}
    for i in by_bank:
        b = int(banks[i])
        rank[i] = seen.get(b, 0)
        seen[b] = rank[i] + 1
    order = sorted(by_bank, key=lambda i: (rank[i], -int(banks[i])))
    return torch.tensor(order[:num_beams], dtype=torch.long, device=scores.device)


def add_finished(
    finished_scores: torch.Tensor, finished_filled: torch.Tensor, score: float
) -> tuple[int | None, torch.Tensor, torch.Tensor]:
    """Puts one finished hypothesis into a bank of the best B: an empty slot, else the worst if it is worse.

    Args:
        finished_scores: (B,) length-penalized scores (NEG where empty).
        finished_filled: (B,) bool.
        score: the newcomer's length-penalized score.

    Returns:
        the slot it took (None if it did not enter), and the updated scores and filled flags (new tensors).
    """
    scores, filled = finished_scores.clone(), finished_filled.clone()
    empty = (~filled).nonzero()
    if len(empty):
        slot = int(empty[0])
    else:
        slot = int(torch.argmin(scores))
        if score <= float(scores[slot]):
            return None, scores, filled
    scores[slot], filled[slot] = score, True
    return slot, scores, filled
