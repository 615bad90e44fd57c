"""What the Compare tab shows for a comparison: one line, both texts aligned, the divergence curve, and one
step's candidates under A and B side by side."""

from __future__ import annotations

from typing import Any, NamedTuple

import gradio as gr

from playground.knobs import BY_NAME
from playground.plots import candidates_figure, divergence_figure
from playground.plots.compare import RULES_OUT, why_infinite
from playground.plots.style import placeholder
from playground.trace import Comparison, StepDivergence, Trace
from playground.ui.controls import STRATEGY_CHOICES
from playground.ui.tokens import aligned_html


class CompareViews(NamedTuple):
    """The Compare tab's components' values, by name (the page wires each to the component of the same name)."""

    compare_status: Any  # one line: what B is, the divergences, where B's text goes its way
    aligned: Any  # A's and B's texts token by token
    compare_plot: Any  # the divergence curve along A's text
    compare_step: Any  # the slider choosing the step whose candidates show
    candidates_plot: Any  # that step's candidates under A and B


def compare_views(a: Trace, comparison: Comparison) -> CompareViews:
    """Every view of a comparison; the candidates open at the step where A and B are furthest apart (JS)."""
    steps = comparison.steps
    widest = max(range(len(steps)), key=lambda i: steps[i].js)
    return CompareViews(
        compare_status=compare_line(a, comparison),
        aligned=aligned_html(a, comparison),
        compare_plot=divergence_figure(comparison, [step.chosen.text for step in a.steps], _b_settings(a, comparison)),
        compare_step=gr.Slider(minimum=1, maximum=max(len(steps), 2), value=widest + 1, interactive=len(steps) > 1),
        candidates_plot=compared_step(comparison, widest + 1),
    )


def compared_step(comparison: Comparison | None, step: Any) -> Any:
    """The candidates figure of 1-based `step` (clamped to A's steps), or why there is none."""
    if comparison is None or not comparison.steps:
        return placeholder("Compare a run to see A's and B's candidates at each step.")
    index = min(max(int(step or 1), 1), len(comparison.steps)) - 1
    row = comparison.steps[index]
    a_text = next((c.text for c in row.candidates if c.id == row.token_id), str(row.token_id))
    return candidates_figure(comparison, index, a_text)


def _b_settings(a: Trace, comparison: Comparison) -> dict[str, Any]:
    """B's settings as a dict: A's, with those in which B differs."""
    return {**a.settings, **comparison.b_changes}


def compare_line(a: Trace, comparison: Comparison) -> str:
    """One line on a comparison: what B is, the divergences on A's path (where KL is infinite, the first such
    step's stage of B's and the token it removed), and where B's own text goes its way."""
    steps = comparison.steps
    changes = ", ".join(named_change(k, v) for k, v in comparison.b_changes.items()) or "the same settings"
    kl_text = _kl_text(steps, _b_settings(a, comparison))
    agree = sum(s.top1_agree for s in steps) / len(steps)
    if comparison.first_difference >= min(len(a.output.token_ids), len(comparison.b_token_ids)):
        differs = "B's own text matches A's"
    else:
        differs = f"B's own text first differs at step {comparison.first_difference + 1}"
    return (
        f"B = {comparison.b_model} {comparison.b_precision}, {changes} · {kl_text} · mean JS "
        f"{sum(s.js for s in steps) / len(steps):.4f} nats · most likely tokens agree at {agree:.0%} of steps · "
        f"{differs}"
    )


def named_change(name: str, value: Any) -> str:
    """One of B's changed settings as the page's controls name it: "Top-k 5", "Strategy Sampling", "Sample on"."""
    knob = BY_NAME.get(name)
    label = knob.label if knob else name
    if name == "strategy":
        return f"{label} {dict((v, k) for k, v in STRATEGY_CHOICES).get(value, value)}"
    if isinstance(value, bool):
        return f"{label} {'on' if value else 'off'}"
    if isinstance(value, (int, float)):
        return f"{label} {value:g}"
    return f"{label} {value!r}"


def _kl_text(steps: list[StepDivergence], settings: dict[str, Any]) -> str:
    """The mean finite KL, how many steps are infinite and why at the first of them (B's `settings` give the
    stage's value)."""
    infinite = [s for s in steps if s.kl == float("inf")]
    finite = [s.kl for s in steps if s.kl != float("inf")]
    mean = f"mean KL(A‖B) {sum(finite) / len(finite):.4f} nats" if finite else ""
    if not infinite:
        return mean
    reason = why_infinite(infinite[0], settings)
    why = RULES_OUT if reason == RULES_OUT else f"{RULES_OUT}: at step {infinite[0].index + 1}, {reason}"
    if not finite:
        return f"KL(A‖B) infinite at every step ({why})"
    return f"{mean} over {len(finite)} steps, infinite at {len(infinite)} ({why})"
