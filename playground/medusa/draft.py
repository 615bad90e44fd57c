"""Medusa heads as a speculative draft: the heads that ship for a model, loaded once per model and device.

Heads ship for the embedded default only (`SHIPPED`); a run that asks for them with another model is refused by
name. Tests hand `HeadsDraft` trained heads of their own.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from playground.medusa.heads import HeadsCard, MedusaHeads
from playground.models.bundled import DEFAULT_MODEL_ID
from playground.models.device_map import execution_device
from playground.settings import SettingsError

if TYPE_CHECKING:
    from playground.models import LoadedModel

HERE = Path(__file__).parent
# Model id -> the heads file trained on it (see CARD.md).
SHIPPED = {DEFAULT_MODEL_ID: HERE / "smollm2-135m-instruct.safetensors"}


@dataclass
class HeadsDraft:
    """Heads ready to draft for one target: the module, its card, and where it came from."""

    loaded = None  # no second model: the heads run on the target's hidden state, under the target's lock
    heads: MedusaHeads
    card: HeadsCard
    name: str  # the heads file's name (recorded in the trace)

    @property
    def hit_rates(self) -> list[list[float]]:
        """Held-out hit rate of each head's guess at each rank (head k, rank r), from the card; the static tree
        is chosen from them."""
        return self.card.accuracy["by_rank"]


_cache: dict[tuple[str, str], HeadsDraft] = {}
_lock = threading.Lock()


def fits(draft: HeadsDraft, target: LoadedModel) -> None:
    """Raises SettingsError when the heads were made for another shape of model."""
    config = target.model.config
    if draft.card.hidden_size != config.hidden_size or draft.card.vocab_size != config.vocab_size:
        raise SettingsError(
            "draft_model",
            f"the Medusa heads {draft.name} were trained for hidden size {draft.card.hidden_size} and "
            f"{draft.card.vocab_size} tokens, not {target.info.id!r} ({config.hidden_size}, {config.vocab_size})",
        )


def load_heads(target: LoadedModel) -> HeadsDraft:
    """The shipped heads for `target`'s model (loaded once per device, shared), where its LM head computes: they
    read the hidden state the LM head reads, and score with the LM head's rows.

    Raises:
        SettingsError: no heads ship for this model.
    """
    path = SHIPPED.get(target.info.id)
    if path is None:
        shipped = ", ".join(SHIPPED)
        raise SettingsError(
            "draft_model",
            f"Medusa heads ship only for {shipped}, not for {target.info.id!r}: train your own with "
            "python -m playground.training.medusa",
        )
    device = str(execution_device(target.model.get_output_embeddings()))
    with _lock:
        draft = _cache.get((target.info.id, device))
        if draft is None:
            heads, card = MedusaHeads.load(path, device=torch.device(device))
            draft = _cache[(target.info.id, device)] = HeadsDraft(heads, card, path.name)
    fits(draft, target)
    return draft
