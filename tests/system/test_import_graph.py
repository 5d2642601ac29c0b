"""fastnn's modules import one another without a cycle, lazy imports (inside
functions) included; dependencies point down the layers of docs/architecture.md and
never back up; only fastnn.ops imports the compiled kernels; fastnn.saving imports none
of the classes it saves. Every import of every module is read with ast, not run."""

import ast
import os

import pytest

import fastnn

PACKAGE = os.path.dirname(os.path.abspath(fastnn.__file__))


def _modules():
    """Module name -> path of every hand-written .py module of fastnn."""
    modules = {}
    for folder, _, files in os.walk(PACKAGE):
        for file in files:
            if file.endswith(".py"):
                path = os.path.join(folder, file)
                parts = os.path.relpath(path, os.path.dirname(PACKAGE))[:-3].split(os.sep)
                if parts[-1] == "__init__":
                    parts.pop()
                modules[".".join(parts)] = path
    return modules


def _imported_names(path):
    """Every module name ``path`` imports (absolute imports; fastnn uses no relative)."""
    with open(path, encoding="utf-8") as file:
        tree = ast.parse(file.read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def _imported(name, path, modules):
    """The fastnn modules ``name`` imports anywhere in its file; importing a module
    runs its packages' ``__init__`` too, except the top-level fastnn (the public
    facade, which imports everything) and the packages ``name`` itself is in."""
    package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    targets = set()
    with open(path, encoding="utf-8") as file:
        tree = ast.parse(file.read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            targets.add(base)
            targets.update(f"{base}.{alias.name}" for alias in node.names)
    edges = set()
    for target in targets:
        parts = target.split(".")
        for end in range(2, len(parts) + 1):  # each package on the way, then the module
            module = ".".join(parts[:end])
            if module in modules and not (name == module or name.startswith(module + ".")):
                edges.add(module)
    return edges


def _graph():
    modules = _modules()
    return {name: _imported(name, path, modules) for name, path in modules.items()}


def _cycle(graph):
    """One import cycle as a list of modules, or None."""
    state, stack = {}, []

    def visit(module):
        state[module] = "open"
        stack.append(module)
        for other in sorted(graph[module]):
            if state.get(other) == "open":
                return stack[stack.index(other):] + [other]
            if other not in state:
                found = visit(other)
                if found:
                    return found
        stack.pop()
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state:
            found = visit(module)
            if found:
                return found
    return None


def test_the_graph_is_read():
    graph = _graph()
    assert "fastnn.saving.container" in graph["fastnn.saving"]
    assert {"fastnn.saving", "fastnn.saving.registry"} <= graph["fastnn.nn.layers"]
    assert "fastnn.models" in graph["fastnn.estimators._mlp"]


def test_no_import_cycle():
    cycle = _cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("module", [m for m in _graph() if m.startswith("fastnn.saving")])
def test_saving_imports_nothing_it_saves(module):
    assert all(other.startswith("fastnn.saving") for other in _graph()[module])


# The layers, bottom first (docs/architecture.md): a module may import its own layer and
# the layers below it, never one above. fastnn/__init__.py (the facade) sits on top.
LAYERS = [
    ("fastnn._kernels", "fastnn._threads", "fastnn.metrics", "fastnn.utils", "fastnn.graph"),
    ("fastnn.ops",),
    ("fastnn.saving",),
    ("fastnn.nn", "fastnn.activations", "fastnn.initializers", "fastnn.layers",
     "fastnn.losses", "fastnn.optimizers"),
    ("fastnn.models", "fastnn.callbacks"),
    ("fastnn.estimators",),
    ("fastnn.cli", "fastnn.__main__", "fastnn.onnx"),
]


def _layer(module):
    if module == "fastnn":
        return len(LAYERS)
    for rank, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return rank
    raise AssertionError(f"{module} is in no layer of LAYERS: file it")


def test_dependencies_point_down():
    upward = [f"{module} -> {other}" for module, imports in _graph().items()
              for other in imports if _layer(other) > _layer(module)]
    assert not upward, "imports up the layers: " + ", ".join(sorted(upward))


def test_graph_imports_nothing_else_from_fastnn():
    for module, imports in _graph().items():
        if module.startswith("fastnn.graph"):
            assert all(other.startswith("fastnn.graph") for other in imports), module


def test_only_ops_imports_the_compiled_kernels():
    for name, path in _modules().items():
        if name == "fastnn.ops" or name.startswith("fastnn.ops."):
            continue
        compiled = [target for target in _imported_names(path)
                    if target.startswith("fastnn._kernels")]
        assert not compiled, f"{name} imports {compiled}: go through fastnn.ops"
