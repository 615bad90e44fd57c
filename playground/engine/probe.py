"""The token probe: at every step of a run, the probability a token the user names had after each of the run's
stages, over the full vocabulary (the trace keeps only each step's top candidates), its rank, and for a word of
several tokens the chain-rule probability of the whole word starting at that step.

The run's text is read by teacher forcing with the run's stages applied as Compare applies them
(`compare.staged_scores`). A word's later tokens need positions the text never had (step i's prefix followed by
the word's first tokens): they are read in one batched pass over the text's cache, each step's branch seeing only
its own prefix and itself (a block-diagonal mask, as a draft tree is verified).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from transformers import PreTrainedModel

from playground.engine.compare import Staged, staged_scores
from playground.engine.divergence import log_probs
from playground.engine.forward import new_cache, prefill, rollback
from playground.engine.placement import read_values
from playground.engine.processors import after_choice, apply_stages_rows, build_stages, start_stages
from playground.engine.stopping import eos_token_ids
from playground.models.device_map import input_device
from playground.settings import Settings, SettingsError
from playground.trace import Probe, ProbeStep

if TYPE_CHECKING:
    from playground.models import LoadedModel

BRANCHES = 64  # steps whose word branches share one pass: bounds the (BRANCHES * (m - 1), V) logits held at once
MAX_WORD_TOKENS = 8  # a longer "word" is a phrase: its chain of passes is not what the probe is for


def probe_tokens(tokenizer, query: str, space: bool = True) -> tuple[str, list[int], str]:
    """What a typed query probes: (form, token ids, note).

    A whole number is a token id. Other text is a word: inside a sentence a word follows a space, and most
    tokenizers give " word" tokens of its own, so the space is added unless `space` is False or the text already
    starts with whitespace; the note says which form was probed and how the other form splits.

    Raises:
        SettingsError: an empty query, an id outside the vocabulary, or a word of more than MAX_WORD_TOKENS tokens.
    """
    text = query.strip()
    if not text:
        raise SettingsError("probe", "type a word or a token id to probe")
    if text.isdigit():
        token = int(text)
        if token >= len(tokenizer):
            raise SettingsError("probe", f"token id {token} is outside the vocabulary (0 to {len(tokenizer) - 1})")
        shown = tokenizer.decode([token])
        return shown, [token], f"token id {token} ({shown!r})"
    form = query if not space or query[:1].isspace() else " " + text
    ids = _encode(tokenizer, form)
    if len(ids) > MAX_WORD_TOKENS:
        raise SettingsError("probe", f"{form!r} is {len(ids)} tokens: probe a word of at most {MAX_WORD_TOKENS}")
    other = text if form[:1].isspace() else " " + text
    return form, ids, f"probed {form!r} ({_count(ids)}); {other!r} would be {_count(_encode(tokenizer, other))}"


def _encode(tokenizer, text: str) -> list[int]:
    return tokenizer.encode(text, add_special_tokens=False)


def _count(ids: list[int]) -> str:
    return "1 token" if len(ids) == 1 else f"{len(ids)} tokens"


def probe(
    loaded: LoadedModel, settings: Settings, prompt_ids: list[int], tokens: list[int], query: str, space: bool = True
) -> Probe:
    """Probes `query` (a word or a token id, `probe_tokens`) at every step of the path `tokens` after
    `prompt_ids`, under `settings`' stages."""
    form, ids, note = probe_tokens(loaded.tokenizer, query, space)
    pieces = [loaded.tokenizer.decode([i]) for i in ids]
    return Probe(query, form, ids, pieces, note, probe_path(loaded, settings, prompt_ids, tokens, ids))


def probe_path(
    loaded: LoadedModel, settings: Settings, prompt_ids: list[int], tokens: list[int], word: list[int]
) -> list[ProbeStep]:
    """The token (or word) `word` at every step of the path `tokens` after `prompt_ids`, under `settings`' stages.

    The word's later tokens are scored by the same stages, each position with its own past (the step's prefix and
    the word's tokens before it); a stage that remembers (mirostat's mu) stays as it was at the step.

    Returns:
        one ProbeStep per token of `tokens`.
    """
    if not word:
        raise SettingsError("probe", "the word has no tokens")
    if not tokens:
        return []  # a run that made no token has no step to probe
    with loaded.lock:  # a loaded model serves one run at a time
        later = word_logits(loaded.model, prompt_ids, tokens, word) if len(word) > 1 else None
        follow = _stages(loaded, settings, prompt_ids)
        rows = []
        read = staged_scores(loaded, [settings], prompt_ids, tokens)
        for i, ((staged,), token) in enumerate(zip(read, tokens, strict=True)):
            rest = None
            if later is not None:
                pasts = [prompt_ids + tokens[:i] + word[: j + 1] for j in range(len(word) - 1)]
                rest = apply_stages_rows(follow, pasts, later[i])
            (values,) = read_values(step_values(staged, rest, word, token))
            rows.append(_row(i, token, [name for name, _ in staged], values, rest is not None))
            after_choice(follow, torch.tensor([token], device=staged[0][1].device))
        return rows


