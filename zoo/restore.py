"""An export back as a Python `VAE`, with its TFP distributions, for evaluation and pictures.

The export's config.json names the variant; its weights are the SavedModel's variables,
which `ExportArchive` stores in the model's own variable order.
"""

import json
import os

import tensorflow as tf

from zoo.config import Recipe
from zoo.errors import ZooError
from zoo.loading import resolve_version


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

    path = resolve_version(path)
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
