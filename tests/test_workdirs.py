"""Issue 25, cases 2, 3, 7 and 9: a workdir is owned by one run at a time, a backup resumes
only on the data and epochs it was started with, every destination is checked before
training, a failed export keeps the trained model, and a damaged workdir is named in one line.

The runs are `digits_mlp_bernoulli` for one or two epochs (30 steps each), or the same recipe
on tiny .npz files (2 steps an epoch), through `cli.main` in this process.
"""

import importlib
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from recipes import RECIPES
from test_cli import ROOT, zoo_here
from zoo.errors import ConfigError
from zoo.training import workdirs
from zoo.training.train import train

RECIPE = "digits_mlp_bernoulli"


def run(capsys, root, *extra, epochs=1):
    """A run of a few steps: worse than the pixels' marginal, so its export is forced."""
    return zoo_here(capsys, "train", RECIPE, "--epochs", str(epochs), "--workdir", str(root / "run"),
                    "--export-dir", str(root / "exports"), "--force-export", *extra)


def refused(done, *words, code=2):
    """`zoo train` ended in one line (exit `code`) saying each of `words`, and trained nothing."""
    assert done.returncode == code and done.stderr.startswith("zoo: error: "), done.stderr[-3000:]
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "  epoch " not in done.stdout, done.stdout
    for word in words:
        assert word in done.stderr, done.stderr


def backed_up(capsys, monkeypatch, root, *extra, epochs=1):
    """Train into `root/run` and stop while exporting (as a kill there would): the backup of
    the last epoch stays, and the same command resumes it."""
    def interrupted(*_, **__):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(importlib.import_module("zoo.training.train"), "export", interrupted)
        assert run(capsys, root, *extra, epochs=epochs).returncode == 130
    assert workdirs.has_backup(root / "run")


HOLD = textwrap.dedent("""
    import fcntl, os, sys, time
    descriptor = os.open(os.path.join(sys.argv[1], "lock"), os.O_RDWR | os.O_CREAT)
    fcntl.flock(descriptor, fcntl.LOCK_EX)
    os.write(descriptor, str(os.getpid()).encode())
    print("held", flush=True)
    time.sleep(120)
""")


