"""The "Compress the prompt" experiment's server side: the compression (quick: the slider redraws it) and both
prompts' runs with the KL along the original's answer (long: streamed stage by stage, under the tab's Stop
switch, keeping what was made). Each is one GPU lease on ZeroGPU; problems become a `gr.Error`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import gradio as gr

from playground.compress import Compression, compress_prompt
from playground.compress.request import ALL_BUT_LAST, checked_ratio, marked_part
from playground.compress.side_by_side import SideBySide, answer, answer_kl
from playground.settings import Settings
from playground.spaces import on_gpu
from playground.trace import Trace
from playground.ui.controls import make_settings, single
from playground.ui.errors import answered
from playground.ui.gate import Gate
from playground.ui.leases import bounded, controls_seconds
from playground.ui.switches import Switch, Switches


class Stage(NamedTuple):
    """Where the side-by-side runs are: what is made so far, and a line saying what happens now."""

    original: Trace | None
    compressed: Trace | None
    result: SideBySide | None  # once the comparison is done
    note: str


def force_words(text: Any) -> list[str]:
    """The force-tokens box's words: separated by commas, blanks dropped."""
    return [word.strip() for word in str(text or "").split(",") if word.strip()]


class Ask(NamedTuple):
    """What a request asks the compression for: `ratio` of its `part` (one of `request.PARTS`) or of its
    characters [start, end) = `span` where given, or `budget` tokens of that part; `force` the words never dropped
    (a comma-separated string, or a list)."""

    ratio: Any = None
    budget: Any = None
    part: Any = ALL_BUT_LAST
    force: Any = ()
    span: Any = None


def compressed(
    gate: Gate,
    model: Any,
    precision: Any,
    prompt: Any,
    settings: Settings,
    ask: Ask,
    progress: Callable[[float], None] | None = None,
) -> tuple[str, Compression]:
    """`prompt` compressed by `model` at `precision` (with `settings`' chat and limits) as `ask` says; returns (the
    prompt without its marks, the Compression). Raises SettingsError or ModelLoadError naming the problem."""
    prompt = prompt if isinstance(prompt, str) else ""
    prompt, span = (prompt, ask.span) if ask.span is not None else marked_part(prompt, ask.part)
    loaded = gate.load(model, precision)
    keep = dict(budget=ask.budget) if ask.budget is not None else dict(ratio=checked_ratio(ask.ratio))
    force = ask.force
    words = force_words(force) if isinstance(force, str) else [str(word) for word in force or ()]
    # Chat unset means "when the model has a template", as the runs read it (`engine.context.render_prompt`).
    chat = bool(getattr(loaded.tokenizer, "chat_template", None)) if settings.chat is None else settings.chat
    compression = compress_prompt(loaded, prompt, **keep, span=span, force_tokens=words, chat=chat, progress=progress)
    return prompt, compression


def stages(
    gate: Gate, model: Any, precision: Any, settings: Settings, prompt: str, compression: Compression, cancel: Any
) -> Iterator[Stage]:
    """Both prompts run by `model` at `precision` with `settings`, then the original's answer read after the
    compressed prompt; a `Stage` before each and at the end. Stopped (`cancel`), it ends with what was made."""
    gate.check(model, precision)
    gate.check_draft(settings.draft_model)
    settings = bounded(gate, model, precision, settings, "compare")
    loaded = gate.load(model, precision)
    yield Stage(None, None, None, "Running the original prompt…")
    original = answer(loaded, prompt, settings, cancel)
    yield Stage(original, None, None, "Running the compressed prompt…")
    short = answer(loaded, compression.text, settings, cancel)
    if cancel.is_set():
        yield Stage(original, short, None, "Stopped: the answers so far are kept; the KL was not computed.")
        return
    yield Stage(original, short, None, "Reading the original's answer after the compressed prompt…")
    steps = answer_kl(loaded, settings, original, short)
    yield Stage(original, short, SideBySide(compression, original, short, steps), "Done.")


class Compressions:
    """The panel's compression and runs over the models `gate` lets a request name, Stop by `switches`."""

    def __init__(self, gate: Gate, switches: Switches) -> None:
        self.gate = gate
        self.switches = switches
        self._compress_leased = on_gpu(
            self._compress_task, duration=lambda values, *rest: controls_seconds(gate, "run", single(values))
        )
        self._runs_leased = on_gpu(
            self._runs_task, duration=lambda values, *rest: controls_seconds(gate, "compare", single(values))
        )

    def compress(
        self, values: dict[str, Any], ratio: Any, force: Any, part: Any, progress: Any = None
    ) -> tuple[str, Compression]:
        """The controls' prompt compressed (`compressed`); problems become a `gr.Error`."""
        return self._compress_leased(values, ratio, force, part, progress)

    def _compress_task(self, values: dict[str, Any], ratio: Any, force: Any, part: Any, progress: Any) -> Any:
        with answered():
            settings = make_settings(single(values))
            prompt, model, precision = values.get("prompt"), values.get("model"), values.get("precision")
            return compressed(self.gate, model, precision, prompt, settings, Ask(ratio, None, part, force), progress)

    def run_both(self, values: dict[str, Any], prompt: Any, compression: Any, session: Any) -> Iterator[Stage]:
        """Streams `stages` for the compression the panel shows; problems become a `gr.Error`."""
        if not isinstance(compression, Compression) or not isinstance(prompt, str):
            raise gr.Error("Press Compress first: the runs compare its prompts.", print_exception=False)
        with self.switches.run(session) as switch:
            yield from self._runs_leased(values, prompt, compression, switch)

    def _runs_task(self, values: dict[str, Any], prompt: str, compression: Compression, switch: Switch) -> Any:
        with answered():
            settings = make_settings(single(values))
            model, precision = values.get("model"), values.get("precision")
            yield from stages(self.gate, model, precision, settings, prompt, compression, switch)
