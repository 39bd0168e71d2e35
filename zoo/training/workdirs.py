"""What a `--workdir` holds: the backup a killed run resumes from, and the recipe that
started it, so that resuming with another recipe is refused instead of half-applied.

A resumed run restores weights, optimizer state (the learning rate included) and epoch
from the backup: a changed learning rate would be silently ignored, a changed network would
fail deep inside TensorFlow. Only `epochs` may change (to train on from where it stopped),
and not below the epochs the backup has trained. `data.json` records the data the backup
was trained on (`TrainingData.fingerprint()`): a resume on other data is refused too.
"""

import json
import os

from zoo.atomic import write_json
from zoo.config.upgrade import upgrade_recipe_dict
from zoo.errors import ConfigError, DataError, first_line

BACKUP, RECIPE_FILE, DATA_FILE = "backup", "recipe.json", "data.json"
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
        before = upgrade_recipe_dict(_read_json(path, "recipe"))  # written by this zoo or an earlier one
        difference = next(differences(before, now), None)
        if difference:
            field, old, new = difference
            raise ConfigError(field, new, f"{old!r}, the value the backup in {backup_dir(workdir)} was "
                                          "trained with (resume with the same config, only epochs may "
                                          "change; or use a new --workdir)")
    os.makedirs(workdir, exist_ok=True)
    if write and _recordable(workdir, path):
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


def check_data(workdir, data, epochs, write=True):
    """Refuse to resume the backup in `workdir` on data other than its own (`data`: a
    `TrainingData.fingerprint()`), or for fewer `epochs` than it has trained; then (if
    `write`) record `data` and `epochs` as the workdir's. Runs after the data is loaded,
    before training."""
    path = os.path.join(workdir, DATA_FILE)
    if has_backup(workdir):
        if os.path.isfile(path):
            before = _read_json(path, "data")
            changed = [f"{field} {before.get(field)!r} then, {value!r} now" for field, value in data.items()
                       if field in before and before[field] != value]
            if changed:
                raise DataError(f"the backup in {backup_dir(workdir)} was trained on other data ({'; '.join(changed)}): "
                                "resume with the data it was started on, or use a new --workdir")
        trained = backup_epoch(workdir)
        if trained is not None and epochs < trained:
            raise ConfigError("epochs", epochs, f"at least {trained}: the backup in {backup_dir(workdir)} has trained "
                                                f"{trained} epochs (or use a new --workdir)")
    if write and _recordable(workdir, path):
        write_json(path, {**data, "epochs": epochs})


def _recordable(workdir, path):
    """Whether a run may write its record to `path`: a fresh run may; a resumed one only over
    the record it was checked against (a backup without one may turn out not to fit: its
    refused run must leave the workdir as it was)."""
    return not has_backup(workdir) or os.path.isfile(path)


def backup_epoch(workdir):
    """How many epochs the backup in `workdir` has trained (None if it does not say)."""
    import tensorflow as tf

    try:
        reader = tf.train.load_checkpoint(os.path.join(backup_dir(workdir), "chief"))
        return int(reader.get_tensor("ckpt_saved_epoch/.ATTRIBUTES/VARIABLE_VALUE")) + 1  # Keras saves its index
    except (ValueError, tf.errors.OpError):
        return None


def _read_json(path, what):
    try:
        with open(path) as f:
            return json.load(f)
    except (ValueError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: not valid JSON ({error}); it records the {what} of the backup in "
                        f"{os.path.dirname(path)}/{BACKUP}: restore it, or use a new --workdir") from None


def check_backup_fits(workdir, model):
    """Refuse, in one line, a backup whose weights do not fit `model` (its network changed
    although recipe.json did not say so: edited, missing, or a network from user code):
    Keras would fail inside `fit` with a traceback. Restores the backup's weights, which
    `fit` then restores again."""
    if not workdir or not has_backup(workdir):
        return
    import tensorflow as tf

    folder = os.path.join(backup_dir(workdir), "chief")
    try:
        tf.train.Checkpoint(model=model).read(tf.train.latest_checkpoint(folder)).expect_partial().assert_existing_objects_matched()
    except (ValueError, AssertionError, tf.errors.OpError) as error:
        raise DataError(f"the backup in {folder} does not fit the model {model.name} ({first_line(error, 200)}): its network "
                        "changed since the backup was made; use a new --workdir") from None
