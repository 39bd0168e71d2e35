"""DeepMind's dSprites through TFDS, on mocked data only (no network here): the grid against
the TFDS builder, the split, the 0/1 pixel scale, the factors read from the label features,
streaming, MIG and the FactorVAE score on it, `zoo train` / `zoo evaluate`, and the errors."""

import contextlib
import json
import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from recipes import RECIPES
from zoo.config import TrainConfig
from zoo.data import DATASETS, Dsprites, resolve
from zoo.data.dsprites import GRID, LABELS
from zoo.data.training_data import TrainingData
from zoo.errors import ConfigError, DataError
from zoo.evaluation import disentanglement
from zoo.evaluation.evaluate import evaluate
from zoo.training.train import train

TINY = (3, 2, 2, 2, 2)  # 48 grid points


def image_of(factors):
    """A 0/1 image [64, 64, 1] that spells its factor indices: row 8k lit at column factor k."""
    image = np.zeros((64, 64, 1), np.uint8)
    for k, value in enumerate(factors):
        image[8 * k, value] = 1
    return image


def read_factors(images):
    """Factor indices [N, 5] spelt by images [N, 64, 64, 1] (of `image_of`, any scale)."""
    return np.stack([np.argmax(images[:, 8 * k, :, 0], axis=1) for k in range(5)], axis=1)


def shuffled_grid(sizes=TINY):
    """Every point of the grid `sizes` once, as factor indices [N, 5] in a shuffled order, as TFDS stores them."""
    return np.stack(np.unravel_index(np.random.default_rng(7).permutation(int(np.prod(sizes))), sizes), axis=1)


def records(grid):
    """TFDS `dsprites` examples of factor indices [N, 5]: `image_of` each, its labels and (dummy) values."""
    for factors in grid:
        yield {"image": image_of(factors), **{key: int(value) for key, value in zip(LABELS, factors)},
               **{key.replace("label", "value"): float(value) for key, value in zip(LABELS, factors)}}


@contextlib.contextmanager
def mocked(twice=False):
    """TFDS `dsprites` mocked as `records` of the tiny grid (`twice`: its first point once more)."""
    grid = shuffled_grid()
    if twice:
        grid = np.concatenate([grid, grid[:1]])

    def as_dataset(self, *args, **kwargs):
        examples = list(records(grid))
        return tf.data.Dataset.from_tensor_slices({key: np.stack([e[key] for e in examples]) for key in examples[0]})

    with tfds.testing.mock_data(as_dataset_fn=as_dataset):
        yield


@pytest.fixture(scope="module")
def tiny():
    source = Dsprites("dsprites_tiny", factor_sizes=TINY)
    with mocked():
        source.prepare()
    return source


def test_the_grid_is_the_tfds_builders():
    features = tfds.builder("dsprites").info.features  # read from TFDS's code: no download
    assert tuple(features[key].num_classes for key in LABELS) == GRID == (3, 6, 40, 32, 32)
    assert features["image"].shape == (64, 64, 1)
    dsprites = DATASETS.get("dsprites")
    assert dsprites.factor_sizes == GRID and len(dsprites) == 737280
    assert dsprites.factor_names == ("shape", "scale", "orientation", "x", "y")
    assert resolve("dsprites") is dsprites and TrainConfig(dataset="dsprites").dataset == "dsprites"
    with pytest.raises(ConfigError, match="64x64"):
        resolve("dsprites", image_size="32x32")


def test_split_is_a_fixed_permutation_holding_a_tenth_out(tiny):
    train, test = tiny.indices("train"), tiny.indices("test")
    np.testing.assert_array_equal(test, np.random.default_rng(0).permutation(48)[:5])  # round(48 * 0.1)
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(48))
    assert tiny.count("train") == 43 and tiny.count("test") == 5
    # the full grid holds out what shapes_full (dSprites' grid, drawn) holds out
    np.testing.assert_array_equal(DATASETS.get("dsprites").indices("test"), DATASETS.get("shapes_full").indices("test"))
    assert DATASETS.get("dsprites").count("test") == 73728


def test_pixels_are_two_levels_scaled_to_zero_and_one(tiny):
    split = tiny.load("train")
    assert split.images.shape == (43, 64, 64, 1) and split.images.dtype == np.uint8 and split.levels == 2
    assert set(np.unique(split.images)) == {0, 1}
    scaled = split.scaled()
    assert scaled.dtype == np.float32 and scaled.max() == 1.0  # not 1 / 255
    np.testing.assert_array_equal(scaled, split.images)


def test_factors_are_read_from_the_label_features(tiny):
    for split in ("train", "test"):
        loaded = tiny.load(split)
        np.testing.assert_array_equal(loaded.factors, tiny.factors(tiny.indices(split)))
        np.testing.assert_array_equal(read_factors(loaded.images), loaded.factors)  # each image is its own tuple's
        np.testing.assert_array_equal(loaded.labels, loaded.factors[:, 0])
    np.testing.assert_array_equal(read_factors(tiny.render([[2, 1, 0, 1, 1], [0, 0, 1, 0, 0]])),
                                  [[2, 1, 0, 1, 1], [0, 0, 1, 0, 0]])
    drawn = tiny.sample(4800, seed=3)
    np.testing.assert_array_equal(read_factors(drawn.images), drawn.factors)
    counts = np.bincount(tiny.grid_indices(drawn.factors), minlength=48)
    assert counts.min() > 60 and counts.max() < 140  # uniform over the grid: 100 each


