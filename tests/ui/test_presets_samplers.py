"""The lessons about our samplers, each claim checked against the engine on the bundled model at fp32."""

import math

from playground.engine import generate
from playground.engine.compare import compare_path
from playground.ui.presets import presets

TOP_N_SIGMA = next(p for p in presets() if p.name == "Top-nσ does not care about temperature")


def kept_and_removed(trace) -> list[tuple[int, dict[int, str | None]]]:
    """Per step: how many tokens the filters left and which stage removed each recorded candidate."""
    return [(step.kept, {c.id: c.removed_by for c in step.candidates}) for step in trace.steps]


def test_top_n_sigma_keeps_the_same_tokens_at_temperature_0_5_and_1_5_step_by_step(bundled_fp32):
    settings = TOP_N_SIGMA.settings.replace(max_new_tokens=24)
    assert settings.temperature == 1.5 and settings.temperature_last and settings.top_k == 0
    hot = generate(bundled_fp32, TOP_N_SIGMA.prompt, settings)
    # The same text at 0.5: the run at 1.5's tokens forced (a branch's prefix), each step recorded as it was seen.
    path = tuple(hot.output.token_ids)
    cold = generate(bundled_fp32, TOP_N_SIGMA.prompt, settings.replace(temperature=0.5, prefix_ids=path))
    assert cold.output.token_ids[: len(path)] == list(path)
    hot_steps, cold_steps = kept_and_removed(hot), kept_and_removed(cold)[: len(path)]
    assert hot_steps == cold_steps
    assert any(1 < kept < 100 for kept, _ in hot_steps), "top-nσ keeps a handful, not one token or all"
    assert any("top_n_sigma" in removed.values() for _, removed in hot_steps)
    # The probabilities do move: 0.5 sharpens what top-nσ kept.
    assert [s.chosen.prob for s in hot.steps] != [s.chosen.prob for s in cold.steps[: len(path)]]


def test_top_n_sigma_compared_at_temperature_0_5_agrees_on_the_top_token_with_no_infinite_kl(bundled_fp32):
    """The lesson's Compare: A is the preset's run, B the same settings at temperature 0.5 reading A's text."""
    assert "set Temperature to 0.5 and press Compare" in TOP_N_SIGMA.lesson
    settings = TOP_N_SIGMA.settings.replace(max_new_tokens=24)
    a = generate(bundled_fp32, TOP_N_SIGMA.prompt, settings)
    b = settings.replace(temperature=0.5)
    rows = compare_path(bundled_fp32, settings, bundled_fp32, b, a.prompt.token_ids, a.output.token_ids)
    assert len(rows) == len(a.steps)
    assert all(row.top1_agree for row in rows), "the most likely tokens agree at 100% of steps"
    assert all(math.isfinite(row.kl) and row.uncovered == 0 for row in rows), "no infinite KL"
    assert any(row.kl > 0.01 for row in rows), "only the probabilities move, and they do"


def same_kept_at_0_5_and_1_5(loaded, settings) -> bool:
    hot = generate(loaded, TOP_N_SIGMA.prompt, settings)
    path = tuple(hot.output.token_ids)
    cold = generate(loaded, TOP_N_SIGMA.prompt, settings.replace(temperature=0.5, prefix_ids=path))
    return kept_and_removed(hot) == kept_and_removed(cold)[: len(path)]


def test_the_claim_is_top_n_sigmas_own_not_the_orders(bundled_fp32):
    """Any filter run before the temperature keeps what it kept; top-nσ keeps it with the temperature first too,
    where min-p, which reads probabilities, does not."""
    settings = TOP_N_SIGMA.settings.replace(max_new_tokens=12, temperature_last=False)
    assert same_kept_at_0_5_and_1_5(bundled_fp32, settings)
    assert not same_kept_at_0_5_and_1_5(bundled_fp32, settings.replace(top_n_sigma=0.0, min_p=0.05))
