"""Post-hoc samplers (zoo.layers.samplers): each fits what it should on data whose answer is
known, draws row i from seed i alone, is fitted, reloaded and served through the shared
driver, and is refused in one line by models whose codes cannot take it."""

import contextlib
import io
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras
from sklearn.datasets import make_moons

import zoo
from zoo import cli
from zoo.config import VAEConfig
from zoo.errors import ConfigError, ZooError
from zoo.layers.posteriors import DiagonalNormal
from zoo.layers.samplers import GaussianMixture, MaskedAutoregressiveFlow, TwoStageVAE, signature_name
from zoo.models.builder import build
from harness import example_inputs

CASE = "vae_mlp_gaussian_fixed_beta_tcvae_samplers"  # tests/driver_cases.py: all three samplers, fitted
SERVED = {"gaussian_mixture": "sample_aggregate_posterior", "two_stage": "sample_two_stage", "flow": "sample_flow"}


def _fitted(sampler, codes, seed=0):
    keras.utils.set_random_seed(seed)  # the networks' initial weights
    sampler.attach(DiagonalNormal(codes.shape[1]))
    sampler.fit(codes, seed=seed)
    return sampler


def _draws(sampler, count):
    """`count` codes drawn by the sampler (traced once: eager `map_fn` draws row by row in Python)."""
    return tf.function(sampler.sample)(tf.range(count, dtype=tf.int64)).numpy()


def _standardized_moons(count, seed):
    codes, _ = make_moons(count, noise=0.05, random_state=seed)
    return ((codes - [0.5, 0.25]) / [0.87, 0.5]).astype(np.float32)


@pytest.fixture(scope="module")
def moons_flow():
    return _fitted(MaskedAutoregressiveFlow(layers=4, hidden_units=(64, 64), epochs=30, batch_size=64,
                                            learning_rate=5e-3, patience=10), _standardized_moons(2000, 0))


def test_the_flow_fits_two_moons_better_than_a_gaussian_and_matches_their_moments(moons_flow):
    """A hollow flow (the identity, or a Gaussian) scores held-out moons no better than one
    Gaussian fitted to them, which cannot bend; its draws must also have the data's moments."""
    train, held = _standardized_moons(2000, 0), _standardized_moons(1000, 1)
    gaussian = GaussianMixture(1)
    _fitted(gaussian, train)
    flow_score = float(tf.reduce_mean(moons_flow.log_prob(held)))
    gaussian_score = float(tf.reduce_mean(gaussian.log_prob(held)))
    assert flow_score > gaussian_score + 1.0, (flow_score, gaussian_score)  # measured: -1.37 against -2.7
    draws = _draws(moons_flow, 4000)
    np.testing.assert_allclose(draws.mean(axis=0), train.mean(axis=0), atol=0.1)
    np.testing.assert_allclose(np.cov(draws.T), np.cov(train.T), atol=0.15)


