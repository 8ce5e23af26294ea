"""The package's layers: the engine imports nothing from the book's analysis or the command line, and no module
imports itself back through others (every import counts, those inside functions too)."""

from __future__ import annotations

import ast
import pathlib

import lthlib

PACKAGE = pathlib.Path(lthlib.__file__).parent

# Each module of lthlib in one layer; a layer may import only from itself and the layers before it.
LAYERS = {
    "engine": {
        "config",
        "sources",
        "data",
        "models",
        "masks",
        "actions",
        "seeds",
        "train",
        "supermask",
        "probes",
        "experiments",
        "store",
        "verify",
        "sweep",
        "bench",
    },
    "analysis": {
        "stats",
        "claims",
        "summary",
        "report",
        "plots",
        "bits",
        "overlap",
        "chapter",
        "lottery",
        "zhou",
        "review",
        "conclusions",
    },
    "command line": {"arguments", "chapter_run", "cli", "__main__"},
}


def imports() -> dict[str, set[str]]:
    """Module name -> the lthlib modules it imports, read from the source."""
    found = {}
    for path in PACKAGE.glob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                names |= {node.module} if node.module else {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("lthlib."):
                names.add(node.module.split(".")[1])
        found[path.stem] = {name.split(".")[0] for name in names} - {"__version__"}
    return found


def test_every_module_has_a_layer():
    assert set(imports()) - {"__init__"} == set().union(*LAYERS.values())


def test_a_layer_imports_only_from_itself_and_the_layers_before_it():
    order = list(LAYERS)
    layer_of = {module: order.index(layer) for layer, modules in LAYERS.items() for module in modules}
    upward = [
        f"{module} ({order[layer_of[module]]}) imports {other} ({order[layer_of[other]]})"
        for module, others in imports().items()
        if module in layer_of
        for other in others
        if layer_of[other] > layer_of[module]
    ]
    assert upward == []


def test_no_import_cycles():
    graph = imports()
    cycles, state = [], {}

    def visit(module, path):
        state[module] = "open"
        for other in sorted(graph.get(module, ())):
            if state.get(other) == "open":
                cycles.append(" -> ".join([*path[path.index(other) :], other]))
            elif other not in state:
                visit(other, [*path, other])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []
