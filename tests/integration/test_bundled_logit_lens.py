"""The logit lens on the embedded model at fp32: at every step of a run, the last layer's distribution is the
step's raw distribution as the trace recorded it, and the last row's KL to itself is zero."""

import pytest

from playground.engine import generate
from playground.engine.logit_lens import lens_step
from playground.settings import Settings

pytestmark = pytest.mark.integration

TOP = 200  # lens tokens per layer: more than the trace's candidates, so every candidate is among them


@pytest.mark.parametrize("strategy", ["greedy", "sample"])
def test_the_last_layer_is_the_raw_distribution_at_every_step(bundled_fp32, strategy):
    settings = Settings(strategy=strategy, seed=3, chat=True, max_new_tokens=6)
    trace = generate(bundled_fp32, "Name a colour.", settings)
    for step, recorded in enumerate(trace.steps, start=1):
        lens = lens_step(bundled_fp32, trace, step, top_k=TOP)
        last = {token.id: token.prob for token in lens.layers[-1].top}
        for candidate in recorded.candidates:
            assert last[candidate.id] == pytest.approx(candidate.probs["raw"], abs=1e-4)
        assert lens.layers[-1].chosen_rank == recorded.chosen.rank and lens.layers[-1].kl == 0.0
        assert len(lens.layers) == lens.num_layers + 1 == 31
