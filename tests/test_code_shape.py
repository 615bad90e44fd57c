"""The code's shape as the style guide asks it: no function over 60 lines outside data tables, and none that takes
more than 8 parameters. Measured on the source with ast, so a new function is checked the day it lands."""

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "playground"
MAX_LINES = 60
MAX_PARAMETERS = 8
# Functions whose length is rows of data, not logic: (file under playground/, function name).
DATA_TABLES = {("ui/presets.py", "presets")}


def functions() -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every function and method in playground/, with its file's path under playground/."""
    for path in sorted(ROOT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                yield path.relative_to(ROOT).as_posix(), node


def lines(node: ast.AST) -> int:
    """A definition's length in lines, its decorators left out."""
    return node.end_lineno - node.lineno + 1


def parameters(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Parameters a caller can pass: `self` and `cls` left out, *args and **kwargs counted once each."""
    args = node.args
    named = [arg.arg for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    return len([name for name in named if name not in ("self", "cls")]) + bool(args.vararg) + bool(args.kwarg)


def test_no_function_is_over_60_lines_outside_the_data_tables():
    found = {(where, node.name) for where, node in functions()}
    assert found >= DATA_TABLES, f"a data table listed here no longer exists: {sorted(DATA_TABLES - found)}"
    long = [
        f"playground/{where}:{node.lineno} {node.name}: {lines(node)} lines"
        for where, node in functions()
        if (where, node.name) not in DATA_TABLES and lines(node) > MAX_LINES
    ]
    assert long == [], "split these into named steps:\n" + "\n".join(long)


def test_no_function_takes_more_than_8_parameters():
    many = [
        f"playground/{where}:{node.lineno} {node.name}: {parameters(node)} parameters"
        for where, node in functions()
        if parameters(node) > MAX_PARAMETERS
    ]
    assert many == [], "group what belongs together:\n" + "\n".join(many)
