"""`python -m playground lens`: the run's text and the layer table of --step, --json's record with
first_top1_layer, and bad values named by their flag."""

import json

import pytest

from playground.cli import main
from playground.engine import generate
from playground.engine.logit_lens import lens_step
from playground.models import load_model
from playground.plots.logit_lens import top1_sentence
from playground.settings import Settings

PROMPT = "The cat"
FLAGS = ["--max-new-tokens", "5", "--min-new-tokens", "5", "--raw"]


def lens(tiny_dir, *flags):
    return main(["lens", "--model", tiny_dir, "--precision", "fp32", "--prompt", PROMPT, *FLAGS, *flags])


def engine_lens(tiny_dir, step, strategy="greedy", **knobs):
    loaded = load_model(tiny_dir, "fp32")
    settings = Settings(strategy=strategy, max_new_tokens=5, min_new_tokens=5, chat=False, **knobs)
    trace = generate(loaded, PROMPT, settings)
    return trace, lens_step(loaded, trace, step)


def test_the_table_has_a_row_per_layer_for_the_step(tiny_dir, capsys):
    assert lens(tiny_dir, "--step", "3") == 0
    out = capsys.readouterr().out.splitlines()
    trace, expected = engine_lens(tiny_dir, 3)
    head = out.index(next(line for line in out if line.startswith("--- step 3:")))
    rows = out[head + 2 : -1]
    assert "\n".join(out[:head]) == trace.output.text
    assert [row.split()[0] for row in rows] == ["emb", *(str(i) for i in range(1, expected.num_layers + 1))]
    assert [int(row.split()[1]) for row in rows] == [layer.chosen_rank for layer in expected.layers]
    assert out[-1] == top1_sentence(expected)


def test_json_is_the_engines_lens_with_the_sampling_flags(tiny_dir, capsys):
    assert lens(tiny_dir, "--json", "--strategy", "sample", "--seed", "7", "--temperature", "1.3") == 0
    data = json.loads(capsys.readouterr().out)
    trace, expected = engine_lens(tiny_dir, 1, strategy="sample", seed=7, temperature=1.3)
    assert data["step"] == 1 and data["output"] == trace.output.text
    assert data["first_top1_layer"] == expected.first_top1_layer
    assert data["layers"] == expected.to_dict()["layers"]
    assert {"token_id", "token_text", "num_layers", "model", "precision"} <= set(data)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--step", "9"], "argument --step: must be a whole number from 1 to 5, got 9"),
        (["--step", "0"], "argument --step: must be a whole number from 1 to 5, got 0"),
        (["--strategy", "sample", "--temperature", "-1"], "argument --temperature:"),
    ],
)
def test_a_bad_value_is_named_by_its_flag(tiny_dir, capsys, flags, message):
    with pytest.raises(SystemExit) as exited:
        lens(tiny_dir, *flags)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err
