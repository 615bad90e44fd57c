"""The logit lens: every layer's residual stream at a step's last position, decoded through the model's own final
norm and LM head (nostalgebraist 2020).

One forward pass over the run's text (prompt, then every generated token but the last) records the residual stream
at every position and layer, (L + 1, T, d), with hooks on the model's layers; any step's lens is then a norm and a
head over L + 1 vectors. The streams are cached per run (the text and the model), so moving the step costs no pass;
Generate never runs any of this. The norm and head are the model's own modules, so an nf4 model's lens reads the
same (unquantized) head as its output.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from playground.engine.lens_math import first_top1, kl_to_last, layer_log_probs, token_ranks
from playground.logit_lens import LensLayer, LensStep, LensToken
from playground.models import ModelLoadError
from playground.models.device_map import input_device
from playground.settings import SettingsError

if TYPE_CHECKING:
    from playground.models import LoadedModel
    from playground.trace import Trace

TOP_K = 10  # tokens kept per layer
CACHED_RUNS = 4  # runs whose residual streams are kept (each (L + 1, T, d): ~11 MB for the embedded model at nf4)
CACHED_BYTES = 512 * 2**20  # and at most this much of them, but always the latest run's (a larger model's are big)
# (where the decoder layers are, where the final norm is): Llama, Qwen, Mistral, Gemma, SmolLM; then GPT-2.
LAYOUTS = ((("model", "layers"), ("model", "norm")), (("transformer", "h"), ("transformer", "ln_f")))


class LensLayoutError(ModelLoadError):
    """The model's layers, final norm or LM head are not where the lens looks for them: the model cannot serve
    the lens (as a model that cannot be loaded cannot serve a run)."""


@dataclass
class LensLayout:
    """Where a model keeps what the lens reads."""

    layers: nn.ModuleList  # the decoder layers, in order
    norm: nn.Module  # the final norm, applied before the head
    head: nn.Module  # the LM head: (.., d) -> (.., V)


def _attribute(model: nn.Module, path: tuple[str, ...]) -> Any:
    for name in path:
        model = getattr(model, name, None)
        if model is None:
            return None
    return model


def lens_layout(model: nn.Module) -> LensLayout:
    """The model's decoder layers, final norm and LM head, found by its own attributes (Llama/Qwen-style
    `model.layers` and `model.norm`, or GPT-2's `transformer.h` and `transformer.ln_f`).

    Raises:
        LensLayoutError: naming the model, when none of the known layouts fits.
    """
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    for layers_path, norm_path in LAYOUTS:
        layers, norm = _attribute(model, layers_path), _attribute(model, norm_path)
        if isinstance(layers, nn.ModuleList) and isinstance(norm, nn.Module) and head is not None:
            return LensLayout(layers, norm, head)
    name = getattr(getattr(model, "config", None), "_name_or_path", "") or type(model).__name__
    raise LensLayoutError(
        f"the logit lens does not know the layout of {name} ({type(model).__name__}): it needs the decoder layers "
        "and final norm at model.layers and model.norm (Llama, Qwen) or transformer.h and transformer.ln_f "
        "(GPT-2), and an LM head"
    )


def _layer_input(args: tuple, kwargs: dict) -> torch.Tensor:
    return args[0] if args else kwargs["hidden_states"]


def _layer_output(output: Any) -> torch.Tensor:
    return output[0] if isinstance(output, tuple) else output


@torch.no_grad()
def residual_streams(model: nn.Module, layout: LensLayout, ids: list[int]) -> torch.Tensor:
    """One pass over `ids`, recording the residual stream before the first layer and after every layer.

    Returns:
        (L + 1, T, d) on the device of the last layer's output, in the model's compute dtype.
    """
    streams: list[torch.Tensor] = []
    first = layout.layers[0].register_forward_pre_hook(
        lambda _m, args, kwargs: streams.append(_layer_input(args, kwargs)[0]), with_kwargs=True
    )
    after = [
        layer.register_forward_hook(lambda _m, _args, output: streams.append(_layer_output(output)[0]))
        for layer in layout.layers
    ]
    try:
        tokens = torch.tensor([ids], dtype=torch.long, device=input_device(model))
        model.base_model(input_ids=tokens, use_cache=False)  # the body only: the head runs on the rows we decode
    finally:
        for hook in (first, *after):
            hook.remove()
    device = streams[-1].device  # a model spread over devices: gather where the norm and head can read them
    return torch.stack([s.to(device) for s in streams])


@torch.no_grad()
def decode_streams(layout: LensLayout, rows: torch.Tensor) -> torch.Tensor:
    """(N, d) residual streams -> (N, V) float32 logits: the model's final norm, then its LM head."""
    norm_device = next(layout.norm.parameters(), rows).device
    normed = layout.norm(rows.to(norm_device))
    head_device = next(layout.head.parameters()).device
    return layout.head(normed.to(head_device)).float()


