"""Exports are all or nothing (issue 6): written in a staging folder that TF Serving does not
take for a version, renamed into place whole, never over a version another export wrote
meanwhile; a crash mid-write leaves the export folder exactly as it was. (`export` writes
only the version; `models.config` is written after it, by train() or write_models_config.)
Issue 25, case 6: models.config under a lock, a rerun after a kill, killed staging folders."""

import errno
import os
import re
import shutil
import subprocess
import sys
import threading

import pytest

from harness import folder_snapshot, tiny_recipe
from zoo import atomic
from zoo.export import savedmodel as export_module
from zoo.export import serving
from zoo.export.savedmodel import STAGING_PREFIX
from zoo.models.builder import build

RECIPE = tiny_recipe("mlp", "bernoulli")
# What TF Serving takes for a version folder: strings::safe_strto64 of the name (optional
# spaces, an optional minus, ASCII digits), tensorflow_serving/sources/storage_path/
# file_system_storage_path_source.cc, ParseVersionNumber.
TF_SERVING_VERSION = re.compile(r"\s*-?[0-9]+\s*")


def export(model, export_dir, metrics):
    """RECIPE's model exported as train() does: export_dir/<recipe>/<version>, then models.config."""
    path = export_module.export(model, os.path.join(export_dir, RECIPE.name), config=RECIPE.to_dict(),
                                metrics=metrics, name=RECIPE.name)
    serving.write_models_config(export_dir)
    return path


class Crash(Exception):
    """Stands for whatever stops an export halfway: a full disk, a killed job."""


@pytest.fixture(scope="module")
def model():
    return build(RECIPE.model)


@pytest.fixture(scope="module")
def first_version(model, tmp_path_factory):
    """An export folder holding version 1 of RECIPE and the models.config listing it."""
    root = tmp_path_factory.mktemp("exports")
    export(model, str(root), {"test_neg_elbo": 1.0})
    assert sorted(os.listdir(root)) == sorted([RECIPE.name, serving.MODELS_CONFIG])
    return root


@pytest.fixture
def export_dir(first_version, tmp_path):
    """A fresh copy of the folder with version 1, for a test to export into."""
    shutil.copytree(first_version, tmp_path / "exports")
    return tmp_path / "exports"


def crash_partway(monkeypatch, module, name, seen, exception=Crash):
    """Make `module.name` write half of its file (where it writes one) and raise, noting
    what the recipe folder held at that moment in `seen`."""
    def broken(*args, **kwargs):
        folder = next(arg for arg in args if isinstance(arg, str) and STAGING_PREFIX in arg)
        recipe_dir = folder.split(STAGING_PREFIX)[0]
        seen.extend(sorted(os.listdir(recipe_dir)))
        if name == "write_json":
            with open(args[0], "w") as f:
                f.write('{"half": ')
        raise exception("crashed mid-write")

    monkeypatch.setattr(module, name, broken)


@pytest.mark.parametrize("module, name, exception", [
    (export_module, "write_json", Crash),
    (export_module, "write_warmup_requests", KeyboardInterrupt),  # as the export looks it up
])
def test_crash_mid_write_leaves_the_folder_as_it_was(model, export_dir, monkeypatch, module, name, exception):
    before = folder_snapshot(export_dir)
    seen = []
    crash_partway(monkeypatch, module, name, seen, exception)
    with pytest.raises(exception, match="crashed mid-write"):
        export(model, str(export_dir), {"test_neg_elbo": 2.0})
    (staging,) = [entry for entry in seen if entry != "1"]  # the export was writing there
    assert staging.startswith(STAGING_PREFIX)
    assert not TF_SERVING_VERSION.fullmatch(staging) and not staging.isdigit()
    assert folder_snapshot(export_dir) == before  # no version 2, no staging, models.config as it was


def test_a_model_that_cannot_export_leaves_no_folder(model, tmp_path, monkeypatch):
    def untraceable(*args):
        raise Crash("crashed while tracing")

    monkeypatch.setattr(export_module, "_endpoint", untraceable)
    with pytest.raises(Crash):
        export(model, str(tmp_path / "exports"), {})
    assert not (tmp_path / "exports").exists()


