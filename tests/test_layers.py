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
    """``layer.module`` (or ``layer.package.module``; a package's ``__init__`` by the package's name) -> its file, for
    every module of every layer."""
    found = {}
    for layer in LAYERS:
        for path in sorted((PACKAGE / layer).rglob("*.py")):
            parts = path.relative_to(PACKAGE).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def imported(name: str, path: pathlib.Path) -> set[str]:
    """The modules of :func:`modules` that the module ``name`` imports, relative or absolute."""
    known = modules()
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = package[: len(package) - (node.level - 1)]
        elif (node.module or "").startswith("lthlib"):
            base, node = (
                [],
                ast.ImportFrom(module=node.module.removeprefix("lthlib").lstrip(".") or None, names=node.names),
            )
        else:
            continue
        target = base + (node.module.split(".") if node.module else [])
        for alias in node.names:
            for candidate in (target + [alias.name], target):
                if ".".join(candidate) in known:
                    found.add(".".join(candidate))
                    break
    return found - {name}


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
