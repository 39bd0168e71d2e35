"""Issue 6, training: a run killed with SIGKILL resumes from its last backup and ends where an
uninterrupted one does; a seed repeats a run exactly; a diverging run stops with one line,
exports nothing and keeps its last finite backup; bad input is refused before training.

The runs are `digits_mlp_bernoulli` (embedded data) for EPOCHS epochs of 30 steps: one call
of the compiled loop per epoch, since a call never crosses an epoch's end.
"""

import csv
import importlib
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tf_keras as keras

from recipes import RECIPES
from test_cli import ROOT, zoo_here
from zoo import cli
from zoo.config import TrainConfig, VAEConfig
from zoo.data import ResidentImages, Split
from zoo.errors import ConfigError, DataError
from zoo.models.builder import build
from zoo.training import workdirs
from zoo.training.train import adam
from zoo.models.callbacks import FiniteBackup

RECIPE, EPOCHS = "digits_mlp_bernoulli", 4


def train_args(root, seed=0, epochs=EPOCHS):
    return ["train", RECIPE, "--epochs", str(epochs), "--seed", str(seed), "--force-export",
            "--workdir", str(root / "run"), "--export-dir", str(root / "exports")]


def history(root):
    """history.csv's rows as {epoch: row}: a row repeated by a resumed run must be equal."""
    rows = {}
    with open(root / "run" / "history.csv") as f:
        for row in csv.DictReader(f):
            assert rows.setdefault(int(row["epoch"]), row) == row, "a redone epoch differs"
    return rows


def metrics(root):
    with open(root / "exports" / RECIPE / "1" / "metrics.json") as f:
        return json.load(f)


def epochs_printed(stdout):
    """The epochs `zoo train` reported ("  epoch k/N: loss ...": every epoch of a run this short)."""
    return [int(line.split()[1].split("/")[0]) for line in stdout.splitlines() if line.startswith("  epoch ")]


@pytest.fixture
def reference(digits_cli_run):
    """An uninterrupted run with seed 0 in a fresh process: conftest's `digits_cli_run`, shared
    with test_cli."""
    done, root = digits_cli_run
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.args[3:] == train_args(root), "conftest's digits run is not this file's reference run"
    return root


def test_the_same_seed_repeats_a_run_exactly_and_another_seed_does_not(reference, tmp_path, capsys):
    """The reference ran in a fresh process; the repeat runs in this one, after other tests:
    the seed alone fixes the run, whatever the process did before."""
    again, other = tmp_path / "again", tmp_path / "other"
    done = zoo_here(capsys, *train_args(again))
    assert done.returncode == 0, done.stderr[-3000:]
    assert history(again) == history(reference) and len(history(reference)) == EPOCHS
    assert metrics(again)["test_neg_elbo"] == metrics(reference)["test_neg_elbo"]
    assert cli.main(train_args(other, seed=1, epochs=2)) == 0, capsys.readouterr().err  # in-process: faster
    assert all(history(other)[e]["loss"] != history(reference)[e]["loss"] for e in range(2))