def _stages(loaded: LoadedModel, settings: Settings, prompt_ids: list[int]) -> list:
    """A second set of the run's stages for the word's later positions, kept in step with `staged_scores`' own."""
    device = input_device(loaded.model)
    stages = build_stages(settings, len(prompt_ids), eos_token_ids(loaded.model, loaded.tokenizer), device,
                          loaded.tokenizer)  # fmt: skip
    start_stages(stages, None)
    return stages


def step_values(staged: Staged, rest: Staged | None, word: list[int], token: int) -> torch.Tensor:
    """One step's figures in one float64 vector, read from the device at once: per stage (S of them) the word's
    first token's probability and rank, the run's token's final probability, then with `rest` the word's
    chain-rule probability per stage.

    Args:
        staged: [(stage, (1, V) scores)] before the step's token.
        rest: [(stage, (m - 1, V) scores)] before each of the word's later tokens, or None for one token.

    Returns:
        (2 S + 1,) or (3 S + 1,) float64.
    """
    first = word[0]
    logp = [log_probs(scores[0]) for _, scores in staged]  # S of (V,)
    probs = torch.stack([lp[first].exp() for lp in logp])
    ranks = torch.stack([(lp > lp[first]).sum().double() + 1 for lp in logp])
    parts = [probs, ranks, logp[-1][token].exp().view(1)]
    if rest is not None:
        targets = torch.tensor(word[1:], device=staged[0][1].device)[:, None]  # (m - 1, 1)
        chains = [lp[first] + log_probs(s).gather(1, targets).sum() for lp, (_, s) in zip(logp, rest, strict=True)]
        parts.append(torch.stack(chains).exp())
    return torch.cat([p.double() for p in parts])


def _row(index: int, token: int, stages: list[str], values: list[float], chained: bool) -> ProbeStep:
    """A step's record from `step_values`' vector, read to the host."""
    size = len(stages)
    return ProbeStep(
        index=index,
        chosen_id=token,
        chosen_prob=values[2 * size],
        probs=dict(zip(stages, values[:size], strict=True)),
        ranks={name: int(r) for name, r in zip(stages, values[size : 2 * size], strict=True)},
        word_probs=dict(zip(stages, values[2 * size + 1 :], strict=True)) if chained else None,
    )


@torch.no_grad()
def word_logits(model: PreTrainedModel, prompt_ids: list[int], tokens: list[int], word: list[int]) -> torch.Tensor:
    """The model's logits for the word's later tokens after every step's prefix.

    Row i, j is the model's next-token logits after prompt_ids + tokens[:i] + word[: j + 1]: what predicts
    word[j + 1] when the word starts at step i. The text is cached once; each pass feeds up to BRANCHES steps'
    branches (word[:-1] each), every branch seeing its own prefix of the cache and its own earlier tokens.

    Returns:
        (len(tokens), len(word) - 1, V) float32 logits on the model's input device.
    """
    device, k = input_device(model), len(word) - 1
    cache = new_cache(model)
    text = prompt_ids + tokens[:-1]  # the last step's branch sees everything but the last token
    prefill(model, torch.tensor([text], dtype=torch.long, device=device), cache)
    blocks = []
    for start in range(0, len(tokens), BRANCHES):
        steps = torch.arange(start, min(start + BRANCHES, len(tokens)), device=device)
        blocks.append(_branches(model, cache, len(prompt_ids), steps, word[:-1]).view(len(steps), k, -1))
        rollback(cache, len(text))
    return torch.cat(blocks)


def _branches(model: PreTrainedModel, cache, prompt_len: int, steps: torch.Tensor, chain: list[int]) -> torch.Tensor:
    """One pass over the branches `chain` placed after each of `steps`' prefixes: (len(steps) * len(chain), V)."""
    past, k = cache.get_seq_length(), len(chain)
    owner = steps.repeat_interleave(k)  # (N,) the step each node's branch starts at
    depth = torch.arange(k, device=steps.device).repeat(len(steps))  # (N,)
    nodes = torch.tensor(chain, dtype=torch.long, device=steps.device).repeat(len(steps))  # (N,)
    # (N, past + N), True may attend: the prefix of the text before the branch, then the branch up to itself.
    seen = torch.arange(past, device=steps.device)[None] < (prompt_len + owner)[:, None]
    mine = (owner[:, None] == owner[None]) & (depth[None] <= depth[:, None])
    mask = torch.cat([seen, mine], dim=1)[None, None]
    if model.config._attn_implementation != "sdpa":  # eager attention adds the mask: 0 or the lowest value
        low = torch.finfo(model.dtype).min
        mask = torch.zeros(mask.shape, dtype=model.dtype, device=steps.device).masked_fill(~mask, low)
    positions = (prompt_len + owner + depth)[None]
    out = model.base_model(input_ids=nodes[None], cache=cache, attention_mask=mask, position_ids=positions,
                           use_cache=True)  # fmt: skip
    return model.get_output_embeddings()(out.last_hidden_state[0]).float()
