"""The step view draws the stages in the order the run applied them (`sampler_order`, `temperature_last`), and a
trace from before the order was recorded in the registry's order; what a stage changed is read against the stage
that ran just before it."""

from playground.engine import generate
from playground.plots import stage_figure
from playground.settings import Settings
from playground.trace import Trace

PROMPT = "the cat sat on the cat"
ON = dict(strategy="sample", temperature=0.5, top_k=50, top_p=0.99, seed=0, max_new_tokens=2, chat=False)


def bars(fig) -> list[str]:
    return [bar.name for bar in fig.data if bar.type == "bar"]


def test_the_bars_follow_the_runs_order(tiny_loaded):
    trace = generate(tiny_loaded, PROMPT, Settings(sampler_order="top_p;top_k;temperature", **ON))
    assert bars(stage_figure(trace, 0)) == ["raw", "after Top-p", "after Top-k", "after Temperature"]
    last = generate(tiny_loaded, PROMPT, Settings(temperature_last=True, **ON))
    assert bars(stage_figure(last, 0)) == ["raw", "after Top-k", "after Top-p", "after Temperature"]


def test_a_trace_from_before_the_order_draws_the_registrys(tiny_loaded):
    data = generate(tiny_loaded, PROMPT, Settings(**ON)).to_dict()
    for key in ("sampler_order", "temperature_last"):
        del data["settings"][key]
    old = Trace.from_dict(data)
    assert bars(stage_figure(old, 0)) == ["raw", "after Temperature", "after Top-k", "after Top-p"]


def test_the_penalty_is_read_against_the_stage_before_it(tiny_loaded):
    order = "temperature;repetition_penalty;top_k;top_p"
    trace = generate(tiny_loaded, PROMPT, Settings(sampler_order=order, repetition_penalty=1.5, **ON))
    marks = [a for a in stage_figure(trace, 0).layout.annotations if a.text.startswith("⟲")]
    assert marks
    step = trace.steps[0]
    for mark in marks:
        token = next(c for c in step.candidates if mark.hovertext and repr(c.text) in mark.hovertext)
        before, after = token.probs["temperature"], token.probs["repetition_penalty"]
        assert mark.hovertext.endswith(f"moved its p from {before:.4f} to {after:.4f}")
        assert f"{token.probs['raw']:.4f}" != f"{before:.4f}"  # the raw p would be another mark
