"""The package's layers are its folders: the engine imports nothing from the book's analysis or the command line,
the analysis nothing from the command line, and no module imports itself back through others (every import
counts, those inside functions too)."""

from __future__ import annotations

import ast
import pathlib

import lthlib

PACKAGE = pathlib.Path(lthlib.__file__).parent
LAYERS = ("engine", "analysis", "cli")  # each may import only from itself and the layers before it


def modules() -> dict[str, pathlib.Path]:
    """``layer.module`` -> its file, for every module of every layer."""
    return {
        f"{layer}.{path.stem}": path
        for layer in LAYERS
        for path in sorted((PACKAGE / layer).glob("*.py"))
        if path.stem != "__init__"
    }


def imported(name: str, path: pathlib.Path) -> set[str]:
    """The ``layer.module`` names the module ``name`` imports, relative or absolute."""
    layer = name.split(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level == 1:
            base = [layer]
        elif node.level == 2:
            base = []
        elif (node.module or "").startswith("lthlib"):
            base, node = (
                [],
                ast.ImportFrom(module=node.module.removeprefix("lthlib").lstrip(".") or None, names=node.names),
            )
        else:
            continue
        parts = base + (node.module.split(".") if node.module else [])
        if len(parts) >= 2:
            found.add(".".join(parts[:2]))
        else:
            found |= {".".join([*parts, alias.name]) for alias in node.names}
    return found & set(modules())


def graph() -> dict[str, set[str]]:
    return {name: imported(name, path) for name, path in modules().items()}


def test_the_package_is_its_layers():
    assert sorted(path.name for path in PACKAGE.glob("*.py")) == ["__init__.py", "__main__.py"]
    assert {name.split(".")[0] for name in modules()} == set(LAYERS)


def test_a_layer_imports_only_from_itself_and_the_layers_before_it():
    rank = lambda name: LAYERS.index(name.split(".")[0])
    upward = [f"{a} imports {b}" for a, targets in graph().items() for b in sorted(targets) if rank(b) > rank(a)]
    assert upward == []
    assert graph()["analysis.chapter"] and graph()["cli.commands"]  # the parser reads imports at all


def test_no_import_cycles():
    edges, cycles, state = graph(), [], {}

    def visit(module, path):
        state[module] = "open"
        for other in sorted(edges[module]):
            if state.get(other) == "open":
                cycles.append(" -> ".join([*path[path.index(other) :], other]))
            elif other not in state:
                visit(other, [*path, other])
        state[module] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert cycles == []
