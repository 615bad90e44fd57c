"""`python -m playground fork`: the run's text and a table of positions, --json's ForkAnalysis, progress on stderr,
and bad values (a regular expression, a cap, the budget) named by their flag with exit code 2."""

import json

import pytest

from playground.cli import main
from playground.fork.result import ForkAnalysis

FLAGS = ["--raw", "--max-new-tokens", "4", "--samples", "2", "--alternatives", "1", "--continuation-tokens", "3"]


def fork(tiny_dir, *flags):
    return main(["fork", "--model", tiny_dir, "--precision", "fp32", "--prompt", "the cat", *FLAGS, *flags])


def test_the_table_lists_each_position_with_its_outcomes(tiny_dir, capsys):
    assert fork(tiny_dir, "--rule", "first_word", "--stride", "2") == 0
    out, err = capsys.readouterr()
    lines = out.rstrip("\n").split("\n")
    head = next(i for i, line in enumerate(lines) if line.startswith("--- outcome: the first word of the text"))
    rows = lines[head + 2 : -2]
    assert [int(row[2:6]) for row in rows] == [0, 2][: len(rows)] and rows
    assert lines[-2].startswith("change points (tv > 0.3): ")
    assert lines[-1].startswith("sampled ") and "tokens/s" in lines[-1]
    # The tiny model's 3-token continuations rarely end on their own: the line says how many were cut there.
    assert " continuations reached --continuation-tokens before they ended" in lines[-1]
    assert "fork: " in err and " branches, position " in err  # progress goes to stderr


def test_json_is_the_analysis(tiny_dir, capsys):
    assert fork(tiny_dir, "--rule", "regex", "--pattern", "(\\w)", "--positions", "2", "--json") == 0
    analysis = ForkAnalysis.from_dict(json.loads(capsys.readouterr().out))
    assert analysis.request.pattern == "(\\w)" and analysis.request.samples == 2
    assert len(analysis.positions) <= 2 and analysis.stopped is None
    assert all(len(b.samples) == 2 for p in analysis.positions for b in p.branches)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--rule", "regex", "--pattern", "(a"], "argument --pattern: outcome_pattern is not a valid regular"),
        (["--rule", "marker"], "argument --pattern: the marker rule needs a pattern"),
        (["--alternatives", "9"], "argument --alternatives: alternatives must be a whole number from 0 to 8"),
        (["--samples", "100", "--continuation-tokens", "60"], "argument --samples: the analysis would sample up to"),
    ],
)
def test_bad_values_are_named_by_their_flag(tiny_dir, capsys, flags, message):
    with pytest.raises(SystemExit) as ended:
        fork(tiny_dir, *flags)
    assert ended.value.code == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize("command", ["fork", "lens"])
def test_a_model_that_cannot_be_loaded_exits_1_with_one_line(tmp_path, capsys, command):
    assert main([command, "--model", str(tmp_path / "missing"), "--prompt", "the cat"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: No model directory at ")