def holder(workdir):
    """A child process holding `workdir`'s lock as a running `zoo train` does (plain fcntl:
    the lock is the OS's, whoever takes it)."""
    os.makedirs(workdir, exist_ok=True)
    child = subprocess.Popen([sys.executable, "-c", HOLD, str(workdir)], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "held"
    return child


def test_a_second_run_on_a_workdir_in_use_is_refused_naming_the_first_pid(tmp_path, capsys):
    """Case 2: two runs with one --workdir both ran, overwrote recipe.json and resumed each
    other's weights. The lock is the kernel's: a killed owner leaves none behind."""
    child = holder(tmp_path / "run")
    try:
        done = run(capsys, tmp_path)
        refused(done, f"--workdir {tmp_path / 'run'} is in use by another run (PID {child.pid}")
        assert sorted(os.listdir(tmp_path / "run")) == ["lock"]  # nothing of this run written
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert run(capsys, tmp_path).returncode == 0  # the killed owner's lock went with it
    released = subprocess.run([sys.executable, "-c", HOLD.replace("LOCK_EX)", "LOCK_EX | fcntl.LOCK_NB)")
                               .replace("time.sleep(120)", ""), str(tmp_path / "run")],
                              capture_output=True, text=True, timeout=60)
    assert released.stdout.strip() == "held", released.stderr  # and this run released its own


def npz(path, count, seed=0):
    images = np.random.default_rng(seed).integers(0, 256, (count, 8, 8), np.uint8)
    np.savez(path, images=images)
    return str(path)


def test_a_resume_on_other_data_or_fewer_epochs_is_refused_saying_what_differs(tmp_path, capsys, monkeypatch):
    """Case 3: a run started on 120 images resumed on 240 from another --data-dir (or on
    other images of the same count); a rerun with fewer epochs than its backup exported a
    model whose config said the fewer."""
    first, more, other = npz(tmp_path / "a.npz", 120), npz(tmp_path / "b.npz", 240), npz(tmp_path / "c.npz", 120, seed=1)
    backed_up(capsys, monkeypatch, tmp_path, "--dataset", "npz", "--data-dir", first, epochs=2)
    refused(run(capsys, tmp_path, "--dataset", "npz", "--data-dir", more, epochs=2),
            "was trained on other data", "train_images 108 then, 216 now", "test_images 12 then, 24 now")
    refused(run(capsys, tmp_path, "--dataset", "npz", "--data-dir", other, epochs=2), "fingerprint")
    refused(run(capsys, tmp_path, "--dataset", "npz", "--data-dir", first, epochs=1),
            "'epochs': got 1", "at least 2", "has trained 2 epochs")
    done = run(capsys, tmp_path, "--dataset", "npz", "--data-dir", first, epochs=3)
    assert done.returncode == 0 and "Resuming from the backup" in done.stdout, done.stderr[-3000:]
    assert "  epoch 3/3" in done.stdout and "  epoch 2/3" not in done.stdout, done.stdout


@pytest.mark.parametrize("flag, make, allowed", [
    ("--export-dir", lambda tmp: tmp / "file", "a folder (this is a file)"),
    ("--export-dir", lambda tmp: "", "an empty path is not one"),
    ("--export-dir", lambda tmp: tmp / "file" / "sub", "file is a file"),
    ("--workdir", lambda tmp: tmp / "file", "a folder (this is a file)"),
    ("--workdir", lambda tmp: tmp / "file" / "run", "file is a file"),
])
def test_a_destination_that_cannot_be_written_is_refused_before_training(tmp_path, capsys, flag, make, allowed):
    """Case 7: these were found after training (NotADirectoryError, or `--export-dir ""`
    writing into the current folder and then crashing). The CLI refuses them before
    TensorFlow starts; `train()` refuses them too."""
    (tmp_path / "file").write_text("not a folder")
    path = str(make(tmp_path))
    paths = {"--export-dir": str(tmp_path / "exports"), "--workdir": str(tmp_path / "run"), flag: path}
    done = zoo_here(capsys, "train", RECIPE, "--epochs", "1", *[x for item in paths.items() for x in item])
    refused(done, f"config field '{flag}': got {path!r}", allowed)
    keyword = {"--export-dir": "export_dir", "--workdir": "workdir"}
    with pytest.raises(ConfigError, match=allowed.replace("(", r"\(").replace(")", r"\)")):
        train(RECIPES.get(RECIPE), verbose=False, **{keyword[k]: v for k, v in paths.items()})


def test_a_read_only_destination_is_refused_before_training(tmp_path, capsys, monkeypatch):
    """Case 7 (tests run as root, who may write anywhere: the OS's answer is simulated)."""
    read_only = str(tmp_path / "read_only")
    os.makedirs(read_only)
    access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: access(path, mode) and os.fspath(path) != read_only)
    refused(run(capsys, tmp_path, "--export-dir", read_only), "a writable folder: permission denied")
    refused(run(capsys, tmp_path, "--export-dir", os.path.join(read_only, "new")),
            f"a folder that can be created (cannot write in {read_only}): permission denied")
    assert not (tmp_path / "run").exists()


def full_disk(*_, **__):
    raise OSError(28, "No space left on device")