@pytest.mark.parametrize("contents", ["complete", "empty"])
def test_a_version_taken_meanwhile_is_kept_and_the_export_takes_the_next(
        model, export_dir, monkeypatch, contents):
    """Another export (or a person) makes version 2 between this export's choice of 2 and its
    rename: a plain rename would fail on a complete folder but replace an empty one."""
    recipe_dir = export_dir / RECIPE.name
    choose = export_module.next_version

    def chosen_then_taken(folder):
        version = choose(folder)
        monkeypatch.setattr(export_module, "next_version", choose)
        taken = recipe_dir / str(version)
        if contents == "complete":
            shutil.copytree(recipe_dir / "1", taken)
        else:
            taken.mkdir()
        return version

    monkeypatch.setattr(export_module, "next_version", chosen_then_taken)
    before = folder_snapshot(recipe_dir / "1")
    path = export(model, str(export_dir), {"test_neg_elbo": 3.0})
    assert path == str(recipe_dir / "3")
    assert folder_snapshot(recipe_dir / "2") == (before if contents == "complete" else {})
    assert sorted(os.listdir(recipe_dir)) == ["1", "2", "3"]


@pytest.mark.parametrize("renameat2", ["linux", "missing"])
def test_rename_no_replace_refuses_every_existing_target(tmp_path, monkeypatch, renameat2):
    if renameat2 == "missing":  # as on a C library without it: check, then rename
        monkeypatch.setattr(atomic, "_RENAMEAT2", None)
    elif sys.platform == "linux":
        assert atomic._RENAMEAT2 is not None, "no renameat2 found in the C library"
    source = tmp_path / "staged"
    source.mkdir()
    (source / "saved_model.pb").write_text("new")
    (tmp_path / "empty").mkdir()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "saved_model.pb").write_text("old")
    (tmp_path / "file").write_text("old")
    for target in ("empty", "full", "file"):
        with pytest.raises(FileExistsError):
            atomic.rename_no_replace(str(source), str(tmp_path / target))
    assert (tmp_path / "full" / "saved_model.pb").read_text() == "old" and os.listdir(tmp_path / "empty") == []
    atomic.rename_no_replace(str(source), str(tmp_path / "1"))
    assert (tmp_path / "1" / "saved_model.pb").read_text() == "new" and not source.exists()


def test_write_json_keeps_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "metrics.json"
    atomic.write_json(str(path), {"test_neg_elbo": 1.0})
    before = path.read_bytes()
    with pytest.raises(TypeError):
        atomic.write_json(str(path), {"test_neg_elbo": object()})  # fails halfway through the dump
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["metrics.json"]


