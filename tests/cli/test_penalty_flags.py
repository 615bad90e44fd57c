"""The presence/frequency and DRY flags reach the trace, each stage is recorded under its name, and the trace's
settings read back as the same Settings (export and import)."""

import json

import pytest

from playground.cli import main
from playground.settings import Settings
from playground.trace import Trace

FLAGS = ["--presence-penalty", "0.5", "--frequency-penalty", "0.25", "--penalty-last-n", "-1"]
FLAGS += ["--dry-multiplier", "0.8", "--dry-base", "2", "--dry-allowed-length", "3", "--dry-penalty-last-n", "128"]


def run(tiny_dir, *flags):
    return main(["generate", "--model", tiny_dir, "--precision", "fp32", "--prompt", "abcabcabc", "--raw", *flags])


def test_penalty_flags_reach_the_trace_and_read_back(tiny_dir, capsys):
    breakers = ["--dry-sequence-breakers", json.dumps(["\n", "::"]), "--dry-sequence-breakers", "*"]
    assert run(tiny_dir, *FLAGS, *breakers, "--max-new-tokens", "3", "--json") == 0
    trace = Trace.from_json(capsys.readouterr().out.strip())
    expected = dict(presence_penalty=0.5, frequency_penalty=0.25, penalty_last_n=-1, dry_multiplier=0.8, dry_base=2.0)
    expected |= dict(dry_allowed_length=3, dry_penalty_last_n=128, dry_sequence_breakers=["\n", "::", "*"])
    assert {k: trace.settings[k] for k in expected} == expected
    assert {"presence_frequency", "dry"} <= set(trace.steps[0].candidates[0].probs)
    again = Settings.from_dict(Trace.from_json(trace.to_json()).settings)
    assert again.dry_sequence_breakers == ("\n", "::", "*") and again == Settings.from_dict(trace.settings)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--dry-base", "0.5"], "argument --dry-base: dry_base must be >= 1, got 0.5"),
        (["--penalty-last-n", "-3"], "argument --penalty-last-n: penalty_last_n must be >= -1, got -3"),
        (["--dry-sequence-breakers", "[1, 2]"], "must be a JSON list of strings or one string"),
    ],
)
def test_bad_penalty_flags_exit_2_naming_the_flag(tiny_dir, capsys, flags, message):
    with pytest.raises(SystemExit) as exit_:
        run(tiny_dir, *flags)
    assert exit_.value.code == 2 and message in capsys.readouterr().err
