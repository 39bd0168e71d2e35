"""Recipes: one short module per trained variant, each defining `RECIPE`.

Modules in this package are found by name, so adding a recipe is adding a file.
"""

import importlib
import pkgutil

from zoo.registry import Registry

RECIPES = Registry("recipe")

for _module in pkgutil.iter_modules(__path__):
    _recipe = importlib.import_module(f"{__name__}.{_module.name}").RECIPE
    if _recipe.name != _module.name:
        raise ValueError(f"recipes/{_module.name}.py defines a recipe named {_recipe.name!r}")
    RECIPES.register(_recipe.name)(_recipe)
