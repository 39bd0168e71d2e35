"""`zoo evaluate` on a small trained export: consistent figures, the signature agrees, errors."""

import json
import math
import os

import numpy as np
import pytest
import tensorflow as tf

from test_cli import _assert_one_line_error, assert_refused_in_one_line, zoo
from zoo.config import Recipe
from zoo.evaluation.evaluate import evaluate, evaluation_images
from zoo.models.kinds import load_preset
from zoo.models.presets import preset_path, read_json

SAMPLES = 64


def restore(path):
    """(model, recipe, version folder) of an export or its recipe folder (the latest version)."""
    version = preset_path(path)
    return load_preset(path), Recipe.from_dict(read_json(version, "config.json")), version


@pytest.fixture(scope="module")
def digits_export(digits_long_run):
    """digits_mlp_bernoulli after 30 epochs, exported with a 64-sample log_likelihood signature
    (conftest's `digits_long_run`, shared with test_cli)."""
    code, out, path = digits_long_run
    assert code == 0, out[-3000:]
    return path


@pytest.fixture(scope="module")
def evaluation(digits_export, tmp_path_factory):
    output = tmp_path_factory.mktemp("evaluation")
    result = evaluate(digits_export, num_samples=SAMPLES, batch_size=32, output_dir=str(output), verbose=False)
    return result, output


def test_figures_are_consistent(evaluation):
    result, _ = evaluation
    assert result["examples"] == 297 and result["samples"] == SAMPLES
    assert 0 < result["neg_log_likelihood"] <= result["neg_elbo"] < 64 * math.log(2)  # beats coin flips
    assert result["gap"] == pytest.approx(result["neg_elbo"] - result["neg_log_likelihood"], abs=1e-4)
    assert result["neg_elbo"] == pytest.approx(result["reconstruction"] + result["kl"], abs=1e-3)
    assert sum(result["kl_per_dimension"]) == pytest.approx(result["kl"], rel=0.1)  # analytic vs sampled
    assert len(result["kl_per_dimension"]) == len(result["posterior_mean_variance"]) == 8
    active = sum(v > 0.01 for v in result["posterior_mean_variance"])
    assert 0 < result["active_units"] == active <= 8
    assert result["bits_per_dim"] == pytest.approx(result["neg_log_likelihood"] / (64 * math.log(2)))


def test_writes_metrics_and_keeps_what_was_there(evaluation, digits_export):
    result, output = evaluation
    written = json.load(open(output / "metrics.json"))["evaluation"]
    assert written["neg_log_likelihood"] == pytest.approx(result["neg_log_likelihood"])
    assert written["command"] and written["seconds"] >= 0
    evaluate(digits_export, num_samples=4, examples=10, pictures=False, verbose=False)  # into the export
    metrics = json.load(open(os.path.join(digits_export, "metrics.json")))
    assert metrics["evaluation"]["examples"] == 10 and "test_neg_elbo" in metrics


def test_signature_matches_evaluate_on_the_same_images(evaluation, digits_export):
    result, _ = evaluation
    model, recipe, _ = restore(digits_export)
    images, _ = evaluation_images(recipe, None, False, None)
    served = tf.saved_model.load(digits_export).signatures["log_likelihood"](x=tf.constant(images))
    assert json.load(open(os.path.join(digits_export, "config.json")))["train"]["log_likelihood_samples"] == SAMPLES
    assert -float(np.mean(served["log_likelihood"])) == pytest.approx(result["neg_log_likelihood"], abs=1e-4)
    assert -float(np.mean(served["elbo"])) == pytest.approx(result["neg_elbo"], abs=1e-4)


def test_restored_model_is_the_exported_one(digits_export):
    model, recipe, path = restore(os.path.dirname(digits_export))  # the recipe folder: latest version
    assert path == digits_export
    x = tf.constant(evaluation_images(recipe, None, False, 5)[0])
    served = tf.saved_model.load(digits_export).signatures["encode"](x=x)
    np.testing.assert_allclose(model.encode(x).mean(), served["z_mean"], rtol=1e-5, atol=1e-6)


def test_cli_evaluate_and_its_errors(digits_export, tmp_path, capsys):
    done = zoo("evaluate", digits_export, "--samples", "8", "--examples", "20", "--output-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "-log p(x)" in done.stdout and "active units" in done.stdout
    assert json.load(open(tmp_path / "metrics.json"))["evaluation"]["samples"] == 8
    _assert_one_line_error(zoo("evaluate", str(tmp_path / "nowhere")), "nowhere", "not a folder")
    # In this process (a subprocess costs a TensorFlow start-up): the same exit code and line.
    assert_refused_in_one_line(["evaluate", str(tmp_path)], ["neither saved_model.pb"], capsys)
    assert_refused_in_one_line(["evaluate", digits_export, "--samples", "0"], ["--samples"], capsys)