def lens_rows(logits: torch.Tensor, token: int, texts: Any, top_k: int = TOP_K) -> tuple[list[LensLayer], int | None]:
    """The lens's rows from (L + 1, V) decoded logits (the embeddings first) for the chosen `token`; `texts`
    decodes a token id. Returns (rows, the first layer 1..L where `token` is top-1)."""
    log_probs = layer_log_probs(logits)
    kl = kl_to_last(log_probs).clamp_min(0).tolist()
    ranks = token_ranks(log_probs, token).tolist()
    top = torch.topk(log_probs, min(top_k, log_probs.shape[-1]), dim=-1)
    top_ids, top_probs = top.indices.tolist(), top.values.exp().tolist()
    chosen = log_probs[:, token].exp().tolist()
    rows = [
        LensLayer(
            layer=layer,
            top=[LensToken(i, texts(i), p) for i, p in zip(top_ids[layer], top_probs[layer], strict=True)],
            chosen_rank=ranks[layer],
            chosen_prob=chosen[layer],
            kl=kl[layer],
        )
        for layer in range(len(ranks))
    ]
    return rows, first_top1(ranks[1:])


class LensCache:
    """The residual streams of the last few runs, by model and text, so each step after the first is instant."""

    def __init__(self, size: int = CACHED_RUNS, max_bytes: int = CACHED_BYTES) -> None:
        self.size = size
        self.max_bytes = max_bytes
        self._streams: OrderedDict[tuple, torch.Tensor] = OrderedDict()
        self._lock = threading.Lock()

    def streams(self, loaded: LoadedModel, layout: LensLayout, ids: list[int]) -> torch.Tensor:
        """(L + 1, T, d) for `ids` under `loaded`'s model, from the cache or one pass."""
        # The live model object and what it is: a model reloaded at a freed address is the same weights.
        key = (id(loaded.model), loaded.info.id, loaded.info.precision, tuple(ids))
        with self._lock:
            if key in self._streams:
                self._streams.move_to_end(key)
                return self._streams[key]
        found = residual_streams(loaded.model, layout, ids)
        with self._lock:
            self._streams[key] = found
            while len(self._streams) > 1 and (len(self._streams) > self.size or self._bytes() > self.max_bytes):
                self._streams.popitem(last=False)
        return found

    def _bytes(self) -> int:
        return sum(streams.numel() * streams.element_size() for streams in self._streams.values())


CACHE = LensCache()


def run_text(trace: Trace) -> list[int]:
    """What the model read over the run: the prompt's tokens, then every generated token but the last."""
    return trace.prompt.token_ids + trace.output.token_ids[:-1]


def check_step(trace: Trace, step: Any) -> int:
    """`step` as a 1-based step of `trace`; SettingsError("step") when the run has no such step."""
    count = len(trace.output.token_ids) if trace.steps else 0
    if not count:
        raise SettingsError("step", "the run has no generated steps to look inside (a beam search has none)")
    if isinstance(step, bool) or not isinstance(step, int) or not 1 <= step <= count:
        raise SettingsError("step", f"must be a whole number from 1 to {count}, got {step!r}")
    return step


def lens_step(loaded: LoadedModel, trace: Trace, step: int, top_k: int = TOP_K, cache: LensCache = CACHE) -> LensStep:
    """The logit lens at `step` (1-based) of `trace`, a run of `loaded`'s model: every layer's residual stream at
    the last position of the step's prefix (the prompt and the first step - 1 generated tokens), decoded.

    Raises:
        SettingsError: `step` is not a step of the run. LensLayoutError: the model's layout is unknown.
    """
    step = check_step(trace, step)
    layout = lens_layout(loaded.model)
    with loaded.lock:  # a loaded model serves one pass at a time
        streams = cache.streams(loaded, layout, run_text(trace))
        position = len(trace.prompt.token_ids) + step - 2  # its output predicts the step's token
        logits = decode_streams(layout, streams[:, position])  # (L + 1, V)
    token = trace.output.token_ids[step - 1]
    text = lambda i: loaded.tokenizer.decode([i])  # noqa: E731
    rows, first = lens_rows(logits, token, text, top_k)
    return LensStep(step, token, text(token), len(layout.layers), first, rows)