def test_the_flow_draws_through_its_bijector(moons_flow):
    """Its own loop of MADE passes (a smaller export graph) is TFP's forward pass, and inverts
    the density's direction."""
    u = tf.random.stateless_normal([64, 2], seed=[1, 2])
    codes = moons_flow.transform(u)
    np.testing.assert_allclose(codes, moons_flow.bijector().forward(u), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(moons_flow.bijector().inverse(codes), u, rtol=1e-4, atol=1e-4)


@pytest.fixture(scope="module")
def gaussian_codes():
    rng = np.random.default_rng(0)
    mean = np.array([1.0, -2.0, 0.5])
    root = np.array([[1.0, 0.0, 0.0], [0.6, 0.5, 0.0], [-0.3, 0.2, 0.4]])
    return mean, root @ root.T, (mean + rng.normal(size=(4000, 3)) @ root.T).astype(np.float32)


def test_the_two_stage_vae_draws_codes_with_the_mean_and_covariance_of_its_data(gaussian_codes):
    mean, covariance, codes = gaussian_codes
    sampler = _fitted(TwoStageVAE(hidden_units=(32, 32), epochs=30, batch_size=128, learning_rate=3e-3), codes)
    draws = _draws(sampler, 4000)
    np.testing.assert_allclose(draws.mean(axis=0), mean, atol=0.15)
    np.testing.assert_allclose(np.cov(draws.T), covariance, atol=0.2)
    assert sampler.trainable_weights == [] and len(sampler.weights) == 15  # shift, scale, gamma, 2 MLPs of 3 Dense


@pytest.mark.parametrize("make", [lambda: GaussianMixture(2), lambda: TwoStageVAE((8,), epochs=2),
                                  lambda: MaskedAutoregressiveFlow(2, (8,), epochs=2)],
                         ids=["gaussian_mixture", "two_stage", "flow"])
def test_row_i_depends_only_on_seed_i(make, gaussian_codes):
    sampler = _fitted(make(), gaussian_codes[2][:200])
    together = sampler.sample(tf.constant([7, 8, 8], tf.int64)).numpy()
    alone = sampler.sample(tf.constant([8], tf.int64)).numpy()
    np.testing.assert_allclose(together[2], together[1], rtol=1e-6)
    np.testing.assert_allclose(alone[0], together[1], rtol=1e-5, atol=1e-6)
    assert not np.allclose(together[0], together[1])
    assert sampler.sample(tf.zeros([0], tf.int64)).shape == (0, 3)


@pytest.mark.heavy
def test_each_sampler_is_fitted_reloaded_and_served(driven, tmp_path):
    """The driver's case holds all three, fitted: `.keras` reload and the export served without
    zoo or TFP give Python's outputs (tests/driver.py); here, each serves its own signature, and
    the export as a preset draws what the model drew."""
    result = driven(CASE)
    model = result.model
    assert model.sampler_names == ("prior", "gaussian_mixture", "two_stage", "flow")
    assert {kind: signature_name(kind) for kind in SERVED} == SERVED
    for kind, signature in SERVED.items():
        assert result.reload_report["inputs"][signature] == ["seed"]
        assert {f"{signature}/z", f"{signature}/x_mean", f"{signature}/x_sample"} <= set(result.served)
        assert not np.allclose(result.served[f"{signature}/z"], result.served["sample/z"]), kind
    preset = zoo.VAE.from_preset(result.export_path)
    for kind in model.sampler_names:
        np.testing.assert_allclose(preset.sample(4, seed=3, sampler=kind), model.sample(4, seed=3, sampler=kind),
                                   rtol=1e-5, atol=1e-6, err_msg=kind)
    with pytest.raises(ZooError, match="no sampler 'flows': it has prior, gaussian_mixture, two_stage, flow"):
        model.sample(2, sampler="flows")
    from zoo.evaluation import pictures

    side_by_side = pictures.make(model, example_inputs(model, batch=8)["x"])["sampler_samples"]
    rows = [pictures.grid(np.asarray(model.sample(pictures.SAMPLE_GRID, seed=0, **({} if kind == "prior" else {
        "sampler": kind})))[None]) for kind in model.sampler_names]
    row_height = rows[0].shape[0] - pictures.GAP
    assert side_by_side.shape[0] == pictures.GAP + 4 * row_height  # a row per sampler, the prior's first
    for index, row in enumerate(rows):
        np.testing.assert_array_equal(side_by_side[index * row_height:(index + 1) * row_height + pictures.GAP], row)


@pytest.mark.parametrize("fields, field, match", [
    ({"posterior": {"type": "categorical", "latent_dim": 3}, "prior": "uniform_categorical", "samplers": ("flow",)},
     "samplers", "continuous codes in one vector"),
    ({"condition": "class_label", "samplers": ("two_stage",)}, "samplers", "conditional VAE"),
    ({"samplers": ("flows",)}, "samplers", "flow, gaussian_mixture, two_stage"),
    ({"samplers": ({"type": "flow", "depth": 2},)}, "samplers.depth", "an argument of samplers 'flow'"),
])
def test_configs_whose_codes_cannot_take_a_sampler_are_refused_in_one_line(fields, field, match):
    with pytest.raises(ConfigError, match=match) as error:
        VAEConfig(image_shape=(8, 8, 1), **fields).check()
    assert error.value.field == field and "\n" not in str(error.value)


def test_the_earlier_field_asks_for_a_gaussian_mixture_and_prior_is_always_there():
    config = VAEConfig(aggregate_posterior_components=3, samplers=("prior", "flow"))
    assert config.samplers == ({"type": "flow"},)
    assert config.sampler_specs() == ({"type": "flow"}, {"type": "gaussian_mixture", "components": 3})
    assert zoo.AggregatePosterior is GaussianMixture
    assert VAEConfig(samplers="gaussian_mixture,flow").samplers == ({"type": "gaussian_mixture"}, {"type": "flow"})


@pytest.mark.heavy
@pytest.mark.parametrize("case, named", [("vae_mlp_categorical_continuous_bernoulli", "continuous codes"),
                                         ("vae_conv_iaf_vector_discretized_logistic", "conditional VAE"),
                                         ("vq_vae", "no vector code per image")])
def test_fit_samplers_refuses_an_export_whose_codes_cannot_take_one(case, named, driven, tmp_path, capsys):
    folder = tmp_path / "model"
    shutil.copytree(driven(case).export_path, folder / "1")
    assert cli.main(["fit-samplers", str(folder), "--samplers", "flow"]) == 2
    error = capsys.readouterr().err
    assert named in error and error.count("\n") == 1, error
    assert sorted(os.listdir(folder)) == ["1"]


@pytest.mark.heavy
def test_fit_samplers_publishes_the_next_version_with_the_same_weights(digits_long_run, tmp_path):
    """`zoo fit-samplers` on a copy of a digits export: version 2 holds version 1's weights,
    the fitted samplers, their signatures and version 1's metrics with a record of the fit."""
    _, _, version = digits_long_run
    folder = tmp_path / "digits_mlp_bernoulli"
    shutil.copytree(version, folder / "1")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(["fit-samplers", str(folder), "--samplers", "gaussian_mixture,flow"])
    assert code == 0 and "flow epoch 1/" in out.getvalue()
    first, second = zoo.VAE.from_preset(str(folder / "1")), zoo.VAE.from_preset(str(folder / "2"))
    assert second.sampler_names == ("prior", "gaussian_mixture", "flow")
    images = first.sample(5, seed=0)
    np.testing.assert_array_equal(first.elbo(images), second.elbo(images))
    metrics = zoo.models.presets.read_json(str(folder / "2"), "metrics.json")
    old = zoo.models.presets.read_json(str(folder / "1"), "metrics.json")
    assert metrics["test_neg_elbo"] == old["test_neg_elbo"] and metrics["samplers"]["flow"]["epochs"] >= 1
    assert metrics["samplers_fitted_to"]["train_images"] == 1500
    served = tf.saved_model.load(str(folder / "2")).signatures
    assert {"sample_aggregate_posterior", "sample_flow"} <= set(served)
    assert "digits_mlp_bernoulli" in (tmp_path / "models.config").read_text()


@pytest.mark.heavy
def test_an_export_made_before_the_sampler_slot_loads_and_draws_what_it_serves():
    """mnist_mlp_full_normal_mixture's version 1 holds an `AggregatePosterior` in its
    model.keras and its weights at "aggregate_posterior/..." in the SavedModel."""
    version = os.path.join(os.path.dirname(__file__), "..", "saved_models", "mnist_mlp_full_normal_mixture", "1")
    model = zoo.VAE.from_preset(version)
    assert model.sampler_names == ("prior", "gaussian_mixture")
    seeds = tf.constant([1, 2, 3], tf.int64)
    served = tf.saved_model.load(version).signatures["sample_aggregate_posterior"](seed=seeds)
    np.testing.assert_array_equal(model.sampler("gaussian_mixture").sample(seeds), served["z"])
