"""Imports run one way: no circles among playground's modules or its top-level packages, and no import from a
lower layer to a higher one. The graph is read from the source with `ast`, every import counted: those inside
functions and those only for type checking too.

A module belongs to the layer of its top-level package or module (`playground.engine.speculative.chain` is
`engine`), so a new module in a package is covered; a new top-level package or module must be given a layer
here. Importing `playground.a.b` also runs `playground/a/__init__.py`: that counts as an import of `playground.a`,
except from inside `playground.a` itself (its `__init__` is then already running).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "playground"

# Low to high. A module may import from its own layer or a lower one.
LAYERS = [
    (
        "base",
        {"settings", "trace", "words", "characters", "speedup", "knobs", "stages", "palette", "lease", "logit_lens"},
    ),
    # medusa, eagle and suffix: the drafts' modules, their shipped files and their loading
    ("models", {"models", "medusa", "eagle", "suffix"}),
    # compress: LLMLingua-style prompt compression, the model as its scorer; fork: the forking analysis, runs of it
    ("engine", {"engine", "compress", "fork"}),
    ("readers", {"lens", "summary", "plots", "run_tree", "training"}),
    # "": the package's own __init__
    ("surfaces", {"cli", "compress_cli", "lens_cli", "fork_cli", "ui", "spaces", "__main__", ""}),
]


def module_names(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its name, for its __init__)."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = [root.name, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _targets(node: ast.Import | ast.ImportFrom, name: str, is_package: bool, modules: dict) -> list[str]:
    """The package's modules one import statement names, in `name` (a package when `is_package`)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:  # relative: from the importing module's package, `level - 1` packages up
        package = name.split(".") if is_package else name.split(".")[:-1]
        base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
    # `from a import b` imports the module a.b when there is one, else the name b from a.
    return [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]


def _with_packages(target: str, importer: str, modules: dict) -> set[str]:
    """`target` and the packages above it whose __init__ importing it runs (not the importer's own)."""
    parts = target.split(".")
    found = {".".join(parts[:i]) for i in range(1, len(parts) + 1)} & set(modules)
    return {m for m in found if m == target or not (importer == m or importer.startswith(m + "."))}


def import_graph(root: Path = ROOT) -> dict[str, dict[str, int]]:
    """module -> {imported module -> line of the first import}, for the package's own modules only."""
    modules = module_names(root)
    graph: dict[str, dict[str, int]] = {}
    for name, path in modules.items():
        edges = graph.setdefault(name, {})
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for target in _targets(node, name, is_package, modules):
                    for found in _with_packages(target, name, modules) - {name}:
                        edges.setdefault(found, node.lineno)
    return graph


def unit(module: str) -> str:
    """The top-level package or module a module belongs to ("" for the package's own __init__)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer(module: str) -> int:
    """The index in LAYERS of a module's layer."""
    for index, (_, units) in enumerate(LAYERS):
        if unit(module) in units:
            return index
    raise AssertionError(f"{module} is in no layer: add playground.{unit(module)} to LAYERS in tests/test_layers.py")


def cycles(graph: dict[str, set[str] | dict[str, int]]) -> list[list[str]]:
    """The graph's strongly connected components of more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _holding(graph: dict[str, dict[str, int]], members: list[str], name=lambda module: module) -> str:
    """The imports that hold a circle of `members` (modules, or packages through `name`) together, as
    `importer:line -> imported`."""
    inside = set(members)
    return "; ".join(
        f"{a}:{line} -> {b}"
        for a, edges in sorted(graph.items())
        for b, line in sorted(edges.items())
        if name(a) in inside and name(b) in inside and name(a) != name(b)
    )


def test_every_module_has_a_layer():
    for module in module_names():
        layer(module)


def test_no_import_runs_from_a_lower_layer_to_a_higher_one():
    graph = import_graph()
    upward = [
        f"{a}:{line} imports {b} ({LAYERS[layer(a)][0]} -> {LAYERS[layer(b)][0]})"
        for a, edges in sorted(graph.items())
        for b, line in sorted(edges.items())
        if layer(b) > layer(a)
    ]
    assert not upward, "imports from a lower layer to a higher one: " + "; ".join(upward)


def test_no_module_imports_itself_through_others():
    graph = import_graph()
    found = cycles(graph)
    assert not found, "import circles: " + " | ".join(_holding(graph, members) for members in found)


def test_no_top_level_packages_import_each_other():
    graph = import_graph()
    units: dict[str, set[str]] = {}
    for a, edges in graph.items():
        units.setdefault(unit(a), set()).update(unit(b) for b in edges if unit(b) != unit(a))
    found = cycles(units)
    assert not found, "package circles: " + " | ".join(_holding(graph, members, unit) for members in found)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from playground.models import loader\n", {"playground.models.loader", "playground.models"}),
        ("def f():\n    from playground.medusa.draft import x\n", {"playground.medusa.draft", "playground.medusa"}),
        ("from . import b\n", {"playground.pkg.b"}),
    ],
)
def test_the_graph_counts_function_local_imports_and_the_packages_they_run(tmp_path, source, expected):
    root = tmp_path / "playground"
    for path in ("__init__.py", "models/__init__.py", "models/loader.py", "medusa/__init__.py", "medusa/draft.py",
                 "pkg/__init__.py", "pkg/b.py"):  # fmt: skip
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text("")
    (root / "pkg" / "a.py").write_text(source)
    assert set(import_graph(root)["playground.pkg.a"]) == expected


def test_the_cycle_check_finds_a_circle_and_only_that():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
