"""What every strategy shares: the rendered prompt, the stop rules, and assembling the final Trace."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import torch

from playground.engine.processors import Stage, build_stages, resume_stages
from playground.engine.recording import TokenTexts
from playground.engine.stopping import Deadline, eos_token_ids, find_stop
from playground.models.device_map import input_device
from playground.settings import Limits, Settings, SettingsError, check_text
from playground.trace import Beams, OutputInfo, PromptInfo, Step, Timing, Trace

if TYPE_CHECKING:
    from playground.medusa.draft import HeadsDraft
    from playground.models import LoadedModel


@dataclass
class Update:
    """What a running strategy hands its caller after each decided step, and once more at the end."""

    text: str  # the output so far (beam search: the current best beam)
    step: Step | None = None  # the step just decided (None for beam search and for the final update)
    trace: Trace | None = None  # set on the final update only
    note: str | None = None  # work after the last step that the run is still doing (timing the speed-up)


@dataclass
class RunContext:
    """One run's inputs, resolved once before the loop starts."""

    loaded: LoadedModel
    settings: Settings
    prompt: PromptInfo
    # (1, T) prompt tokens (and a branch's forced tokens) on the model's input device, where its logits come back
    input_ids: torch.LongTensor
    eos_ids: list[int]
    texts: TokenTexts
    deadline: Deadline
    draft: LoadedModel | HeadsDraft | None = None  # speculative decoding's draft model or heads, loaded by the caller
    # A branch's forced tokens (settings.prefix_ids): already in input_ids, and the start of every text shown.
    prefix: list[int] = field(default_factory=list)
    typed: tuple[int, int] = (0, 0)  # [start, end) of the prompt's tokens the person typed (the rest: template)
    started: float = field(default_factory=time.perf_counter)
    # The chain that processed a branch's forced tokens: the strategy's stages carry on from its state (a stage
    # that remembers, as mirostat's mu, replays the forced tokens before deciding the next one).
    earlier_stages: list[Stage] | None = None

    @property
    def context_ids(self) -> list[int]:
        """What the model reads before deciding: the prompt's tokens, then a branch's forced tokens."""
        return self.prompt.token_ids + self.prefix

    @property
    def device(self) -> torch.device:
        """The model's device: the forward pass, the processors and their scores live there."""
        return self.input_ids.device

    def stages(self) -> list[Stage]:
        """The run's logits-processing stages, in the run's order (`processors.build_stages`), carrying on from
        `earlier_stages` when a branch's forced tokens went through a chain first."""
        stages = build_stages(self.settings, self.input_ids.shape[1], self.eos_ids, self.device, self.loaded.tokenizer)
        if self.earlier_stages is not None:
            resume_stages(stages, self.earlier_stages)
        return stages

    def decode(self, token_ids: list[int]) -> str:
        """Generated tokens as text, special tokens left out."""
        return self.loaded.tokenizer.decode(token_ids, skip_special_tokens=True)

    def text(self, token_ids: list[int]) -> str:
        """The output's text with `token_ids` generated: a branch's forced tokens first."""
        return self.decode(self.prefix + token_ids)

    def visible_text(self, token_ids: list[int]) -> tuple[str, bool]:
        """The text to show for `token_ids` (after any forced tokens), cut before the first stop string, and
        whether one matched."""
        text = self.text(token_ids)
        cut = find_stop(text, self.settings.stop) if self.settings.stop else -1
        return (text, False) if cut < 0 else (text[:cut], True)


class RenderedPrompt(NamedTuple):
    """The prompt as the model reads it."""

    text: str  # after the chat template, if one was applied
    ids: list[int]
    typed: tuple[int, int]  # [start, end) of the ids that spell what the person typed (the rest is template)


def render_prompt(tokenizer, text: str, chat: bool | None) -> RenderedPrompt:
    """The prompt as the model sees it, its token ids, and which of them the person typed.

    Args:
        text: what the user typed.
        chat: apply the tokenizer's chat template (one user turn, generation prompt added); None means
            "when the tokenizer has one".
    """
    has_template = bool(getattr(tokenizer, "chat_template", None))
    if chat and not has_template:
        raise SettingsError("chat", "chat is on, but this model's tokenizer has no chat template")
    if chat is None:
        chat = has_template
    if not chat:
        ids = tokenizer(text)["input_ids"]
        return RenderedPrompt(text, ids, (0, len(ids)))
    rendered = tokenizer.apply_chat_template(
        [{"role": "user", "content": text}], add_generation_prompt=True, tokenize=False
    )
    marker = "\ue000prompt\ue000"  # private-use characters: no prompt holds them by chance
    around = tokenizer.apply_chat_template(
        [{"role": "user", "content": marker}], add_generation_prompt=True, tokenize=False
    )
    # False for a template that edits the text (trims it, say): then the text is looked for in what it made.
    faithful = around.count(marker) == 1 and around.replace(marker, text) == rendered
    if faithful and any(special in text for special in special_tokens(tokenizer)):
        # The user's turn spells a control token ("<|im_end|>"): read it as text, as typed, so a message cannot
        # end its turn or open another role's. The template's own control tokens stay tokens.
        before, after = around.split(marker)
        head = tokenizer(before, add_special_tokens=False)["input_ids"]
        typed = tokenizer(text, add_special_tokens=False, split_special_tokens=True)["input_ids"]
        ids = [*head, *typed, *tokenizer(after, add_special_tokens=False)["input_ids"]]
        return RenderedPrompt(rendered, ids, (len(head), len(head) + len(typed)))
    # The template already holds the special tokens; adding them again would double the BOS.
    ids = tokenizer(rendered, add_special_tokens=False)["input_ids"]
    shown = text if faithful else text.strip()
    start = len(around.split(marker)[0]) if faithful else rendered.rfind(shown)
    return RenderedPrompt(rendered, ids, typed_tokens(tokenizer, rendered, ids, start, start + len(shown)))


