"""Models without a likelihood (issue 28, docs/autoencoders.md): a point-mass posterior (a
deterministic encoder) with an objective of the draws alone (the plain autoencoder, RAE).
They train on the compiled path, export no `elbo` or `log_likelihood` signature, record no
test -ELBO, and `zoo evaluate` scores them by reconstruction error and sample quality."""

import json

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

import autoencoders_by_hand as by_hand
from zoo.config import Recipe, TrainConfig, VAEConfig
from zoo.errors import ConfigError, ZooError
from zoo.evaluation import inference_gaps
from zoo.evaluation.evaluate import SCORERS, evaluate
from zoo.data import ResidentImages, Split
from zoo.models.builder import build
from zoo.seeds import ELBO_SEED
from zoo.training.train import train

NETWORK = {"type": "mlp", "hidden_units": (16,)}
POINT_MASS = {"type": "point_mass", "latent_dim": 3}
BOUNDS = {"elbo", "log_likelihood"}


def point_mass_model(objective="autoencoder", **options):
    return build(VAEConfig(image_shape=(8, 8, 1), network=NETWORK, posterior=POINT_MASS, objective=objective,
                           **options))


def binary_images(count=32, seed=0):
    return (np.random.default_rng(seed).random((count, 8, 8, 1)) < 0.5).astype(np.float32)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A point-mass autoencoder with a Gaussian mixture sampler, trained by `zoo train` on the digits."""
    folder = tmp_path_factory.mktemp("autoencoder")
    recipe = Recipe(name="digits_point_mass_autoencoder", description="test", model=VAEConfig(
        image_shape=(8, 8, 1), network=NETWORK, posterior=POINT_MASS, objective="autoencoder",
        samplers=({"type": "gaussian_mixture", "components": 2},)),
        train=TrainConfig(dataset="digits", epochs=2, batch_size=100))
    return train(recipe, export_dir=str(folder), verbose=False)


def test_a_point_mass_with_an_objective_that_needs_a_density_is_refused_in_one_line():
    for objective in ("elbo", {"type": "iwae", "samples": 2}, {"type": "beta_tcvae", "dataset_size": 8}):
        with pytest.raises(ConfigError) as refused:
            point_mass_model(objective)
        message = str(refused.value)
        assert "\n" not in message and "'objective'" in message and "autoencoder" in message and "rae" in message


@pytest.mark.slow
def test_zoo_train_records_no_elbo_and_exports_no_bound(trained):
    metrics, model = trained.metrics, trained.model
    assert not model.has_likelihood and model.scoring == "reconstruction_error"
    assert "test_neg_elbo" not in metrics and "baseline_neg_elbo" not in metrics
    assert 0 < metrics["test_squared_error"] < 0.25 and metrics["test_loss"] == metrics["test_reconstruction"]
    slice_error = metrics["test_slice"]["squared_error"]
    loaded = tf.saved_model.load(trained.export_path)
    assert BOUNDS.isdisjoint(loaded.signatures)
    assert {"reconstruct", "encode", "decode", "sample", "sample_aggregate_posterior"} <= set(loaded.signatures)
    with open(f"{trained.export_path}/metrics.json") as f:
        assert json.load(f)["test_slice"]["squared_error"] == slice_error
    images = np.asarray(model.reconstruct(np.zeros((2, 8, 8, 1), np.float32)))
    assert images.shape == (2, 8, 8, 1)


@pytest.mark.slow
def test_zoo_evaluate_reports_reconstruction_error_and_sample_quality(trained, tmp_path):
    scores = evaluate(trained.export_path, output_dir=str(tmp_path), pictures=False, verbose=False,
                      sample_quality={"samples": 300})
    assert scores["density"].startswith("none") and 0 < scores["reconstruction_mse"] < 0.25
    assert "neg_log_likelihood" not in scores and "neg_elbo" not in scores
    samplers = scores["sample_quality"]["domain"]["samplers"]
    assert set(samplers) == {"prior", "gaussian_mixture"}
    assert all(np.isfinite(figures["fid"]) and 0 <= figures["precision"] <= 1 for figures in samplers.values())


def test_its_export_serves_no_bound_through_the_shared_driver(driven):
    """Config round trip, a step, .keras reload and the export served without zoo or TFP
    (tests/driver.py): reconstruct, encode, decode and both samplers; no elbo, no log_likelihood."""
    signatures = {key.split("/")[0] for key in driven("vae_mlp_point_mass_rae_gp_samplers").served}
    assert signatures == {"serving_default", "reconstruct", "encode", "decode", "sample", "sample_aggregate_posterior"}


def test_zoo_evaluate_scores_it_by_what_it_declares():
    """The scorer `zoo evaluate` picks for it (the slow tier runs the whole command on an export)."""
    model = point_mass_model()
    recipe = Recipe(name="point_mass", description="test", model=VAEConfig(), train=TrainConfig(dataset="digits"))
    x = binary_images(8)
    scorer, report = SCORERS[model.scoring]
    scores = scorer(model, recipe, x, batch_size=4)
    expected = np.mean((np.asarray(model.reconstruct(x)) - x) ** 2)
    assert scores["reconstruction_mse"] == pytest.approx(expected, rel=1e-5) and "no likelihood" in report(scores)


def test_bounds_and_inference_gaps_refuse_in_one_line():
    model = point_mass_model()
    x = binary_images(4)
    for ask in (lambda: model.log_likelihood(x, samples=2), lambda: model.elbo(x),
                lambda: model.importance_sampled_batches(x, samples=2), lambda: inference_gaps.check(model, 2)):
        with pytest.raises(ZooError) as refused:
            ask()
        assert "\n" not in str(refused.value) and "no likelihood" in str(refused.value)


def test_a_compiled_step_changes_the_weights_with_a_finite_loss_and_no_kl():
    """RAE-GP (a gradient inside the loss) through the loop `zoo train` runs: `ResidentImages`, XLA."""
    model = point_mass_model({"type": "rae", "kind": "gp", "beta": 1e-2, "decoder_weight": 1e-2})
    model.compile(keras.optimizers.Adam(1e-2), jit_compile=True, steps_per_execution=1)
    before = [v.numpy() for v in model.trainable_variables]
    data = ResidentImages(Split(binary_images(32).astype(np.uint8), None, 2), batch_size=16, binarization="none", seed=0)
    history = model.fit(data, epochs=1, verbose=0).history
    assert "kl" not in history and np.isfinite(history["loss"][0]) and np.isfinite(history["squared_error"][0])
    assert history["decoder_penalty"][0] > 0 and history["code_penalty"][0] > 0
    assert all(not np.array_equal(b, v.numpy()) for b, v in zip(before, model.trainable_variables))


@pytest.mark.parametrize("kind", ["l2", "gp"])
def test_rae_loss_by_hand(kind):
    """loss = -log p(x|z) + beta ||z||^2 / 2 + lambda L_REG, each part in plain loops
    (tests/autoencoders_by_hand.py): the L2 over the decoder's kernels and biases, the gradient
    penalty by central differences of the decoder."""
    keras.utils.set_random_seed(1)
    model = point_mass_model({"type": "rae", "kind": kind, "beta": 0.5, "decoder_weight": 0.25})
    x = binary_images(5)
    terms = {name: value.numpy() for name, value in model.terms(tf.constant(x), seed=ELBO_SEED).items()}
    _, z, _ = model.draw(x, 1, seed=ELBO_SEED)
    dense = [layer for layer in model.decoder.submodules if isinstance(layer, keras.layers.Dense)]
    assert len(model.decoder.trainable_variables) == 2 * len(dense) == 4  # the kernels and biases it sums
    np.testing.assert_allclose(terms["code_penalty"], by_hand.code_penalty(z.numpy()), rtol=1e-5)
    expected = (by_hand.decoder_l2(model) if kind == "l2" else by_hand.decoder_gradient_penalty(model, z.numpy()))
    np.testing.assert_allclose(terms["decoder_penalty"], expected, rtol=1e-5 if kind == "l2" else 1e-4)
    assert np.all(terms["decoder_penalty"] > 0) and np.all(terms["code_penalty"] > 0)
    np.testing.assert_allclose(terms["loss"], by_hand.loss(model, x, ELBO_SEED), rtol=1e-4)


def test_an_objective_of_the_draws_keeps_the_likelihood_of_a_gaussian_posterior():
    """The autoencoder objective on a Gaussian q: the model keeps its ELBO, and reports the KL
    it does not train on."""
    model = build(VAEConfig(image_shape=(8, 8, 1), network=NETWORK, objective="autoencoder",
                            posterior={"type": "diagonal_normal", "latent_dim": 3}))
    model.compile(keras.optimizers.Adam(1e-2))
    logs = model.evaluate(binary_images(), verbose=0, return_dict=True)
    assert model.has_likelihood and BOUNDS <= set(model.signatures()) and logs["kl"] > 0
    assert logs["loss"] == pytest.approx(logs["reconstruction"])
