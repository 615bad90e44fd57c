"""`--sampler-order` and `--temperature-last` reach the trace; a bad order exits 2 naming the flag."""

import pytest

from playground.cli import main
from playground.trace import Trace


def run(tiny_dir, *flags):
    return main(["generate", "--model", tiny_dir, "--precision", "fp32", "--prompt", "the cat sat", "--raw", *flags])


def test_the_order_flag_sets_the_chain_the_run_applies(tiny_dir, capsys):
    flags = ["--strategy", "sample", "--sampler-order", "top_p; top_k;temperature", "--top-p", "0.9"]
    assert run(tiny_dir, *flags, "--temperature", "0.7", "--max-new-tokens", "2", "--json") == 0
    trace = Trace.from_json(capsys.readouterr().out)
    assert trace.settings["sampler_order"] == ["top_p", "top_k", "temperature"]
    assert list(trace.steps[0].candidates[0].probs) == ["raw", "top_p", "top_k", "temperature", "final"]
    assert run(tiny_dir, "--strategy", "sample", "--temperature", "0.7", "--temperature-last", "--json") == 0
    trace = Trace.from_json(capsys.readouterr().out)
    assert trace.settings["temperature_last"] is True
    assert list(trace.steps[0].candidates[0].probs)[1:-1] == ["top_k", "temperature"]


@pytest.mark.parametrize(
    ("order", "message"),
    [
        ("top_k;topp", "argument --sampler-order: sampler_order: 'topp' is not a stage; the stages are "),
        ("top_k;top_k", "argument --sampler-order: sampler_order must list each stage once, got 'top_k'"),
        ("top_p", "argument --sampler-order: sampler_order leaves out top_k, which this run applies (top_k = 50)"),
    ],
)
def test_a_bad_order_exits_2_naming_the_flag(tiny_dir, capsys, order, message):
    with pytest.raises(SystemExit) as exit_info:
        run(tiny_dir, "--strategy", "sample", "--sampler-order", order)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
