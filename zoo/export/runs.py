"""Which training run wrote which export version, so a rerun never publishes it twice.

A run with a workdir is named by a random id kept in the workdir (`RUN_FILE`) from its
start until it has finished; its export carries the id in `metrics.json` (`RUN_KEY`), so
the id is in the version the moment the version's rename makes it visible. A run killed
between that rename and the deletion of its backup would otherwise resume from the backup
and export the same model again as a new version (with `final_train_loss: null`): the rerun
finds its id in a version instead, finishes (deletes the backup) and says where it is.
"""

import json
import os
import shutil
import uuid

from zoo.atomic import write_json
from zoo.export.serving import write_models_config

RUN_FILE = "export_run.json"
RUN_KEY = "run_id"


def current(workdir):
    """The id of the run that owns `workdir`: the one recorded there, or a new one."""
    path = os.path.join(workdir, RUN_FILE)
    try:
        with open(path) as f:
            return json.load(f)[RUN_KEY]
    except (OSError, ValueError, KeyError, TypeError):
        run = uuid.uuid4().hex
        write_json(path, {RUN_KEY: run})
        return run


def exported_by(run, recipe_dir):
    """The version folder in `recipe_dir` whose metrics.json names `run`, or None."""
    if run is None or not os.path.isdir(recipe_dir):
        return None
    for name in sorted((n for n in os.listdir(recipe_dir) if n.isdigit()), key=int, reverse=True):
        try:
            with open(os.path.join(recipe_dir, name, "metrics.json")) as f:
                if json.load(f).get(RUN_KEY) == run:
                    return os.path.join(recipe_dir, name)
        except (OSError, ValueError, AttributeError):
            continue
    return None


def finish_if_exported(run, workdir, backup_dir, export_dir, recipe_name):
    """If `run` already published its version in `export_dir/recipe_name`, finish the run
    (`finish`, and models.config), say where the export is, and return its version folder;
    else None."""
    version = exported_by(run, os.path.join(export_dir, recipe_name))
    if version is None:
        return None
    finish(workdir, backup_dir)
    write_models_config(export_dir)
    print(f"{recipe_name}: this run was already exported to {version} (it stopped before it finished)", flush=True)
    return version


def finish(workdir, backup_dir):
    """A run's last step, after its export: delete the backup, then forget the run's id (in
    this order: killed in between, the rerun still finds its version by the id)."""
    if os.path.isdir(backup_dir):
        shutil.rmtree(backup_dir)
    forget(workdir)


def forget(workdir):
    try:
        os.remove(os.path.join(workdir, RUN_FILE))
    except FileNotFoundError:
        pass


def read_metrics(version):
    with open(os.path.join(version, "metrics.json")) as f:
        return json.load(f)
