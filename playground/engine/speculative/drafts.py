"""Draft sources for speculative decoding: which draft a run needs (`load_draft`), and the proposers of a chain
of tokens: prompt lookup, or a model that shares the target's tokenizer.

A draft proposes up to `budget` tokens after the text so far, with the distribution q each was drawn from, and
is told after each round what the text has become, so a model draft can roll its cache back to what was kept.
"""

from __future__ import annotations

import torch

from playground.engine.forward import forward_tokens, new_cache, rollback
from playground.engine.placement import read_values
from playground.engine.processors import Stage, apply_stages
from playground.engine.speculative import math as sm
from playground.engine.speculative.auto import AutoDraft
from playground.engine.speculative.suffix import load_index
from playground.medusa.draft import HeadsDraft, load_heads
from playground.models import LoadedModel, ModelLoadError, load_model
from playground.settings import AUTO, MEDUSA, PROMPT_LOOKUP, Settings, SettingsError
from playground.trace import DraftInfo


def load_draft(settings: Settings, target: LoadedModel) -> LoadedModel | HeadsDraft | AutoDraft | None:
    """The draft model a speculative run needs, loaded like any model (once, shared), placed as the target is;
    the target's Medusa heads for draft_model "medusa"; for "auto", the heads and the suffix index that ship for
    the target (either may be None); None when the run needs none (another strategy, or prompt lookup).

    Args:
        settings: the run's settings; `draft_model` None means the target's own weights at `draft_precision`.
        target: the loaded target.

    Raises:
        SettingsError: the draft cannot be loaded (named as the draft_model setting).
    """
    if settings.strategy != "speculative" or settings.draft_model == PROMPT_LOOKUP:
        return None
    if settings.draft_model == MEDUSA:
        return load_heads(target)
    if settings.draft_model == AUTO:
        return AutoDraft(heads=shipped_heads(target), index=load_index(target.info.id))
    try:
        device = None if target.device_map else target.info.device
        return load_model(
            settings.draft_model or target.info.id, settings.draft_precision, device, device_map=target.device_map
        )
    except ModelLoadError as exc:
        raise SettingsError("draft_model", f"draft_model cannot be loaded: {exc}") from exc


def shipped_heads(target: LoadedModel) -> HeadsDraft | None:
    """The target's Medusa heads where they ship and fit it, else None (the automatic draft goes without)."""
    try:
        return load_heads(target)
    except SettingsError:
        return None


class PromptLookupDraft:
    """Copies what followed the latest n-gram's most recent earlier occurrence (no model, q one-hot)."""

    calls = 0  # model passes: none
    loaded = None  # no model

    def __init__(
        self, ngram: int, vocab_size: int, device: torch.device, prompt_length: int, typed: tuple[int, int]
    ) -> None:
        """`prompt_length` tokens of the text are the rendered prompt, `typed` ([start, end)) the span of them
        the person typed: they say where each copy was found (`found`)."""
        self.ngram, self.vocab_size, self.device = ngram, vocab_size, device
        self.prompt_length, self.typed = prompt_length, typed
        self.info = DraftInfo(source=PROMPT_LOOKUP, ngram=ngram)
        self.found: str | None = None  # where the last proposal was copied from (trace.LOOKUP_SOURCES)

    def propose(self, text: list[int], budget: int) -> tuple[list[int], torch.Tensor]:
        """Up to `budget` tokens, and q: (g, V) one-hot rows on the model's device."""
        tokens, at = sm.prompt_lookup(text, self.ngram, budget)
        self.found = sm.lookup_source(at, self.prompt_length, self.typed) if tokens else None
        ids = torch.tensor(tokens, dtype=torch.long, device=self.device)  # (g,)
        return tokens, torch.nn.functional.one_hot(ids, self.vocab_size).float()

    def keep(self, text: list[int]) -> None:
        """Nothing to roll back."""

    def next_gamma(self, gamma: int, accepted: int, proposed: int) -> int:
        """Prompt lookup proposes what it finds; the schedule stays constant."""
        return gamma


class ModelDraft:
    """A draft model, one token per pass, with its own KV cache and the target's processing stages; its logits
    are brought to the target's `device`, where the stages, the run's generator and p live."""

    found = None  # its proposals are its own, not copied from the text

    def __init__(
        self,
        loaded: LoadedModel,
        info: DraftInfo,
        stages: list[Stage],
        prompt: list[int],
        settings: Settings,
        generator,
        device: torch.device,
    ) -> None:
        self.loaded, self.info, self.stages, self.generator, self.device = loaded, info, stages, generator, device
        self.model = loaded.model
        self.samples = settings.samples
        self.adaptive = settings.draft_schedule == "adaptive"
        self.cache = new_cache(self.model)
        self.unseen = list(prompt)  # tokens of the text the draft's cache does not hold yet
        self.calls = 0

    def propose(self, text: list[int], budget: int) -> tuple[list[int], torch.Tensor | None]:
        """Up to `budget` tokens drawn (or argmaxed) from the draft's processed distribution, and q: (g, V)
        on the target's device (None when budget is 0)."""
        proposed: list[int] = []
        q_rows: list[torch.Tensor] = []
        for _ in range(budget):
            # (1, V); a no-op unless the draft was placed on another device than the target
            logits = forward_tokens(self.model, self.unseen, self.cache)[-1:].to(self.device)
            self.calls += 1
            past = torch.tensor([[*text, *proposed]], dtype=torch.long, device=self.device)
            q = torch.softmax(apply_stages(self.stages, past, logits)[-1][1][0], dim=-1)  # (V,)
            choice = torch.multinomial(q, 1, generator=self.generator)[0] if self.samples else torch.argmax(q)
            token, top = read_values(choice, q.max())  # one read: the token, and the draft's confidence
            proposed.append(token)
            q_rows.append(q)
            self.unseen = [token]
            # Adaptive drafting also stops when the draft is unsure of its own guess, as transformers' assisted
            # generation does (assistant_confidence_threshold): such tokens are rarely accepted.
            if self.adaptive and top < sm.CONFIDENCE_THRESHOLD:
                break
        return proposed, torch.stack(q_rows) if q_rows else None

    def keep(self, text: list[int]) -> None:
        """The text is now `text`: drop what the draft cached beyond it, queue what it has not seen. The last
        token stays unseen, as in the target's cache: the next round feeds it."""
        rollback(self.cache, min(self.cache.get_seq_length(), len(text) - 1))
        self.unseen = text[self.cache.get_seq_length() :]

    def next_gamma(self, gamma: int, accepted: int, proposed: int) -> int:
        """The adaptive schedule grows the draft after a fully accepted round and shrinks it otherwise."""
        return sm.next_gamma(gamma, accepted, proposed) if self.adaptive else gamma