def signal_after_first_backup(args, root, signum):
    """Run `zoo *args` in the background, send it `signum` once its first epoch is backed up,
    and return its exit code and output."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    with open(root / "signalled.log", "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "zoo", *args], stdout=log, stderr=subprocess.STDOUT,
                                   cwd=ROOT, env=env)
    deadline = time.monotonic() + 300
    while not workdirs.has_backup(root / "run"):
        assert process.poll() is None, (root / "signalled.log").read_text()[-3000:]
        assert time.monotonic() < deadline, "no backup after 300 s"
        time.sleep(0.01)
    process.send_signal(signum)
    return process.wait(timeout=120), (root / "signalled.log").read_text()


def test_a_run_killed_with_sigkill_resumes_from_its_last_backup(reference, tmp_path, capsys):
    """The backup (each epoch's end) holds weights, optimizer state and epoch; the data
    position and z draws follow the optimizer's step count, so the resumed run computes what
    the uninterrupted one did, bit for bit on one CPU. A kill mid-epoch loses that partial
    epoch, which the resumed run redoes from the same data position."""
    assert signal_after_first_backup(train_args(tmp_path), tmp_path, signal.SIGKILL)[0] == -signal.SIGKILL
    killed = history(tmp_path)
    assert 1 <= len(killed) < EPOCHS and not (tmp_path / "exports").exists()
    with pytest.raises(ConfigError, match="learning_rate.*0.001"):  # resuming another config: refused
        workdirs.claim(tmp_path / "run", RECIPES.get(RECIPE).with_overrides({"learning_rate": "0.01"}))

    done = zoo_here(capsys, *train_args(tmp_path))  # resumed in this process: no second start-up
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Resuming from the backup in" in done.stdout
    resumed_at = epochs_printed(done.stdout)[0]
    assert 2 <= resumed_at <= len(killed) + 1, done.stdout  # from the backup, not from epoch 1
    assert epochs_printed(done.stdout) == list(range(resumed_at, EPOCHS + 1))
    assert history(tmp_path) == history(reference)
    assert metrics(tmp_path)["test_neg_elbo"] == metrics(reference)["test_neg_elbo"]
    assert not (tmp_path / "run" / workdirs.BACKUP).exists()  # deleted once exported


def test_a_diverging_run_stops_in_one_line_and_exports_nothing(tmp_path, capsys):
    """In this process (a subprocess costs a TensorFlow start-up): `main` returning is what
    keeps the traceback away."""
    assert cli.main([*train_args(tmp_path, epochs=5), "--set", "learning_rate=1e30"]) == 1
    out, err = capsys.readouterr()
    assert err.startswith("zoo: error: ") and len(err.strip().splitlines()) == 1, err
    assert "diverged" in err and "epoch 1 of 5" in err and "nothing was exported" in err, err
    assert epochs_printed(out) == [1]  # stopped within the first call of the compiled loop
    assert not (tmp_path / "exports").exists()
    assert not workdirs.has_backup(tmp_path / "run")  # no epoch ended finite: nothing to keep


@pytest.mark.slow
def test_ctrl_c_while_exporting_keeps_the_backup_and_the_command_exports_it(tmp_path, capsys, monkeypatch):
    """The backup is deleted only once the export is written: a run stopped after its last
    epoch resumes with nothing left to train, and goes straight to evaluation and export."""
    def interrupted(*_, **__):
        raise KeyboardInterrupt

    monkeypatch.setattr(importlib.import_module("zoo.training.train"), "export", interrupted)
    assert cli.main(train_args(tmp_path, epochs=1)) == 130
    assert capsys.readouterr().err == ("zoo: interrupted (the same command resumes from the workdir's "
                                       "last backup)\n")
    assert workdirs.has_backup(tmp_path / "run")

    monkeypatch.undo()
    assert cli.main(train_args(tmp_path, epochs=1)) == 0
    out = capsys.readouterr().out
    assert "Resuming from the backup" in out and epochs_printed(out) == [] and "exported to" in out, out
    assert (tmp_path / "exports" / RECIPE / "1" / "saved_model.pb").exists()
    assert not (tmp_path / "run" / workdirs.BACKUP).exists()


def small_config(**blocks):
    return VAEConfig(image_shape=(4, 4, 1), network={"type": "mlp", "hidden_units": (8,)},
                     posterior={"type": "diagonal_normal", "latent_dim": 2}, **blocks)


def small_model():
    keras.utils.set_random_seed(0)
    model = build(small_config())
    model.compile(keras.optimizers.Adam(1e-2), jit_compile=True, steps_per_execution=3)
    return model


def random_split(count=64):
    return Split((np.random.default_rng(0).random((count, 4, 4, 1)) * 256).astype(np.uint8), None, 256)


def test_the_backup_keeps_the_last_finite_epoch_when_training_diverges(tmp_path):
    """Epoch 1 trains; epoch 2 runs at a learning rate of 1e30. Keras' BackupAndRestore would
    back up the NaN weights, then delete the backup; FiniteBackup keeps epoch 1's."""
    model, data = small_model(), ResidentImages(random_split(), 4, "dynamic", seed=0)  # 16 steps an epoch
    after_first_epoch = []
    blow_up = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: epoch == 1 and model.optimizer.learning_rate.assign(1e30),
        on_epoch_end=lambda epoch, logs: epoch == 0 and after_first_epoch.append(model.get_weights()))
    backup = FiniteBackup(str(tmp_path / "backup"))
    history = model.fit(data, epochs=3, verbose=0,
                        callbacks=[keras.callbacks.TerminateOnNaN(), backup, blow_up])
    assert not np.isfinite(history.history["loss"][-1]) and backup.diverged
    assert int(model.optimizer.iterations) == 16 + 3  # stopped after the call (3 steps) that diverged

    resumed = small_model()
    restored = resumed.fit(ResidentImages(random_split(), 4, "dynamic", seed=0), epochs=1, verbose=0,
                           callbacks=[FiniteBackup(str(tmp_path / "backup"))])
    assert restored.epoch == [] and int(resumed.optimizer.iterations) == 16  # epoch 1 was restored
    for kept, expected in zip(resumed.get_weights(), after_first_epoch[0]):
        np.testing.assert_array_equal(kept, expected)


