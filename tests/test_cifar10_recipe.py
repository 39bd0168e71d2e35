"""The CIFAR-10 recipe end to end on `tfds.testing.mock_data`, since these machines cannot
download CIFAR-10.

The mock patches TFDS inside this process only, so training runs through `zoo.cli.main`
in-process rather than in a subprocess. Without metadata files the mock gives every split
the same `num_examples` examples (train and test are identical) with pixels drawn from
0..254 and labels from 0..9.
"""

import json
import math

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from recipes import RECIPES
from zoo import cli
from zoo.data import DATASETS
from zoo.models.builder import build

NAME = "cifar10_conv_discretized_logistic"
MOCK_EXAMPLES = 200
MAX_PARAMS = 5_000_000  # about 20 MB at float32: an export small enough to ship


@pytest.fixture
def mock_cifar10():
    with tfds.testing.mock_data(num_examples=MOCK_EXAMPLES):
        yield


def test_cifar10_loads_as_8bit_colour_images_with_labels(mock_cifar10):
    dataset = DATASETS.get("cifar10")
    for split in ("train", "test"):
        loaded = dataset.load(split)
        assert loaded.images.shape == (MOCK_EXAMPLES, 32, 32, 3) and loaded.images.dtype == np.uint8
        assert loaded.levels == 256 and 0 <= loaded.images.min() and loaded.images.max() <= 255
        assert loaded.images.max() > 200, "mock pixels should span the 8-bit range"
        assert loaded.labels.shape == (MOCK_EXAMPLES,) and loaded.labels.dtype == np.int64
        assert set(np.unique(loaded.labels)) <= set(range(10))
        scaled = loaded.scaled()
        assert scaled.dtype == np.float32 and 0.0 <= scaled.min() and scaled.max() <= 1.0


@pytest.mark.slow
def test_cifar10_recipe_trains_and_exports_through_the_cli(mock_cifar10, tmp_path, capsys):
    # The export only traces log_likelihood, so its 5000 samples cost no time here.
    code = cli.main(["train", NAME, "--smoke", "--force-export", "--export-dir", str(tmp_path), "--set", "batch_size=50"])
    out, err = capsys.readouterr()
    assert code == 0, err[-3000:]
    assert "Test -ELBO" in out

    path = tmp_path / NAME / "1"
    config = json.loads((path / "config.json").read_text())
    metrics = json.loads((path / "metrics.json").read_text())
    assert config["train"]["dataset"] == "cifar10" and config["train"]["binarization"] == "none"
    assert config["model"]["likelihood"]["type"] == "discretized_logistic"
    assert config["train"]["batch_size"] == 50 and config["train"]["epochs"] == 1
    assert metrics["test_examples"] == MOCK_EXAMPLES and metrics["test_binarization"] == "none"
    # A log-probability of discrete pixels is <= 0, so its negation is positive.
    assert math.isfinite(metrics["test_neg_elbo"]) and metrics["test_neg_elbo"] > 0, metrics

    loaded = tf.saved_model.load(str(path))
    n = 3
    (z_spec,) = loaded.signatures["decode"].structured_input_signature[1].values()
    z = tf.random.stateless_normal([n, *z_spec.shape[1:]], seed=(0, 0))
    decoded = loaded.signatures["decode"](z=z)
    assert decoded["x_mean"].shape == (n, 32, 32, 3)
    assert {"x_loc", "x_log_scale"} <= set(decoded)
    x_mean = decoded["x_mean"].numpy()
    assert np.all(np.isfinite(x_mean)) and 0.0 <= x_mean.min() and x_mean.max() <= 1.0

    samples = loaded.signatures["sample"](seed=tf.constant([1, 2, 3], tf.int64))["x_sample"].numpy()
    assert samples.shape == (n, 32, 32, 3)
    assert 0.0 <= samples.min() and samples.max() <= 1.0
    np.testing.assert_allclose(samples * 255, np.round(samples * 255), atol=1e-3)


def test_full_cifar10_config_exports_a_small_model():
    params = build(RECIPES.get(NAME).model).count_params()
    assert 0 < params < MAX_PARAMS, f"{NAME} has {params:,} parameters (limit {MAX_PARAMS:,})"
