"""What a `--workdir` holds: the backup a killed run resumes from, and the recipe that
started it, so that resuming with another recipe is refused instead of half-applied.

A resumed run restores weights, optimizer state (the learning rate included) and epoch
from the backup: a changed learning rate would be silently ignored, a changed network would
fail deep inside TensorFlow. Only `epochs` may change (to train on from where it stopped).
"""

import json
import os

from zoo.atomic import write_json
from zoo.config.upgrade import upgrade_recipe_dict
from zoo.errors import ConfigError

BACKUP, RECIPE_FILE = "backup", "recipe.json"
RESUMABLE_CHANGES = ("epochs",)


def backup_dir(workdir):
    return os.path.join(workdir, BACKUP)


def has_backup(workdir):
    """Whether `workdir` holds a checkpoint to resume (Keras writes it to backup/chief)."""
    return os.path.isfile(os.path.join(backup_dir(workdir), "chief", "checkpoint"))


def claim(workdir, recipe, write=True):
    """Make `workdir`, refuse `recipe` if it differs from the one whose backup is there,
    and (if `write`) record `recipe` as the workdir's. Runs before any data is loaded."""
    path = os.path.join(workdir, RECIPE_FILE)
    now = json.loads(recipe.to_json())
    if has_backup(workdir) and os.path.isfile(path):
        with open(path) as f:
            before = upgrade_recipe_dict(json.load(f))  # written by this zoo or an earlier one
        difference = next(differences(before, now), None)
        if difference:
            field, old, new = difference
            raise ConfigError(field, new, f"{old!r}, the value the backup in {backup_dir(workdir)} was "
                                          "trained with (resume with the same config, only epochs may "
                                          "change; or use a new --workdir)")
    os.makedirs(workdir, exist_ok=True)
    if write:
        write_json(path, now)


def differences(before, now):
    """(field, before, now) for each field of two `Recipe.to_dict()`s that may not change
    (fields `before` lacks come from a newer zoo and held their defaults)."""
    if before.get("name") != now["name"]:
        yield "recipe", before.get("name"), now["name"]
    for section in ("model", "train"):
        old, new = before.get(section, {}), now[section]
        for field in new:
            if field in old and field not in RESUMABLE_CHANGES and old[field] != new[field]:
                yield field, old[field], new[field]
