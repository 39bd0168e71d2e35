"""What a lower package calls and a higher one provides, so imports run one way.

A model's `export(path)` (zoo.models) is written by zoo.export, a package above it: models
ask for the function here by name, and the composition root (`zoo/__init__.py`) says which
module provides it; that module is imported on first use. `tests/test_layout.py` counts these
as imports of the root, which may import every package.
"""

import importlib

from zoo.errors import ZooError

_PROVIDERS = {}  # name -> "module:function"


def provide(name, target):
    """Declare that `target` ("package.module:function") provides `name`."""
    _PROVIDERS[name] = target


def get(name):
    """The function that provides `name`, its module imported now if it was not yet."""
    if name not in _PROVIDERS:
        raise ZooError(f"nothing provides {name!r}: import zoo (its __init__ declares the providers)")
    module, function = _PROVIDERS[name].split(":")
    return getattr(importlib.import_module(module), function)
