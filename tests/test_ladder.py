"""Hierarchical latents (`Ladder` posterior, `TopDown` prior): their densities against the
formulas, the KL per layer, importance sampling over all layers, the top prior's choices,
the one-line errors, and export."""

import math

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

import zoo
from zoo.config import VAEConfig
from zoo.errors import ConfigError, ZooError
from zoo.models import importance_sampling
from zoo.layers.ladder import Ladder, TopDown
from zoo.models.builder import build

D, LAYERS = 3, 2


def _model(top="standard_normal", objective="elbo", layers=LAYERS):
    keras.utils.set_random_seed(4)
    return build(VAEConfig(network={"type": "mlp", "hidden_units": (16,)},
                           posterior={"type": "ladder", "latent_dim": D, "layers": layers, "hidden_units": (8,)},
                           prior={"type": "top_down", "top": top}, objective=objective))


def _x(n=5, seed=0):
    return (np.random.default_rng(seed).random((n, 28, 28, 1)) < 0.3).astype(np.float32)


def _normal_log_pdf(z, loc, scale):
    return np.sum(-0.5 * ((z - loc) / scale) ** 2 - np.log(scale) - 0.5 * math.log(2 * math.pi), axis=-1)


def _top_down(ladder, index, parent):
    """(loc, scale) of p(z_index | parent) from the top-down MLP's weights, in numpy."""
    h = parent
    dense = [layer for layer in ladder.top_down[index].layers]
    for layer in dense[:-1]:
        kernel, bias = (w.numpy().astype(np.float64) for w in layer.weights)
        h = np.tanh(h @ kernel + bias)
    kernel, bias = (w.numpy().astype(np.float64) for w in dense[-1].weights)
    loc, raw = np.split(h @ kernel + bias, 2, axis=-1)
    return loc, np.logaddexp(0, raw) + 1e-5


def _hand_log_q_and_log_p(model, x, z):
    """log q(z|x) and log p(z) of two-layer codes z [S, B, 2D] from the LVAE formulas."""
    params = model._encoder_params(x).numpy().astype(np.float64)
    loc1, raw1, loc2, raw2 = np.split(params, 4, axis=-1)
    scale1, scale2 = np.logaddexp(0, raw1) + 1e-5, np.logaddexp(0, raw2) + 1e-5
    z = z.astype(np.float64)
    z1, z2 = z[..., :D], z[..., D:]
    p_loc, p_scale = _top_down(model.posterior, 0, z2)
    precision = scale1 ** -2 + p_scale ** -2  # the precision-weighted merge of q-hat and p
    q_loc = (loc1 * scale1 ** -2 + p_loc * p_scale ** -2) / precision
    log_q = _normal_log_pdf(z2, loc2, scale2) + _normal_log_pdf(z1, q_loc, precision ** -0.5)
    log_p = _normal_log_pdf(z2, 0.0, 1.0) + _normal_log_pdf(z1, p_loc, p_scale)
    return log_q, log_p, (log_q - log_p, _normal_log_pdf(z1, q_loc, precision ** -0.5) - _normal_log_pdf(z1, p_loc, p_scale))


