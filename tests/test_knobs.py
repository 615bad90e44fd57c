"""The knob table covers every setting once, the command line offers exactly its flags, and every knob of the
page's side column names one of its families."""

import dataclasses
import re
from pathlib import Path

import pytest

from playground.cli import build_parser
from playground.knobs import FAMILIES, KNOBS
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


def test_every_side_knob_names_a_family_of_the_table_and_no_other_knob_names_one():
    names = [family.name for family in FAMILIES]
    assert len(set(names)) == len(names) and "Mirostat" in names  # its rows only name it when they land
    for knob in KNOBS:
        if knob.widget is None:
            continue
        if knob.widget.side and not knob.widget.tab:
            assert knob.widget.family in names, f"{knob.name}: its widget names no family of FAMILIES"
        else:
            assert knob.widget.family is None, f"{knob.name} is not in the side column, yet names a family"


def test_the_common_families_open_and_the_expert_ones_start_closed():
    opened = {family.name: family.open for family in FAMILIES}
    assert opened["Temperature and shape"] and opened["Filters"] and opened["Penalties"] and opened["Length and seed"]
    assert not opened["Mirostat"] and not opened["Order"]
