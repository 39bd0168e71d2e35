"""Recipes: one short module per trained variant, each defining `RECIPE`.

Modules in this package are found by name, so adding a recipe is adding a file. `RECIPES`
imports them all on first use (recipes are plain data: no TensorFlow until one is checked
or trained); `descriptions()` reads them without importing anything.
"""

import ast
import importlib
import pathlib
import pkgutil

_FOLDER = pathlib.Path(__file__).resolve().parent


def descriptions():
    """{recipe name: description}, read from each recipe file's `RECIPE = Recipe(...)` call."""
    found = {}
    for module in pkgutil.iter_modules([str(_FOLDER)]):
        tree = ast.parse((_FOLDER / f"{module.name}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "description" and isinstance(node.value, ast.Constant):
                found[module.name] = node.value.value
                break
    return dict(sorted(found.items()))


def _load():
    from zoo.registry import Registry

    registry = Registry("recipe")
    for module in pkgutil.iter_modules([str(_FOLDER)]):
        recipe = importlib.import_module(f"{__name__}.{module.name}").RECIPE
        if recipe.name != module.name:
            raise ValueError(f"recipes/{module.name}.py defines a recipe named {recipe.name!r}")
        registry.register(recipe.name)(recipe)
    return registry


def __getattr__(name):
    if name != "RECIPES":
        raise AttributeError(f"module 'recipes' has no attribute {name!r}")
    global RECIPES
    RECIPES = _load()
    return RECIPES
