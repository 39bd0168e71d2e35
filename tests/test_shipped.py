"""Every shipped export in saved_models/ loads with TensorFlow alone, describes itself, and
still gives the test-set figure its metrics.json reports; loaded as a preset by its name it
computes the same figure, compiled and ready to fit."""

import functools
import json
import math
import os
import pathlib

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

import zoo
from zoo.config import Recipe
from zoo.data import DATASETS, eval_images
from zoo.models.presets import preset_path
from conftest import ROOT, _tracked_versions, shipped_exports
from zoo.training.train import _shadows_a_shipped_preset, measure_test_slice

REQUIRED_METRICS = ("test_neg_elbo", "test_reconstruction", "test_kl", "test_slice", "train_seconds",
                    "hardware", "command", "epochs")


def _json(path, name):
    with open(os.path.join(path, name)) as f:
        return json.load(f)


@functools.lru_cache(maxsize=None)
def _test_split(dataset, data_dir, binarize):
    split = DATASETS.get(dataset).load("test", data_dir)
    return eval_images(split, binarize=binarize), split.labels.astype(np.int64)


def _slice_images(recipe, metrics, data_dirs):
    """The test images metrics.json's `test_slice` was measured on, and their labels when a
    conditional model was measured at them (else None; M2 sums its classes out)."""
    images, labels = _test_split(recipe.train.dataset, data_dirs[recipe.train.dataset],
                                 recipe.train.binarization != "none")
    count = metrics["test_slice"]["examples"]
    conditional = getattr(recipe.model, "condition", None) is not None and getattr(recipe.model, "classifier", None) is None
    return images[:count], labels[:count] if conditional else None


def float32_sum_tolerance(recipe, metrics):
    """The relative error of a test-slice figure between two x86-64 processors: each image's
    -ELBO is a float32 sum over its pixels (and the network's dot products feed each term with
    sums no longer than that), then a mean over a batch; the order of those additions depends on
    the processor's vector width, and a sum of N float32 terms carries a relative error up to
    about N * 2^-24. (One machine's figure, 1e-6, failed on another at 3.8e-6.)"""
    terms = math.prod(recipe.model.image_shape) + metrics["test_slice"]["batch_size"]
    return terms * 2.0 ** -24


def test_shipped_export_reproduces_its_metrics(shipped_export, data_dirs):
    recipe = Recipe.from_dict(_json(shipped_export, "config.json"))
    metrics = _json(shipped_export, "metrics.json")
    missing = [key for key in REQUIRED_METRICS if key not in metrics]
    assert not missing, f"{shipped_export}/metrics.json lacks {missing}"
    assert metrics["command"].startswith(f"zoo train {recipe.name}")
    assert np.isfinite(metrics["test_neg_elbo"])
    assert metrics["test_neg_elbo"] == pytest.approx(metrics["test_reconstruction"] + metrics["test_kl"])

    elbo = tf.saved_model.load(shipped_export).signatures["elbo"]
    check = metrics["test_slice"]
    images, labels = _slice_images(recipe, metrics, data_dirs)
    batch = check["batch_size"]
    values = np.concatenate([elbo(**{"x": tf.constant(images[i:i + batch]),
                                     **({} if labels is None else {"y": tf.constant(labels[i:i + batch])})})["elbo"]
                             .numpy() for i in range(0, len(images), batch)])
    assert -values.mean() == pytest.approx(check["neg_elbo"], rel=float32_sum_tolerance(recipe, metrics))
    # The slice is a sample of the test set: the full-set figure lies within a few standard errors.
    stderr = values.std(ddof=1) / np.sqrt(len(values))
    assert abs(-values.mean() - metrics["test_neg_elbo"]) < 6 * stderr + 1.0