# Without --workdir (a temporary folder keeps the model): the slow tier.
@pytest.mark.parametrize("with_workdir", [True, pytest.param(False, marks=pytest.mark.slow)])
def test_an_export_that_fails_after_training_keeps_the_trained_model(tmp_path, capsys, monkeypatch, with_workdir):
    """Case 7: a full disk at export time lost the trained model (without --workdir) and ended
    in a traceback. The model is kept (the workdir's `unexported/`, else a temporary folder)
    and the one line says the command that exports it, which gives the model that trained."""
    from zoo.training import destinations, export_kept

    monkeypatch.setattr(importlib.import_module("zoo.training.train"), "export", full_disk)
    exports = tmp_path / "exports"
    args = ["train", RECIPE, "--epochs", "1", "--export-dir", str(exports), "--force-export"]
    done = zoo_here(capsys, *args, *(["--workdir", str(tmp_path / "run")] if with_workdir else []))
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "No space left on device" in done.stderr and "  epoch 1/1" in done.stdout
    kept = done.stderr.split("the trained model is kept in ")[1].split(":")[0]
    if with_workdir:
        assert kept == str(tmp_path / "run" / destinations.KEPT_FOLDER)
    assert f"python -m zoo.training.export_kept {kept} {exports} --force" in done.stderr
    assert sorted(os.listdir(kept)) == ["config.json", f"{RECIPE}.keras", "metrics.json"]

    monkeypatch.undo()
    path = export_kept.export_kept(kept, str(exports), force=True)
    assert path == str(exports / RECIPE / "1") and os.path.isfile(os.path.join(path, "saved_model.pb"))
    assert sorted({"config.json", "metrics.json"} - set(os.listdir(path))) == []


@pytest.mark.slow
def test_a_damaged_workdir_is_named_in_one_line(tmp_path, capsys, monkeypatch):
    """Case 9: a resume whose recipe.json is not JSON, or whose backup does not fit the network
    (recipe.json lost, so the recipe check cannot tell), ended in a traceback."""
    backed_up(capsys, monkeypatch, tmp_path)
    recipe_file = tmp_path / "run" / workdirs.RECIPE_FILE
    recipe_file.write_text('{"name": "digits_mlp_bernoulli", ')
    refused(run(capsys, tmp_path), f"{recipe_file}: not valid JSON", "use a new --workdir")
    recipe_file.unlink()
    refused(run(capsys, tmp_path, "--set", "hidden_units=64"), "does not fit the model", "use a new --workdir")
    (tmp_path / "run" / workdirs.DATA_FILE).write_text("[")
    refused(run(capsys, tmp_path), f"{tmp_path / 'run' / workdirs.DATA_FILE}: not valid JSON")
    (tmp_path / "run" / workdirs.DATA_FILE).unlink()
    done = run(capsys, tmp_path)  # the refused runs left the workdir as it was: it resumes
    assert done.returncode == 0 and "Resuming from the backup" in done.stdout, done.stderr[-3000:]
    assert done.stderr == "", done.stderr


@pytest.mark.slow
def test_a_workdir_that_fills_up_during_training_stops_in_one_line_keeping_the_last_backup(tmp_path, capsys,
                                                                                           monkeypatch):
    """Case 7: a backup write that fails inside `fit` (a full disk) was a traceback. It stops
    the run in one line; the backup of the epoch before stays, and the same command resumes."""
    import tf_keras as keras

    real = keras.callbacks.BackupAndRestore.on_epoch_end

    def full_after_epoch_one(self, epoch, logs=None):
        if epoch >= 1:
            raise OSError(28, "No space left on device", self.backup_dir)
        return real(self, epoch, logs)

    with monkeypatch.context() as patch:
        patch.setattr(keras.callbacks.BackupAndRestore, "on_epoch_end", full_after_epoch_one)
        done = run(capsys, tmp_path, epochs=2)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "writing the backup of epoch 2" in done.stderr and "No space left on device" in done.stderr
    assert workdirs.has_backup(tmp_path / "run") and not (tmp_path / "exports").exists()
    resumed = run(capsys, tmp_path, epochs=2)
    assert resumed.returncode == 0 and "Resuming from the backup" in resumed.stdout, resumed.stderr[-2000:]
