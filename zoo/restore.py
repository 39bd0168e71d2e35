"""An export back as a Python `VAE`, with its TFP distributions, for evaluation and pictures.

The export's config.json names the variant; its weights are the SavedModel's variables,
which `ExportArchive` stores in the model's own variable order.
"""

import json
import os

import tensorflow as tf

from zoo.config import Recipe
from zoo.errors import ZooError


def resolve_export(path):
    """A version folder as given, or a recipe folder's highest integer version."""
    if not os.path.isdir(path):
        raise ZooError(f"{path}: no such export folder")
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        return path
    versions = [int(name) for name in os.listdir(path)
                if name.isdigit() and os.path.isfile(os.path.join(path, name, "saved_model.pb"))]
    if not versions:
        raise ZooError(f"{path}: neither a SavedModel nor a folder of integer SavedModel versions")
    return os.path.join(path, str(max(versions)))


def read_json(path, name, default=None):
    file = os.path.join(path, name)
    if not os.path.isfile(file):
        if default is not None:
            return default
        raise ZooError(f"{path}: no {name}; it is not an export written by zoo")
    with open(file) as f:
        return json.load(f)


def restore_vae(path):
    """(model, recipe, version folder) for the export at `path` (a version or recipe folder)."""
    from zoo.model import VAE

    path = resolve_export(path)
    try:
        recipe = Recipe.from_dict(read_json(path, "config.json"))
    except (KeyError, TypeError) as error:
        raise ZooError(f"{path}/config.json does not describe a recipe this zoo knows: {error}") from None
    model = VAE(recipe.model, name=recipe.name)
    saved = tf.saved_model.load(path).variables
    if [tuple(v.shape) for v in saved] != [tuple(v.shape) for v in model.variables]:
        raise ZooError(f"{path}: its variables do not fit the model its config.json describes")
    for target, value in zip(model.variables, saved):
        target.assign(value)
    return model, recipe, path
