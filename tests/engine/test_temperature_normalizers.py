"""Each step records ln sum exp(logit / T) over the whole vocabulary at the table's temperatures: with a
candidate's raw logit it must give the probability softmax(logits / T) gives over every token, for a tiny model
whose full logits this test computes itself."""

import math

import pytest
import torch

from playground.engine import generate
from playground.engine.recording import log_normalizers
from playground.settings import Settings
from playground.trace import TABLE_TEMPERATURES, Trace

PROMPT = "the cat sat on the mat and the cat"
RUNS = {
    "greedy": Settings(chat=False, max_new_tokens=6),
    # The run's own temperature and filters do not enter: the normalisers are the raw logits'.
    "sample": Settings(strategy="sample", temperature=0.7, top_k=3, seed=1, chat=False, max_new_tokens=6),
    "speculative": Settings(
        strategy="speculative", draft_model="prompt-lookup", num_draft_tokens=3, chat=False, max_new_tokens=6
    ),
}


def test_log_normalizers_are_the_log_sum_exp_of_the_scaled_logits():
    # (B=3, V=4): a spread row, equal logits, and a row whose tail lies far below e^-80 at every T.
    logits = torch.tensor([[2.0, 1.0, -1.0, 0.5], [0.0, 0.0, 0.0, 0.0], [30.0, 29.5, -60.0, -90.0]])
    found = log_normalizers(logits, (0.3, 1.0, 2.0))
    assert found.shape == (3, 3) and found.dtype == torch.float64
    for t, column in zip((0.3, 1.0, 2.0), found.T, strict=True):
        expected = [max(row) / t + math.log(sum(math.exp((x - max(row)) / t) for x in row)) for row in logits.tolist()]
        assert column.tolist() == pytest.approx(expected, rel=1e-7)  # float32 sums, as the trace's probabilities
    assert found[1].tolist() == pytest.approx([math.log(4)] * 3)  # equal logits: every T gives ln V


@pytest.mark.parametrize("name", list(RUNS))
def test_the_recorded_normalizers_give_the_softmax_over_the_whole_vocabulary(tiny_loaded, name):
    trace = generate(tiny_loaded, PROMPT, RUNS[name])
    model = tiny_loaded.model
    for index, step in enumerate(trace.steps):
        assert set(step.log_z) == {f"{t:g}" for t in TABLE_TEMPERATURES}
        ids = torch.tensor([trace.prompt.token_ids + trace.output.token_ids[:index]])
        with torch.no_grad():
            logits = model(ids).logits[0, -1].double()  # (V,) the step's raw logits, read here in one pass
        for t in TABLE_TEMPERATURES:
            softmax = torch.softmax(logits / t, dim=-1)  # (V,) over every token, float64
            for c in step.candidates:
                exact = math.exp(c.logit / t - step.log_z[f"{t:g}"])
                assert exact == pytest.approx(softmax[c.id].item(), rel=1e-6, abs=1e-12)
            # Over the whole vocabulary the recorded normaliser sums to one.
            assert torch.exp(logits / t - step.log_z[f"{t:g}"]).sum().item() == pytest.approx(1.0, rel=1e-6)


def test_the_normalizers_survive_export_and_an_older_trace_loads_without_them(tiny_loaded):
    trace = generate(tiny_loaded, PROMPT, RUNS["greedy"])
    again = Trace.from_json(trace.to_json())
    assert again.steps[0].log_z == trace.steps[0].log_z
    data = trace.to_dict()
    for step in data["steps"]:
        del step["log_z"]
    old = Trace.from_dict(data)
    old.validate()
    assert old.steps[0].log_z is None and "log_z" not in old.to_dict()["steps"][0]
    old.steps[0].log_z = {"0": 1.0}
    with pytest.raises(ValueError, match="log_z must be keyed by temperatures above 0"):
        old.validate()
