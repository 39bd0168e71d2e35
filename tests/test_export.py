"""Exports: TF Serving layout, every signature batched, reload without zoo matches Python."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from harness import assert_export_matches_model, example_inputs, tiny_recipe, trained_a_little
from recipes import RECIPES
from zoo import signatures
from zoo.export import SIGNATURE_INPUTS, export
from zoo.model import VAE

EXPECTED_OUTPUTS = {
    "serving_default": {"x_mean", "z_mean", "z_stddev"},
    "reconstruct": {"x_mean", "z_mean", "z_stddev"},
    "encode": {"z_mean", "z_stddev", "z_sample"},
    "sample": {"z", "x_mean", "x_sample"},
    "elbo": {"elbo", "reconstruction", "kl"},
    "log_likelihood": {"log_likelihood", "elbo", "reconstruction", "kl"},
}
DECODE_PARAMS = {"bernoulli": {"x_logits"}, "gaussian": {"x_loc", "x_scale"}, "continuous_bernoulli": {"x_logits"},
                 "discretized_logistic": {"x_loc", "x_log_scale"}}  # categorical256: tests/test_likelihoods.py


@pytest.mark.parametrize("network, likelihood, sigma", [
    ("mlp", "bernoulli", "learned"), ("conv", "bernoulli", "learned"),
    ("mlp", "gaussian", "learned"), ("conv", "gaussian", 0.3), ("conv", "gaussian", "per_pixel"),
    ("mlp", "continuous_bernoulli", "learned"), ("conv", "discretized_logistic", "learned"),
])
def test_export_reloads_without_zoo_and_matches(tmp_path, network, likelihood, sigma):
    recipe = tiny_recipe(network, likelihood, sigma)
    model = trained_a_little(recipe)
    path = export(model, recipe, str(tmp_path / "exports"), {"test_neg_elbo": 1.0})
    outputs = assert_export_matches_model(model, path, tmp_path)
    got = {}
    for key in outputs:
        name, output = key.split("/")
        got.setdefault(name, set()).add(output)
    assert got == {**EXPECTED_OUTPUTS, "decode": {"x_mean"} | DECODE_PARAMS[likelihood]}


def test_layout_versions_and_json(tmp_path):
    recipe = RECIPES.get("digits_mlp_bernoulli")
    model = VAE(recipe.model)
    root = tmp_path / "exports"
    first = export(model, recipe, str(root), {"test_neg_elbo": 12.5})
    second = export(model, recipe, str(root), {"test_neg_elbo": 12.0})
    assert first.endswith("digits_mlp_bernoulli/1") and second.endswith("digits_mlp_bernoulli/2")
    assert sorted(os.listdir(root / "digits_mlp_bernoulli")) == ["1", "2"]  # no staging left
    assert json.load(open(os.path.join(first, "metrics.json")))["test_neg_elbo"] == 12.5
    config = json.load(open(os.path.join(first, "config.json")))
    assert config["model"]["image_shape"] == [8, 8, 1] and config["name"] == "digits_mlp_bernoulli"
    assert os.path.isfile(os.path.join(first, "saved_model.pb"))


def test_every_signature_takes_a_batch_dimension(tmp_path):
    recipe = tiny_recipe("mlp", "bernoulli")
    path = export(VAE(recipe.model), recipe, str(tmp_path), {})
    loaded = tf.saved_model.load(path)
    assert sorted(loaded.signatures) == sorted(SIGNATURE_INPUTS)
    for name, fn in loaded.signatures.items():
        (spec,) = fn.structured_input_signature[1].values()
        assert spec.shape[0] is None, name
        for output in fn.structured_outputs.values():
            assert output.shape[0] is None, name


def test_sample_rows_depend_only_on_their_seed():
    model = VAE(tiny_recipe("mlp", "bernoulli").model)
    one = signatures.sample(model, tf.constant([11, 12, 13], tf.int64))
    other = signatures.sample(model, tf.constant([13, 99], tf.int64))
    for key in ("z", "x_sample", "x_mean"):
        # x_mean comes from a batched matmul, whose rounding may differ in the last bit
        np.testing.assert_allclose(one[key][2], other[key][0], rtol=1e-5, atol=1e-6)
        assert not np.allclose(one[key][0], one[key][1])
    np.testing.assert_array_equal(one["z"][2], other["z"][0])
    assert set(np.unique(one["x_sample"])) <= {0.0, 1.0}


def test_serving_outputs_are_deterministic():
    model = VAE(tiny_recipe("mlp", "bernoulli").model)
    x = example_inputs(model)["x"]
    for function in (signatures.encode, signatures.elbo, signatures.reconstruct):
        first, second = function(model, x), function(model, x)
        for key in first:
            np.testing.assert_array_equal(first[key], second[key])