def test_models_config_is_not_half_written(tmp_path, monkeypatch):
    (tmp_path / "alpha" / "1").mkdir(parents=True)
    path = serving.write_models_config(str(tmp_path))
    before = open(path).read()
    (tmp_path / "beta" / "1").mkdir(parents=True)

    def full_disk(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(serving.os, "replace", full_disk)
    with pytest.raises(OSError, match="No space"):
        serving.write_models_config(str(tmp_path))
    assert open(path).read() == before
    assert sorted(os.listdir(tmp_path)) == ["alpha", "beta", serving.MODELS_CONFIG]


# Issue 25, case 6: two recipes at once, a kill after the rename, killed staging folders.

def test_two_recipes_exporting_at_once_both_end_up_in_models_config(tmp_path, monkeypatch):
    """The first writer lists the folder (only alpha), then the second recipe's version appears
    and its writer runs: unlocked, the first writer then replaced the file without beta."""
    (tmp_path / "alpha" / "1").mkdir(parents=True)
    listed, second_done = threading.Event(), threading.Event()
    list_recipes = serving.served_recipes

    def slow_listing(folder):
        recipes = list_recipes(folder)
        if threading.current_thread().name == "first":
            listed.set()
            second_done.wait(timeout=2)  # with the lock the second writer waits for this one
        return recipes

    monkeypatch.setattr(serving, "served_recipes", slow_listing)
    first = threading.Thread(target=serving.write_models_config, args=(str(tmp_path),), name="first")
    first.start()
    assert listed.wait(timeout=30)
    (tmp_path / "beta" / "1").mkdir(parents=True)
    second = threading.Thread(target=lambda: (serving.write_models_config(str(tmp_path)), second_done.set()))
    second.start()
    first.join(timeout=60)
    second.join(timeout=60)
    assert models_config_names(tmp_path) == ["alpha", "beta"]


def test_models_config_keeps_what_another_tool_added_and_drops_a_removed_recipe(tmp_path):
    (tmp_path / "alpha" / "1").mkdir(parents=True)
    (tmp_path / "gone" / "1").mkdir(parents=True)
    path = serving.write_models_config(str(tmp_path))
    text = open(path).read().replace("model_config_list {", 'model_config_list {\n  config { name: "elsewhere" '
                                     'base_path: "/data/elsewhere" model_platform: "tensorflow" }', 1)
    with open(path, "w") as f:  # a model served from elsewhere, added by hand
        f.write(text)
    shutil.rmtree(tmp_path / "gone")
    serving.write_models_config(str(tmp_path))
    assert models_config_names(tmp_path) == ["alpha", "elsewhere"]


def models_config_names(folder):
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    config = model_server_config_pb2.ModelServerConfig()
    text_format.Parse((folder / serving.MODELS_CONFIG).read_text(), config)
    return sorted(entry.name for entry in config.model_config_list.config)


def test_a_killed_exports_staging_folder_is_removed_and_a_live_ones_kept(model, export_dir):
    recipe_dir = export_dir / RECIPE.name
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    killed = recipe_dir / f"{STAGING_PREFIX}{int(gone.stdout)}-{export_module.HOST}-abc123"
    live = recipe_dir / f"{STAGING_PREFIX}{os.getppid()}-{export_module.HOST}-def456"  # the runner's parent
    elsewhere = recipe_dir / f"{STAGING_PREFIX}{int(gone.stdout)}-otherhost-ghi789"  # another host's process
    for folder in (killed, live, elsewhere):
        folder.mkdir()
        (folder / "saved_model.pb").write_text("half")
    export(model, str(export_dir), {"test_neg_elbo": 2.0})
    assert sorted(os.listdir(recipe_dir)) == sorted(["1", "2", live.name, elsewhere.name])


@pytest.mark.slow
def test_a_rerun_after_a_kill_between_the_rename_and_the_backups_deletion_publishes_no_second_version(
        tmp_path, capsys, monkeypatch):
    """The run's version is published, then the run dies before deleting its backup: the same
    command finds its version (by the run id in metrics.json), deletes the backup, says where
    the export is, and trains and exports nothing."""
    from test_cli import zoo_here
    from zoo.models.callbacks import FiniteBackup
    from zoo.training import workdirs

    def killed(*_):
        raise KeyboardInterrupt

    args = ["train", "digits_mlp_bernoulli", "--epochs", "1", "--force-export", "--workdir", str(tmp_path / "run"),
            "--export-dir", str(tmp_path / "exports")]
    monkeypatch.setattr(FiniteBackup, "delete", killed)
    assert zoo_here(capsys, *args).returncode == 130
    assert workdirs.has_backup(tmp_path / "run")
    monkeypatch.undo()
    done = zoo_here(capsys, *args)
    assert done.returncode == 0, done.stderr
    recipe_dir = tmp_path / "exports" / "digits_mlp_bernoulli"
    assert sorted(os.listdir(recipe_dir)) == ["1"]
    assert f"already exported to {recipe_dir / '1'}" in done.stdout and "epoch" not in done.stdout, done.stdout
    assert not (tmp_path / "run" / workdirs.BACKUP).exists()
    assert models_config_names(tmp_path / "exports") == ["digits_mlp_bernoulli"]
    assert zoo_here(capsys, *args).returncode == 0  # a new run in the finished workdir exports anew
    assert sorted(os.listdir(recipe_dir)) == ["1", "2"]
