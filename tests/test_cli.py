"""The command line, end to end in subprocesses, as a user runs it."""

import json
import os
import subprocess
import sys

import tensorflow as tf

from recipes import RECIPES
from zoo import cli
from zoo.export import SIGNATURE_INPUTS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def zoo(*args, cwd=None):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, "-m", "zoo", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, env=env, timeout=600)


def test_list_shows_every_recipe_with_its_description():
    done = zoo("list")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines] == RECIPES.names()
    assert all(len(line.split()) > 3 for line in lines)


def test_train_embedded_default_end_to_end(tmp_path):
    done = zoo("train", "digits_mlp_bernoulli", "--smoke", "--epochs", "3", "--seed", "4",
               "--export-dir", str(tmp_path / "exports"), "--workdir", str(tmp_path / "run"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Test -ELBO" in done.stdout
    path = tmp_path / "exports" / "digits_mlp_bernoulli" / "1"
    metrics = json.load(open(path / "metrics.json"))
    config = json.load(open(path / "config.json"))
    assert config["train"]["epochs"] == 3 and config["train"]["seed"] == 4
    assert metrics["epochs"] == 3 and 0 < metrics["test_neg_elbo"] < 64 * 0.7  # beats coin flips
    assert metrics["command"].startswith("zoo train digits_mlp_bernoulli")
    assert (tmp_path / "run" / "history.csv").exists() and (tmp_path / "run" / "logs").is_dir()
    loaded = tf.saved_model.load(str(path))
    assert set(SIGNATURE_INPUTS) == set(loaded.signatures)
    pictures = list((tmp_path / "run" / "logs" / "pictures").iterdir())
    assert pictures, "the TensorBoard log has no pictures run"


def _assert_one_line_error(done, *fragments):
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    for fragment in fragments:
        assert fragment in last, last


def assert_refused_in_one_line(argv, fragments, capsys):
    """`zoo ARGV` run in this process exits 2 with one stderr line holding every fragment
    (a real process per case would cost a TensorFlow start-up, ~6 s, each)."""
    assert cli.main(argv) == 2, argv
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and all(fragment in err[0] for fragment in fragments), (argv, err)


def test_bad_configs_exit_with_one_readable_line(tmp_path, capsys):
    cases = [
        (["train", "no_such_recipe"], ["recipe", "no_such_recipe", "mnist_mlp_bernoulli"]),
        (["train", "digits_mlp_bernoulli", "--latent-dim", "0"], ["latent_dim", "0", "> 0"]),
        (["train", "digits_mlp_bernoulli", "--set", "likelihood=poisson"], ["likelihood", "poisson", "bernoulli"]),
        (["train", "digits_mlp_bernoulli", "--set", "sigma=-1"], ["sigma", "-1", "learned"]),
        (["train", "digits_mlp_bernoulli", "--set", "colour=red"], ["colour", "latent_dim"]),
        (["train", "digits_mlp_bernoulli", "--set", "beta"], ["FIELD=VALUE"]),
        (["train", "digits_mlp_bernoulli", "--set", "epochs=many"], ["epochs", "many", "int"]),
        (["train", "mnist_conv_bernoulli", "--set", "conv_filters=8,8,8"], ["image_shape", "divisible by 8"]),
        (["train", "mnist_mlp_bernoulli", "--data-dir", str(tmp_path / "missing")], ["missing", "no such folder"]),
        (["train", "mnist_mlp_categorical", "--set", "prior=standard_normal"], ["prior", "uniform_categorical"]),
        (["train", "mnist_mlp_categorical", "--set", "objective=iwae"], ["objective", "iwae", "elbo"]),
        (["train", "digits_mlp_bernoulli", "--scale", "0"], ["--scale", "0", "> 0"]),
    ]
    # Once as a real process: the exit code and stderr a user sees, with no traceback.
    _assert_one_line_error(zoo(*cases[1][0], "--export-dir", str(tmp_path)), *cases[1][1])
    for args, fragments in cases:
        assert_refused_in_one_line([*args, "--export-dir", str(tmp_path)], fragments, capsys)
    assert not any(p.is_dir() and p.name != "missing" for p in tmp_path.iterdir())


def test_scale_stretches_epochs_and_schedules_together():
    vamp = RECIPES.get("mnist_mlp_vampprior").scaled(2)
    assert (vamp.train.epochs, vamp.model.kl_warmup_epochs) == (200, 20)
    categorical = RECIPES.get("mnist_mlp_categorical")
    assert categorical.scaled(3).model.temperature_decay * 3 == categorical.model.temperature_decay
    assert categorical.scaled(0.01).train.epochs == 1


def test_argparse_errors_are_short():
    done = zoo("train", "--epochs", "x")
    assert done.returncode == 2 and "Traceback" not in done.stderr and "invalid int value" in done.stderr