def test_shipped_preset_reproduces_its_test_slice(shipped_export, data_dirs):
    """`zoo.VAE.from_preset(<recipe name>)` (`zoo.VQVAE`'s for a VQ-VAE) builds model.keras's config with the
    SavedModel's weights: the weights that were measured (test_slice -ELBO within float32
    summation error)."""
    name = pathlib.Path(shipped_export).parent.name
    recipe = Recipe.from_dict(_json(shipped_export, "config.json"))
    metrics = _json(shipped_export, "metrics.json")
    assert recipe.name == name
    # The name finds this export (tests see only the shipped versions: conftest's $ZOO_PRESETS).
    assert os.path.realpath(preset_path(name)) == os.path.realpath(shipped_export)
    assert name in zoo.presets()

    model = _preset_of(recipe)
    assert model.image_shape == recipe.model.image_shape
    images, labels = _slice_images(recipe, metrics, data_dirs)
    check = metrics["test_slice"]
    measured = measure_test_slice(model, images, labels)
    assert (measured["examples"], measured["batch_size"]) == (check["examples"], check["batch_size"])
    assert measured["neg_elbo"] == pytest.approx(check["neg_elbo"], rel=float32_sum_tolerance(recipe, metrics))


def test_shipped_preset_is_compiled_as_its_recipe_trained_and_fits(shipped_family_export, data_dirs):
    """The preset comes compiled as the recipe trained (Adam at its learning rate), and one fit
    step on a small batch trains it and counts the epoch. The default tier takes one shipped
    export per serving family (conftest.by_family): the XLA compilation of a train step costs
    4-8 s a model, and the driver checks a step of every block (`-m slow`: every export)."""
    recipe = Recipe.from_dict(_json(shipped_family_export, "config.json"))
    model = _preset_of(recipe)
    assert model._is_compiled and isinstance(model.optimizer, keras.optimizers.Adam)
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(recipe.train.learning_rate)
    epochs = float(model.epochs_trained.numpy())
    before = [w.numpy() for w in model.trainable_weights]
    images, labels = _test_split(recipe.train.dataset, data_dirs[recipe.train.dataset],
                                 recipe.train.binarization != "none")
    fit_labels = None if getattr(recipe.model, "condition", None) is None else labels[:16]
    history = model.fit(images[:16], fit_labels, batch_size=16, epochs=1, verbose=0).history
    assert len(history["loss"]) == 1 and math.isfinite(history["loss"][0])
    assert float(model.epochs_trained.numpy()) == epochs + 1
    assert any(not np.array_equal(old, w.numpy()) for old, w in zip(before, model.trainable_weights))


def _preset_of(recipe):
    """The shipped preset of `recipe` by name, through its kind's `from_preset`."""
    kind = zoo.VQVAE if recipe.model.kind == "vq_vae" else zoo.VAE  # VAE.from_preset refuses a VQ-VAE's folder
    model = kind.from_preset(recipe.name)
    assert isinstance(model, kind)
    return model


def test_a_users_own_versions_change_nothing_the_tests_check(tmp_path, monkeypatch):
    """`make demo` exports saved_models/digits_mlp_bernoulli/2 beside the shipped 1: the tests
    still take the shipped version of each recipe (the highest that git tracks: 1, or 2 where
    `zoo fit-samplers` added samplers), by path and by name, and `zoo train` says when its
    export shadows a shipped preset."""
    exports = shipped_exports()
    tracked = _tracked_versions()
    assert exports and tracked and {os.path.relpath(path, ROOT) for path in exports.values()} <= tracked
    assert all(int(pathlib.Path(path).name) == max(int(pathlib.PurePosixPath(v).name) for v in tracked
                                                   if pathlib.PurePosixPath(v).parent.name == name)
               for name, path in exports.items())
    assert all(os.path.realpath(preset_path(name)) == os.path.realpath(path) for name, path in exports.items())

    presets = tmp_path / "saved_models"
    for version in ("1", "2"):
        (presets / "digits_mlp_bernoulli" / version).mkdir(parents=True)
    monkeypatch.setenv("ZOO_PRESETS", str(presets))
    assert _shadows_a_shipped_preset(str(presets / "digits_mlp_bernoulli" / "2"))
    assert not _shadows_a_shipped_preset(str(presets / "digits_mlp_bernoulli" / "1"))
    (tmp_path / "elsewhere" / "digits_mlp_bernoulli" / "1").mkdir(parents=True)
    assert not _shadows_a_shipped_preset(str(tmp_path / "elsewhere" / "digits_mlp_bernoulli" / "2"))
