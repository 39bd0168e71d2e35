"""Imports run one way: every import statement of zoo/ (at module level and inside functions)
goes to a package of lower rank, or stays inside its own package without a cycle.

    base (errors, checks, registry, atomic, seeds, machine, plugins, tensorflow_logs)
      -> layers, data (independent of each other) -> objectives -> config
      -> models -> export -> evaluation -> training -> cli

The package root (zoo/__init__.py) is the composition root: it may name any module, and the
providers it declares to `zoo.plugins` (a lower package calling a higher one, as
`model.export`) count as its imports.
"""

import ast
import pathlib

ZOO = pathlib.Path(__file__).resolve().parents[1] / "zoo"
BASE = ("errors", "checks", "registry", "atomic", "seeds", "machine", "plugins", "tensorflow_logs")
RANKS = {"base": 0, "layers": 1, "data": 1, "objectives": 2, "config": 3, "models": 4, "export": 5,
         "evaluation": 6, "training": 7, "cli": 8, "": 9}


def package_of(module):
    """'zoo.models.vae' -> 'models'; 'zoo.errors' -> 'base'; 'zoo' and 'zoo.__main__' -> '' (the root)."""
    parts = module.split(".")
    name = parts[1] if len(parts) > 1 and parts[1] != "__main__" else ""
    return "base" if name in BASE else name


def module_name(file):
    parts = file.relative_to(ZOO.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(tree, modules):
    """Every zoo module an import statement anywhere in `tree` names (with its line), and the
    providers a `plugins.provide(name, "module:function")` call declares."""
    found = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "zoo":
            submodules = [f"{node.module}.{alias.name}" for alias in node.names]  # from zoo import seeds
            names = [m for m in submodules if m in modules] or [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names if alias.name.split(".")[0] == "zoo"]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "provide"
              and len(node.args) == 2 and isinstance(node.args[1], ast.Constant)):
            names = [node.args[1].value.split(":")[0]]
        found += [(name, node.lineno) for name in names if name in modules]
    return found


def import_graph():
    """{module: [(imported zoo module, line)]} over every file of zoo/."""
    files = {module_name(file): file for file in ZOO.rglob("*.py")}
    return {name: [(m, line) for m, line in imports_of(ast.parse(file.read_text()), files) if m != name]
            for name, file in files.items()}


def back_arrows(graph):
    """Imports against the ranks: "source:line -> target" for each."""
    wrong = []
    for source, imported in graph.items():
        for target, line in imported:
            mine, theirs = package_of(source), package_of(target)
            if mine != theirs and RANKS[theirs] >= RANKS[mine] and mine != "":
                wrong.append(f"{source}:{line} -> {target}")
    return wrong


def find_cycle(graph):
    done, path = set(), []

    def visit(node):
        if node in path:
            return path[path.index(node):] + [node]
        if node in done:
            return None
        path.append(node)
        for neighbour in sorted(graph[node]):
            cycle = visit(neighbour)
            if cycle:
                return cycle
        path.pop()
        done.add(node)
        return None

    return next((cycle for node in sorted(graph) if (cycle := visit(node))), None)


def test_every_package_has_a_rank():
    packages = {package_of(module) for module in import_graph()}
    assert packages <= set(RANKS), f"packages without a rank: {sorted(packages - set(RANKS))}"


def test_no_import_against_the_ranks_at_any_depth():
    assert back_arrows(import_graph()) == []


def test_no_import_cycle_between_modules():
    graph = {source: {target for target, _ in imported} for source, imported in import_graph().items()}
    assert "zoo.models.vae" in graph and "zoo.export.savedmodel" in graph
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_walk_sees_imports_inside_functions_and_declared_providers():
    tree = ast.parse("def f():\n    from zoo.training import train\n"
                     "plugins.provide('export', 'zoo.export.savedmodel:export')\n")
    modules = {"zoo.training", "zoo.training.train", "zoo.export.savedmodel"}
    assert {name for name, _ in imports_of(tree, modules)} == {"zoo.training.train", "zoo.export.savedmodel"}
    graph = {"zoo.models.vae": [("zoo.training.train", 2)], "zoo.training.train": [("zoo.models.vae", 1)],
             "zoo": [("zoo.export.savedmodel", 3)]}
    assert back_arrows(graph) == ["zoo.models.vae:2 -> zoo.training.train"]


def test_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