def test_densities_and_kl_per_layer_equal_the_formulas():
    model = _model()
    x = _x()
    q = model.encode(x)
    z = q.sample(4, seed=(1, 2))
    log_q, log_p, (kl, kl_z1) = _hand_log_q_and_log_p(model, x, z.numpy())
    np.testing.assert_allclose(q.log_prob(z), log_q, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(model.prior.distribution().log_prob(z), log_p, rtol=1e-4, atol=1e-4)
    per_layer = model.prior.kl_per_layer(q, z).numpy()
    np.testing.assert_allclose(per_layer[:, 0], kl_z1.mean(0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(per_layer.sum(-1), kl.mean(0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(model.prior.kl(q, z), kl.mean(0), rtol=1e-4, atol=1e-4)


def test_draws_follow_the_top_down_conditionals():
    model = _model()
    x = _x(1)
    q = model.encode(x)
    z = q.sample(20000, seed=(3, 4)).numpy()[:, 0].astype(np.float64)  # [S, 2D]
    params = model._encoder_params(x).numpy().astype(np.float64)[0]
    loc1, raw1, loc2, raw2 = np.split(params, 4)
    scale1 = np.logaddexp(0, raw1) + 1e-5
    np.testing.assert_allclose(z[:, D:].mean(0), loc2, atol=0.03)  # the top: its bottom-up estimate
    np.testing.assert_allclose(z[:, D:].std(0), np.logaddexp(0, raw2) + 1e-5, rtol=0.03)
    p_loc, p_scale = _top_down(model.posterior, 0, z[:, D:])
    precision = scale1 ** -2 + p_scale ** -2
    standardized = (z[:, :D] - (loc1 * scale1 ** -2 + p_loc * p_scale ** -2) / precision) * precision ** 0.5
    np.testing.assert_allclose(standardized.mean(0), 0.0, atol=0.03)  # z1 | z2 as the merge says
    np.testing.assert_allclose(standardized.std(0), 1.0, rtol=0.03)


def test_seeded_draws_are_tfps_and_threefry_draws_follow_q():
    model = _model()
    params = model._encoder_params(_x(2))
    q = model.posterior.inference(params)
    seed = tf.constant([5, 6])
    np.testing.assert_array_equal(model.posterior.sample(params, 3, seed), q.sample(3, seed=seed))
    # threefry, as the compiled training loop draws: other numbers from the same q
    draw = tf.function(lambda: model.posterior.sample(params, 20000, seed, alg="threefry"), jit_compile=True)
    z = draw().numpy().astype(np.float64)
    assert not np.allclose(z[:3], q.sample(3, seed=seed).numpy())
    loc2, scale2 = q.top.distribution.loc.numpy(), q.top.distribution.scale.numpy()
    np.testing.assert_allclose(((z[..., D:] - loc2) / scale2).mean(0), 0.0, atol=0.03)
    np.testing.assert_allclose(((z[..., D:] - loc2) / scale2).std(0), 1.0, rtol=0.03)
    log_q, _, _ = _hand_log_q_and_log_p(model, _x(2), z[:100])
    np.testing.assert_allclose(q.log_prob(z[:100].astype(np.float32)), log_q, rtol=1e-4, atol=1e-4)


def test_objectives_give_the_kl_of_each_layer_once_with_the_total():
    x = _x(4)
    for objective in ("elbo", {"type": "iwae", "samples": 3}):
        model = _model(objective=objective, layers=3)
        q, z, log_likelihood = model.draw(x, model.objective.samples, seed=(1, 2))
        terms = model.objective.terms(q, z, log_likelihood, model.prior)
        assert terms["kl_per_layer"].shape == (4, 3)
        np.testing.assert_allclose(tf.reduce_sum(terms["kl_per_layer"], -1), terms["kl"], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(terms["kl_per_layer"], model.prior.kl_per_layer(q, z), rtol=1e-5, atol=1e-5)
        assert set(model.terms(x, seed=(1, 2))) == {"loss", "reconstruction", "kl", "kl_z1", "kl_z2", "kl_z3"}


def test_the_kl_reuses_the_draws_top_down_pass(monkeypatch):
    """The top-down networks run once per layer for a draw and its KL: each extra use would add
    a backward pass through them (40 -> 32 dot ops in the XLA step of the shipped recipe)."""
    model = _model(layers=3)
    calls = []
    top_down_normal = Ladder.top_down_normal
    monkeypatch.setattr(Ladder, "top_down_normal", lambda self, index, parent: calls.append(index)
                        or top_down_normal(self, index, parent))
    x = _x(4)
    q, z = model.posterior.draws(model._encoder_params(x), 2, seed=tf.constant([1, 2]))
    assert sorted(calls) == [0, 1]
    ratios = model.prior.log_ratio_per_layer(q, z)
    assert sorted(calls) == [0, 1]  # none more: the layers the draw made
    other = tf.identity(z)  # codes q did not draw: each layer's networks run once
    np.testing.assert_allclose(model.prior.log_ratio_per_layer(q, other), ratios, rtol=1e-5, atol=1e-5)
    assert sorted(calls) == [0, 0, 1, 1]
    np.testing.assert_allclose(tf.reduce_sum(ratios, -1), q.log_prob(other) - model.prior.distribution().log_prob(other),
                               rtol=1e-5, atol=1e-4)


def test_training_reports_each_layer_and_they_sum_to_the_kl():
    model = _model(objective={"type": "elbo", "warmup_epochs": 2, "free_bits": 0.1}, layers=3)
    model.compile(keras.optimizers.Adam(3e-3))
    x = _x(40)
    history = model.fit(x, batch_size=20, epochs=3, verbose=0).history
    assert history["loss"][-1] < history["loss"][0]
    result = model.evaluate(x, verbose=0, return_dict=True)
    assert set(result) == {"loss", "reconstruction", "kl", "kl_z1", "kl_z2", "kl_z3"}
    assert result["kl"] == pytest.approx(result["kl_z1"] + result["kl_z2"] + result["kl_z3"], rel=1e-5)


def test_importance_sampling_scores_all_layers_jointly():
    model = _model(objective={"type": "iwae", "samples": 3})
    x = _x(2)
    estimates = importance_sampling.log_likelihood(model, tf.constant(x), 50, (5, 6), chunk_size=20)
    assert np.all(estimates["log_likelihood"] >= estimates["elbo"])
    # one draw: the log weight log p(x|z) + log p(z) - log q(z|x), with both densities from the formulas
    one = importance_sampling.log_likelihood(model, tf.constant(x[:1]), 1, (5, 6))
    q = model.posterior.inference(model._encoder_params(x[:1]))
    z = q.sample(1, seed=tf.random.experimental.stateless_fold_in(tf.constant((5, 6)), 0))
    log_q, log_p, _ = _hand_log_q_and_log_p(model, x[:1], z.numpy())
    log_px = model.decode(z[0]).log_prob(x[:1]).numpy()
    np.testing.assert_allclose(one["log_likelihood"], log_px + log_p[0] - log_q[0], rtol=1e-4)


def test_vamp_prior_on_the_top_layer():
    model = _model(top={"type": "vamp", "components": 4})
    top = model.prior.top
    assert isinstance(top, zoo.VampPrior) and top.code_shape == (D,)
    mixture = top.distribution()
    pseudo = np.clip(top.pseudo_inputs.numpy(), 0, 1)
    params = model._encoder_params(pseudo).numpy()
    np.testing.assert_allclose(mixture.components_distribution.mean(), np.split(params, 4, axis=-1)[2], rtol=1e-5)
    z = model.prior.sample(3, seed=(7, 8))
    assert z.shape == (3, 2 * D)
    model.compile(keras.optimizers.Adam(3e-3))
    model.fit(_x(20), batch_size=10, epochs=1, verbose=0)


def test_mismatched_blocks_are_refused_in_one_line():  # the config's refusals: tests/test_config.py
    encoder = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(16)])
    decoder = keras.Sequential([keras.Input((8,)), keras.layers.Dense(784), keras.layers.Reshape((28, 28, 1))])
    with pytest.raises(ZooError, match=r"'top_down' for the posterior 'ladder', with the prior of your choice on top"):
        zoo.VAE(encoder, Ladder(4), decoder, zoo.Bernoulli())
    with pytest.raises(ZooError, match="TopDown's top must be"):
        TopDown(TopDown())
    with pytest.raises(ConfigError, match="activation.*sigmoid.*relu, elu"):
        Ladder(4, activation="sigmoid")


def test_keras_file_and_export_reload(driven):
    """The driver's ladder with a VampPrior on top: `.keras` and the export (reloaded without
    zoo or TFP) give Python's outputs (tests/driver.py); the export serves both layers' code."""
    outputs = driven("vae_conv_ladder_vamp_bernoulli").served
    assert outputs["encode/z_code"].shape == (5, LAYERS * D)  # the case: latent_dim 3, 2 layers
