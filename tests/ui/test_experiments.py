"""The page's experiments, called directly: Compare (the shown run against the controls) and the mass tree."""

import json

import gradio as gr
import pytest

from playground.ui.compare_view import compare_line, compare_views, compared_step
from tests.ui.conftest import VALUES


def test_compare_reads_the_shown_run_with_the_current_settings(runs):
    *_, (_, _, parent) = runs.page.generate(VALUES)
    b = {**VALUES, "strategy": "sample", "temperature": 1.5, "top_k": 5.0, "seed": 2.0}
    comparison = runs.experiments.compare(b, parent)
    line, aligned, figure, slider, candidates = compare_views(parent, comparison)
    assert line.startswith("B = tiny-random-llama fp32, Strategy Sampling, Temperature 1.5, Top-k 5, Seed 2")
    # Top-k 5 rules out tokens greedy A's softmax gives some probability: KL is infinite, JS is not. The line
    # names the stage as its control, with B's value, and the token A liked best of those it removed at step 1.
    removed = comparison.steps[0].removed_text
    assert removed and comparison.steps[0].removed_by == "top_k"
    why = f"(B rules out tokens A could take: at step 1, top-k 5 removed {removed!r})"
    assert f"KL(A‖B) infinite at every step {why}" in line and "mean JS" in line
    assert aligned.count('class="aligned-row"') == 2 and aligned.count('class="tok') >= 16
    assert figure.layout.title.text.startswith("A vs B along A's text")
    assert any(t.name == "KL infinite: B rules out tokens A could take" for t in figure.data)
    # The candidates open at the step where A and B are furthest apart; B keeps at most 5 tokens there.
    widest = max(comparison.steps, key=lambda s: s.js)
    assert slider.value == widest.index + 1 and slider.maximum == 8
    assert candidates.layout.title.text.startswith(f"Step {widest.index + 1}: A took")
    assert sum(p > 0 for p in candidates.data[1].x) <= 5
    assert compared_step(comparison, 99).layout.title.text.startswith("Step 8: A took")  # clamped
    same = compare_line(parent, runs.experiments.compare(VALUES, parent))
    assert "the same settings" in same and "mean KL(A‖B) 0.0000" in same and "B's own text matches A's" in same


def test_the_compare_line_averages_the_finite_kl_and_counts_the_infinite_steps(runs):
    *_, (_, _, parent) = runs.page.generate(VALUES)
    comparison = runs.experiments.compare(VALUES, parent)
    for row, kl in zip(comparison.steps, [0.5, float("inf"), 0.25, float("inf")], strict=False):
        row.kl = kl
    line = compare_line(parent, comparison)
    finite = [row.kl for row in comparison.steps if row.kl != float("inf")]  # 0.5, 0.25 and six zeros
    assert f"mean KL(A‖B) {sum(finite) / 6:.4f} nats over 6 steps, infinite at 2 (B rules out" in line


def test_compare_needs_a_run_and_names_bad_controls(runs):
    with pytest.raises(gr.Error, match="Generate a run first"):
        runs.experiments.compare(VALUES, None)
    *_, (_, _, parent) = runs.page.generate(VALUES)
    with pytest.raises(gr.Error, match="precision 'fp8' is unknown"):
        runs.experiments.compare({**VALUES, "precision": "fp8"}, parent)
    assert "Compare a run" in str(compared_step(None, 1).layout.annotations[0].text)


def test_where_the_mass_goes_reads_the_controls_and_names_bad_ones(runs):
    from playground.plots.mass import mass_figure
    from playground.summary import mass_summary

    values = {**VALUES, "strategy": "sample", "top_k": 3.0, "mass_depth": 2.0, "mass_threshold": 0.01}
    tree = runs.experiments.mass(values)
    assert tree.depth == 2 and tree.threshold == 0.01 and len(tree.root.children) <= 3  # top-k 3 at each node
    assert tree.settings["top_k"] == 3 and tree.prompt.text == "the cat"
    line = mass_summary(tree)
    assert line.startswith("tiny-random-llama fp32 · ") and "up to 2 tokens at p ≥ 0.01" in line
    assert " under top-k 3 · " in line  # the stages that shaped it, as a lesson checks
    fig = mass_figure(tree)
    assert fig.data[0].type == "sunburst" and fig.layout.title.text.startswith("Where the mass goes: ")
    with pytest.raises(gr.Error, match="Depth"):
        runs.experiments.mass({**values, "mass_depth": 9.0})
    answer = json.loads(
        runs.api.mass_json({"prompt": "the cat", "chat": False, "mass_depth": 1, "mass_threshold": 0.05})
    )
    assert answer["depth"] == 1 and all(c["joint"] >= 0.05 for c in answer["root"]["children"])
    with pytest.raises(gr.Error, match="unknown"):
        runs.api.mass_json({"prompt": "the cat", "mass_deep": 1})
