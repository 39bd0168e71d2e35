"""Exports: TF Serving layout, every signature batched, the outputs each one serves (the
driver's exports, reloaded without zoo and compared with Python in tests/driver.py), and the
model.keras beside it loads as a preset computing the same ELBO."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

import zoo
from driver_cases import CASES, MODEL_CASES
from harness import example_inputs, tiny_recipe, trained_a_little
from recipes import RECIPES
from zoo.models import signatures
from zoo.export.savedmodel import KERAS_FILE, export
from driver import VAE_SIGNATURES
from zoo.models.builder import build

EXPECTED_OUTPUTS = {
    "serving_default": {"x_mean", "z_mean", "z_stddev"},
    "reconstruct": {"x_mean", "z_mean", "z_stddev"},
    "encode": {"z_mean", "z_stddev", "z_sample"},
    "sample": {"z", "x_mean", "x_sample"},
    "elbo": {"elbo", "reconstruction", "kl"},
    "log_likelihood": {"log_likelihood", "elbo", "reconstruction", "kl"},
}
DECODE_PARAMS = {"bernoulli": {"x_logits"}, "gaussian": {"x_loc", "x_scale"}, "continuous_bernoulli": {"x_logits"},
                 "discretized_logistic": {"x_loc", "x_log_scale"}, "categorical256": {"x_logits"},
                 "ms_ssim": {"x_logits"}, "log_cosh": {"x_logits"}}


def export_recipe(model, recipe, export_dir, metrics):
    """What train() exports: export_dir/<recipe name>/<version> with the recipe and metrics."""
    return export(model, os.path.join(export_dir, recipe.name), config=recipe.to_dict(), metrics=metrics,
                  name=recipe.name)


VAES = [c.name for c in MODEL_CASES if c.kind == "VAE"]


@pytest.mark.parametrize("name", VAES)
def test_export_serves_each_output_and_its_preset_computes_the_same_elbo(name, driven):
    """The driver's export of each VAE case (tests/test_driver_coverage.py reloads it without
    zoo and compares every signature with Python) serves the outputs its likelihood and
    posterior declare, and the model.keras beside it loads as a preset."""
    case = CASES[name]
    result = driven(name)
    model, outputs = result.model, result.served
    got = {}
    for key in outputs:
        signature, output = key.split("/")
        got.setdefault(signature, set()).add(output)
    likelihood = next(kind for role, kind in case.blocks if role == "likelihood")
    expected = {**EXPECTED_OUTPUTS, "decode": {"x_mean"} | DECODE_PARAMS[likelihood]}
    if ("posterior", "diagonal_normal") not in case.blocks:  # q(z|x) described otherwise: tests/test_flows.py, ...
        expected = {k: v for k, v in expected.items() if k not in ("serving_default", "reconstruct", "encode")}
    if ("posterior", "ladder") in case.blocks:  # each layer's share of the KL, from the same draws
        expected["log_likelihood"] = expected["log_likelihood"] | {"kl_per_layer"}
    if not model.has_likelihood:  # no bound to serve; its reconstructions' squared error (docs/autoencoders.md)
        expected = {k: v | ({"squared_error"} if k in ("serving_default", "reconstruct") else set())
                    for k, v in expected.items() if k not in ("elbo", "log_likelihood")}
        assert not {"elbo", "log_likelihood"} & set(got)
    assert {k: got[k] for k in expected} == expected
    assert outputs["sample/x_sample"].shape == outputs["decode/x_mean"].shape == (5, *model.image_shape)
    if likelihood == "categorical256":  # 256 logits per pixel
        assert outputs["decode/x_logits"].shape == (5, *model.image_shape, 256)

    # model.keras beside the SavedModel: the preset computes the ELBO the signature serves (a
    # model without a likelihood: the reconstructions).
    assert os.path.isfile(os.path.join(result.export_path, KERAS_FILE))
    x, y = result.inputs["x"], result.inputs.get("y")
    preset = zoo.VAE.from_preset(result.export_path)
    assert type(preset) is type(model) and preset is not model
    name, function = ("elbo", signatures.elbo) if model.has_likelihood else ("reconstruct", signatures.reconstruct)
    from_preset, original = function(preset, x, y), function(model, x, y)
    assert sorted(from_preset) == sorted(expected.get(name, got[name]))
    for key in from_preset:
        np.testing.assert_allclose(from_preset[key], original[key], rtol=1e-6, atol=1e-6, err_msg=key)
        np.testing.assert_allclose(from_preset[key], outputs[f"{name}/{key}"], rtol=1e-5, atol=1e-5, err_msg=key)
    if model.has_likelihood:
        np.testing.assert_allclose(preset.elbo(x, y), outputs["elbo/elbo"], rtol=1e-5, atol=1e-5)


def test_layout_versions_and_json(tmp_path):
    recipe = RECIPES.get("digits_mlp_bernoulli")
    model = build(recipe.model)
    root = tmp_path / "exports"
    first = export_recipe(model, recipe, str(root), {"test_neg_elbo": 12.5})
    second = export_recipe(model, recipe, str(root), {"test_neg_elbo": 12.0})
    assert first.endswith("digits_mlp_bernoulli/1") and second.endswith("digits_mlp_bernoulli/2")
    assert sorted(os.listdir(root / "digits_mlp_bernoulli")) == ["1", "2"]  # no staging left
    assert os.listdir(root) == ["digits_mlp_bernoulli"]  # export writes no models.config (train() does)
    assert json.load(open(os.path.join(first, "metrics.json")))["test_neg_elbo"] == 12.5
    config = json.load(open(os.path.join(first, "config.json")))
    assert config["model"]["image_shape"] == [8, 8, 1] and config["name"] == "digits_mlp_bernoulli"
    assert os.path.isfile(os.path.join(first, "saved_model.pb"))
    assert os.path.isfile(os.path.join(first, KERAS_FILE))


def test_every_signature_takes_a_batch_dimension(tmp_path):
    recipe = tiny_recipe("mlp", "bernoulli")
    path = export_recipe(build(recipe.model), recipe, str(tmp_path), {})
    loaded = tf.saved_model.load(path)
    assert sorted(loaded.signatures) == sorted(VAE_SIGNATURES)
    for name, fn in loaded.signatures.items():
        (spec,) = fn.structured_input_signature[1].values()
        assert spec.shape[0] is None, name
        for output in fn.structured_outputs.values():
            assert output.shape[0] is None, name


def test_sample_rows_depend_only_on_their_seed():
    model = build(tiny_recipe("mlp", "bernoulli").model)
    one = signatures.sample(model, tf.constant([11, 12, 13], tf.int64))
    other = signatures.sample(model, tf.constant([13, 99], tf.int64))
    for key in ("z", "x_sample", "x_mean"):
        # x_mean comes from a batched matmul, whose rounding may differ in the last bit
        np.testing.assert_allclose(one[key][2], other[key][0], rtol=1e-5, atol=1e-6)
        assert not np.allclose(one[key][0], one[key][1])
    np.testing.assert_array_equal(one["z"][2], other["z"][0])
    assert set(np.unique(one["x_sample"])) <= {0.0, 1.0}


def test_serving_outputs_are_deterministic():
    model = build(tiny_recipe("mlp", "bernoulli").model)
    x = example_inputs(model)["x"]
    for function in (signatures.encode, signatures.elbo, signatures.reconstruct):
        first, second = function(model, x), function(model, x)
        for key in first:
            np.testing.assert_array_equal(first[key], second[key])


@pytest.mark.slow
def test_model_keras_holds_weights_without_optimizer_state(tmp_path):
    """A trained, compiled model exports its weights only (Adam's moments would triple the
    export), once: in the SavedModel, which `model.keras` (the config) points at; the preset
    loader compiles it afresh so `fit` continues."""
    import zipfile

    from zoo.models import keras_file

    recipe = tiny_recipe("mlp", "bernoulli")
    model = trained_a_little(recipe)
    path = export_recipe(model, recipe, str(tmp_path), {})
    with zipfile.ZipFile(os.path.join(path, KERAS_FILE)) as archive:
        assert "model.weights.h5" not in archive.namelist()
    saved = keras_file.saved_weights(path)
    assert [value.shape for value in saved] == [tuple(v.shape) for v in model.variables]  # no optimizer slots
    again = zoo.VAE.from_preset(path)
    x = example_inputs(again, batch=10)["x"]
    np.testing.assert_allclose(again.elbo(x), model.elbo(x), rtol=1e-6)
    again.fit(x, batch_size=5, epochs=1, verbose=0)
