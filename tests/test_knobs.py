"""The knob table covers every setting once, and the command line offers exactly its flags."""

import dataclasses
import re
from pathlib import Path

import pytest

from playground.cli import build_parser
from playground.knobs import KNOBS
from playground.settings import STRATEGIES, Settings


def test_every_setting_is_one_knob():
    fields = [f.name for f in dataclasses.fields(Settings) if f.name != "limits"]
    assert sorted(knob.name for knob in KNOBS) == sorted(fields)
    assert all(knob.label and knob.help and set(knob.strategies) <= set(STRATEGIES) for knob in KNOBS)


def test_the_command_line_takes_each_knob_by_its_field_name(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["generate", "--help"])
    flags = set(re.findall(r"--[a-z][a-z-]*", capsys.readouterr().out))
    assert {knob.flag for knob in KNOBS if knob.name != "chat"} | {"--chat", "--raw"} <= flags


def test_the_readme_lists_every_flag():
    readme = Path(__file__).resolve().parents[1].joinpath("README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"--[a-z][a-z-]*", readme))
    assert {knob.flag for knob in KNOBS if knob.name != "chat"} <= listed