def typed_tokens(tokenizer, rendered: str, ids: list[int], start: int, end: int) -> tuple[int, int]:
    """[first, last + 1) of the tokens of `rendered` (`ids`) that overlap its characters [start, end), from the
    tokenizer's character offsets; all of them when it has none (a slow tokenizer) or the text was not found."""
    if start < 0 or not getattr(tokenizer, "is_fast", False):
        return 0, len(ids)
    offsets = tokenizer(rendered, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    inside = [j for j, (first, last) in enumerate(offsets) if first < end and last > start]
    return (inside[0], inside[-1] + 1) if inside else (0, len(ids))


def special_tokens(tokenizer) -> list[str]:
    """The texts that the tokenizer reads as a control token wherever they appear ("<|im_end|>")."""
    added = getattr(tokenizer, "added_tokens_decoder", {}) or {}
    return [token.content for token in added.values() if getattr(token, "special", False) and token.content]


def check_prompt(prompt: Any, limits: Limits) -> None:
    """Raises SettingsError when the prompt is no text, empty, or longer than any prompt the server takes; the
    model is not needed, so a caller can check before loading one."""
    if prompt is not None and not isinstance(prompt, str):
        raise SettingsError("prompt", f"prompt must be text, got {prompt!r:.80}")
    if not prompt or not prompt.strip():  # missing (None) too
        raise SettingsError("prompt", "prompt must not be empty")
    # Checked before tokenizing, so a megabyte of text is refused at once instead of tokenized first; no
    # tokenizer makes fewer than one token per 16 characters of real text.
    check_text("prompt", prompt, limits.max_prompt_tokens * 16)


def prepare(
    loaded: LoadedModel,
    prompt: str,
    settings: Settings,
    cancel: threading.Event | None = None,
    draft: LoadedModel | HeadsDraft | None = None,
) -> RunContext:
    """Renders and checks the prompt against the server's limits; raises SettingsError naming the problem.

    `cancel`, once set (by another thread), ends the run at its next step with stop_reason "cancelled";
    `draft` is speculative decoding's draft model.
    """
    check_prompt(prompt, settings.limits)
    limit = settings.limits.max_prompt_tokens
    rendered, ids, typed = render_prompt(loaded.tokenizer, prompt, settings.chat)
    if len(ids) > limit:
        raise SettingsError("prompt", f"prompt is {len(ids)} tokens long, the server allows {limit}")
    if not ids:
        raise SettingsError("prompt", "prompt has no tokens")
    prefix = list(settings.prefix_ids)
    vocab = loaded.info.vocab_size
    for token in prefix:
        if token >= vocab:
            raise SettingsError("prefix_ids", f"prefix_ids holds {token}, not a token id of this model (< {vocab})")
    window = getattr(loaded.model.config, "max_position_embeddings", None)
    if isinstance(window, int) and len(ids) + len(prefix) + settings.max_new_tokens > window:
        forced = f", {len(prefix)} forced tokens" if prefix else ""
        raise SettingsError(
            "max_new_tokens",
            f"the prompt ({len(ids)} tokens{forced}) plus max_new_tokens ({settings.max_new_tokens}) exceed the "
            f"model's context window of {window} tokens",
        )
    return RunContext(
        loaded=loaded,
        settings=settings,
        prompt=PromptInfo(text=prompt, rendered=rendered, token_ids=list(ids)),
        input_ids=torch.tensor([ids + prefix], dtype=torch.long, device=input_device(loaded.model)),
        eos_ids=eos_token_ids(loaded.model, loaded.tokenizer),
        texts=TokenTexts(loaded.tokenizer),
        deadline=Deadline(settings.time_budget, cancel),
        draft=draft,
        prefix=prefix,
        typed=typed,
    )


def make_trace(
    ctx: RunContext,
    token_ids: list[int],
    stop_reason: str,
    steps: list[Step],
    prefill_s: float,
    decode_s: float,
    beams: Beams | None = None,
) -> Trace:
    """The finished run as a Trace."""
    text, _ = ctx.visible_text(token_ids)
    generation_s = prefill_s + decode_s
    return Trace(
        run_id=uuid.uuid4().hex[:12],
        model=ctx.loaded.info,
        settings=ctx.settings.to_dict(),
        prompt=ctx.prompt,
        output=OutputInfo(text=text, token_ids=list(token_ids), stop_reason=stop_reason),
        steps=steps,
        timing=Timing(
            load_s=ctx.loaded.load_s,
            prefill_s=prefill_s,
            decode_s=decode_s,
            total_s=time.perf_counter() - ctx.started,
            new_tokens=len(token_ids),
            tokens_per_s=len(token_ids) / generation_s if generation_s > 0 else 0.0,
        ),
        beams=beams,
    )