def test_reads_a_tfds_folder_prepared_by_the_dsprites_builder(tmp_path):
    """TFDS's own builder writes the tiny grid (from arrays instead of DeepMind's file) to a
    data_dir: its PNG-encoded 0/1 pixels and label features read back as the mock's do."""
    builder = tfds.builder("dsprites", data_dir=str(tmp_path))
    builder._split_generators = lambda dl_manager: [tfds.core.SplitGenerator(name="train", gen_kwargs={})]
    builder._generate_examples = lambda: enumerate(records(shuffled_grid()))
    builder.download_and_prepare()
    source = Dsprites("dsprites_tiny", factor_sizes=TINY)
    test = source.load("test", str(tmp_path))
    assert set(np.unique(test.images)) == {0, 1}
    np.testing.assert_array_equal(read_factors(test.images), test.factors)
    with pytest.raises(DataError, match="holds 48 of the 737,280"):
        Dsprites().load("test", str(tmp_path))


def test_stream_equals_load(tiny):
    streamed = np.concatenate([b.numpy() for b in tiny.stream("train", 8, shuffle=False, repeat=False)])
    np.testing.assert_array_equal(streamed, tiny.load("train").scaled())


def test_trains_streamed_when_over_the_memory_budget(monkeypatch, tmp_path):
    monkeypatch.setenv("ZOO_MEMORY_BUDGET", "1K")
    source = Dsprites("dsprites_tiny", factor_sizes=TINY)
    with mocked():
        data = TrainingData(source, TrainConfig(dataset="dsprites", batch_size=8), str(tmp_path), False, resident=True)
    assert data.how.startswith("streamed unpacked from memory through tf.data") and data.steps_per_epoch == 43 // 8
    assert next(iter(data.train)).shape == (8, 64, 64, 1)
    np.testing.assert_array_equal(data.test_images(5), source.load("test").scaled())


class FactorReader:
    """A stand-in model whose code is the factor indices spelt by each image (plus noise):
    a perfect code, if and only if the images drawn are those of the factors drawn."""

    label_use, embeds = "none", True  # what the zoo asks of a model (zoo.models.base)

    def embed(self, x, y=None, batch_size=None):
        factors = read_factors(np.asarray(x)).astype(np.float32)
        return factors + 0.01 * np.random.default_rng(len(x)).standard_normal(factors.shape).astype(np.float32)


def test_metrics_score_a_perfect_code_one(tiny, monkeypatch):
    # LogisticRegressionCV does not converge on a perfect code: 1,000 images would add ~2 s here
    monkeypatch.setattr(disentanglement, "DOWNSTREAM_SIZES", (10, 100))
    result = disentanglement.scores(FactorReader(), tiny, examples=2000)
    assert result["mig"] > 0.99 and result["factor_vae_score"] == 1.0
    assert result["modularity"] > 0.99 and result["explicitness"] > 0.99 and result["irs"] > 0.9
    assert result["unfairness"] < 0.01 and result["downstream_boosted_trees"] == 1.0  # the images are the factors'
    json.dumps(result, allow_nan=False)  # metrics.json stays strict JSON: no NaN (an undefined figure is null)
    assert list(result["disentanglement"]["mig_per_factor"]) == ["shape", "scale", "orientation", "x", "y"]


@pytest.mark.slow  # 27 s: trains and exports; the default tier scores dsprites with test_metrics_score_a_perfect_code_one
def test_zoo_train_and_evaluate_write_both_metrics(tmp_path):
    source = Dsprites("dsprites_tiny", factor_sizes=TINY)
    with pytest.MonkeyPatch.context() as patch, mocked():
        patch.setitem(DATASETS._entries, source.name, source)
        recipe = RECIPES.get("digits_mlp_bernoulli").with_overrides(
            {"dataset": source.name, "epochs": 1, "batch_size": 8, "log_likelihood_samples": 2})
        export = train(recipe, export_dir=str(tmp_path / "exports"), verbose=False, force_export=True).export_path
        result = evaluate(export, num_samples=2, examples=5, pictures=False, output_dir=str(tmp_path), verbose=False)
    trained = json.load(open(os.path.join(export, "metrics.json")))
    assert trained["test_examples"] == 5 and trained["data"].startswith("held in memory")
    for scores in (trained, result):
        assert 0 <= scores["mig"] <= 1 and 0 <= scores["factor_vae_score"] <= 1
        assert scores["disentanglement"]["examples"] == disentanglement.EXAMPLES
    assert result["mig"] == pytest.approx(trained["mig"], abs=1e-6)  # the same images: the metric's seed is fixed


def test_offline_it_fails_in_one_line_saying_how_to_get_the_data(tmp_path):
    with pytest.raises(DataError, match="cannot load 'dsprites' through TFDS") as error:
        Dsprites().load("test", str(tmp_path))
    message = str(error.value)
    assert "\n" not in message and "--download (online)" in message and "--data-dir with a prepared TFDS" in message
    assert "'shapes_full'" in message
    with pytest.raises(DataError, match="no such folder"):
        Dsprites().load("test", str(tmp_path / "missing"))


def test_data_that_is_not_dsprites_is_refused():
    with tfds.testing.mock_data(num_examples=4), pytest.raises(DataError, match="pixel values up to .*are 0 or 1"):
        Dsprites().prepare()  # TFDS's default mock fills the images with 0..254
    with tfds.testing.mock_data(num_examples=4, max_value=1), pytest.raises(DataError, match="holds 4 of the 737,280"):
        Dsprites().prepare()
    with mocked(twice=True), pytest.raises(DataError, match="appears twice"):
        Dsprites("dsprites_tiny", factor_sizes=TINY).prepare()
    with mocked(), pytest.raises(DataError, match="outside the grid"):
        Dsprites("dsprites_tiny", factor_sizes=(2, 2, 2, 2, 2)).prepare()
    with pytest.raises(DataError, match="factor indices must be"):
        Dsprites().render([[3, 0, 0, 0, 0]])
