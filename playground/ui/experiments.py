"""The page's experiments that relate runs or look past one: Compare (the shown run A against the controls as
B) and Where the mass goes. Each is one GPU lease on ZeroGPU; problems become a `gr.Error`."""

from __future__ import annotations

from typing import Any

import gradio as gr

from playground.engine import generate
from playground.engine.compare import compare_path, first_difference
from playground.engine.mass import mass_tree
from playground.settings import Settings
from playground.spaces import on_gpu
from playground.trace import Comparison, MassTree, Trace
from playground.ui.controls import make_settings, single
from playground.ui.errors import answered
from playground.ui.gate import Gate
from playground.ui.leases import bounded, controls_seconds


class Experiments:
    """Compare and the mass tree from the page's controls, over the models `gate` lets a request name."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        # As PageRuns' stream: each a GPU lease of its own on ZeroGPU (arguments and result pickled), sized from
        # the call's arguments.
        self._compare_leased = on_gpu(
            self._compare_task, duration=lambda values, parent: controls_seconds(gate, "compare", single(values))
        )
        self._mass_leased = on_gpu(
            self._mass_task, duration=lambda values: controls_seconds(gate, "mass", single(values))
        )

    def compare(self, values: dict[str, Any], parent: Any) -> Comparison:
        """Configuration B, the controls (model, precision, settings), against run A, the run the page shows:
        B reads A's text by teacher forcing, and writes its own from the same prompt. Problems become a
        `gr.Error`."""
        if not isinstance(parent, Trace) or not parent.steps:
            raise gr.Error("Generate a run first: it is A, and the current settings are B.", print_exception=False)
        return self._compare_leased(values, parent)

    def _compare_task(self, values: dict[str, Any], parent: Trace) -> Comparison:
        """`compare`'s model work, where the GPU is."""
        with answered():
            b_settings = make_settings(single(values)).replace(chat=parent.settings.get("chat"))
            return compared(self.gate, parent, values.get("model"), values.get("precision"), b_settings)

    def mass(self, values: dict[str, Any]) -> MassTree:
        """Where the mass goes after the controls' prompt, under their model, precision and settings (the Depth
        and Threshold controls among them). Problems become a `gr.Error`."""
        return self._mass_leased(values)

    def _mass_task(self, values: dict[str, Any]) -> MassTree:
        """`mass`'s model work, where the GPU is."""
        with answered():
            settings = make_settings(single(values))
            loaded = self.gate.load(values.get("model"), values.get("precision"))
            return mass_tree(loaded, values.get("prompt"), settings)


def compared(gate: Gate, a: Trace, model: Any, precision: Any, b_settings: Settings) -> Comparison:
    """Run A (a trace with steps) against B = `model` at `precision` with `b_settings`, both checked by `gate`:
    B's distributions along A's text, and B's own text from A's prompt."""
    gate.check(model, precision)
    gate.check_draft(b_settings.draft_model)
    b_settings = bounded(gate, model, precision, b_settings, "compare")
    a_settings = Settings.from_dict(a.settings)
    a_model, b_model = gate.load(a.model.id, a.model.precision), gate.load(model, precision)
    steps = compare_path(a_model, a_settings, b_model, b_settings, a.prompt.token_ids, a.output.token_ids)
    own = generate(b_model, a.prompt.text, b_settings, draft=gate.draft(b_settings, b_model))
    return Comparison(
        a_run=a.run_id,
        b_model=model,
        b_precision=precision,
        b_changes=changed_settings(a_settings, b_settings),
        steps=steps,
        b_token_ids=list(own.output.token_ids),
        b_texts=[step.chosen.text for step in own.steps],
        b_bytes=[step.chosen.bytes for step in own.steps],
        first_difference=first_difference(a.output.token_ids, own.output.token_ids),
    )


def changed_settings(a: Settings, b: Settings) -> dict[str, Any]:
    """The settings in which B differs from A (a branch's forced tokens left out: B runs from the prompt)."""
    a_values, b_values = a.to_dict(), b.to_dict()
    return {k: v for k, v in b_values.items() if a_values[k] != v and k not in ("prefix_ids", "parent_run")}