@pytest.mark.slow
def test_a_cosine_decayed_run_resumed_from_its_backup_ends_where_an_uninterrupted_one_does(tmp_path):
    """The schedule is a function of the optimizer's step, which the backup restores: epoch 2
    of a resumed run is trained at the rates of the uninterrupted run's epoch 2, and the rate
    reaches 0 at the last step."""
    def run(epochs, backup=None):
        model = small_model()
        model.compile(adam(TrainConfig(learning_rate=1e-2, learning_rate_decay="cosine"), steps=32),
                      jit_compile=True, steps_per_execution=4)
        model.fit(ResidentImages(random_split(), 4, "dynamic", seed=0), epochs=epochs, verbose=0,
                  callbacks=[backup] if backup else [])  # 16 steps an epoch
        return model

    uninterrupted = run(2)
    assert float(uninterrupted.optimizer.learning_rate) == pytest.approx(1e-2 * (1 + np.cos(np.pi * 31 / 32)) / 2, rel=1e-4)
    run(1, FiniteBackup(str(tmp_path / "backup")))
    resumed = run(2, FiniteBackup(str(tmp_path / "backup")))
    assert int(resumed.optimizer.iterations) == 32
    for a, b in zip(resumed.get_weights(), uninterrupted.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    constant = small_model()
    constant.fit(ResidentImages(random_split(), 4, "dynamic", seed=0), epochs=2, verbose=0)
    assert not all(np.allclose(a, b) for a, b in zip(constant.get_weights(), uninterrupted.get_weights()))


def test_data_outside_what_the_likelihood_models_is_refused():
    """No source the CLI reads can give a Bernoulli pixels outside [0, 1] (each scales its
    integer levels by levels - 1); these are the guards for library users."""
    model = small_model()
    grey_levels = np.random.default_rng(0).integers(0, 256, (8, 4, 4, 1)).astype(np.float32)
    with pytest.raises(DataError, match=r"Bernoulli models pixels in \[0, 1\].*from 0 to 255"):
        model.fit(grey_levels, epochs=1, verbose=0)
    with pytest.raises(DataError, match=r"integers in 0\.\.16 .* from 0 to 255"):
        Split(grey_levels.astype(np.uint8), None, levels=17)
    gaussian = build(small_config(likelihood="gaussian"))
    gaussian.compile(keras.optimizers.Adam(1e-3))
    assert np.isfinite(gaussian.fit(grey_levels / 128 - 1, epochs=1, verbose=0).history["loss"][0])
