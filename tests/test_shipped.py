"""Every shipped export in saved_models/ loads with TensorFlow alone, describes itself, and
still gives the test-set figure its metrics.json reports."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from zoo.config import Recipe
from zoo.data import DATASETS, eval_images

REQUIRED_METRICS = ("test_neg_elbo", "test_reconstruction", "test_kl", "test_slice", "train_seconds",
                    "hardware", "command", "epochs")


def _json(path, name):
    with open(os.path.join(path, name)) as f:
        return json.load(f)


def test_shipped_export_reproduces_its_metrics(shipped_export, data_dirs):
    recipe = Recipe.from_dict(_json(shipped_export, "config.json"))
    metrics = _json(shipped_export, "metrics.json")
    missing = [key for key in REQUIRED_METRICS if key not in metrics]
    assert not missing, f"{shipped_export}/metrics.json lacks {missing}"
    assert metrics["command"].startswith(f"zoo train {recipe.name}")
    assert np.isfinite(metrics["test_neg_elbo"])
    assert metrics["test_neg_elbo"] == pytest.approx(metrics["test_reconstruction"] + metrics["test_kl"])

    elbo = tf.saved_model.load(shipped_export).signatures["elbo"]
    split = DATASETS.get(recipe.train.dataset).load("test", data_dirs[recipe.train.dataset])
    check = metrics["test_slice"]
    images = eval_images(split, binarize=recipe.train.binarization != "none")[:check["examples"]]
    batch = check["batch_size"]
    values = np.concatenate([elbo(x=tf.constant(images[i:i + batch]))["elbo"].numpy()
                             for i in range(0, len(images), batch)])
    assert -values.mean() == pytest.approx(check["neg_elbo"], rel=1e-5, abs=1e-4)
    # The slice is a sample of the test set: the full-set figure lies within a few standard errors.
    stderr = values.std(ddof=1) / np.sqrt(len(values))
    assert abs(-values.mean() - metrics["test_neg_elbo"]) < 6 * stderr + 1.0
