"""fastnn's modules import one another without a cycle, lazy imports (inside
functions) included, and fastnn.saving imports none of the classes it saves: every
import of every module is read with ast, not run."""

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
    assert {"fastnn.saving", "fastnn.saving.registry"} <= graph["fastnn.layers"]
    assert "fastnn.models" in graph["fastnn.estimators._mlp"]


def test_no_import_cycle():
    cycle = _cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("module", [m for m in _graph() if m.startswith("fastnn.saving")])
def test_saving_imports_nothing_it_saves(module):
    assert all(other.startswith("fastnn.saving") for other in _graph()[module])
