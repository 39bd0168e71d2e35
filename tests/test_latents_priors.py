"""Latents and priors against known values: full-covariance and categorical posteriors,
mixture and VampPrior densities by hand, and the config checks that pair them."""

import math

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras
from scipy import stats
from scipy.special import logsumexp, softmax

from zoo.config import VAEConfig
from zoo.errors import ConfigError, ZooError
from zoo.layers.posteriors import DiagonalNormal, FullCovarianceNormal, RelaxedCategorical
from zoo.layers.priors import MixtureOfGaussians, StandardNormal, UniformCategorical
from zoo.models.builder import build
from zoo.objectives import IWAE


def _model(posterior=None, prior="standard_normal", objective="elbo"):
    keras.utils.set_random_seed(0)
    return build(VAEConfig(image_shape=(8, 8, 1), network={"type": "mlp", "hidden_units": (16,)},
                           posterior=posterior or {"type": "diagonal_normal", "latent_dim": 3},
                           prior=prior, objective=objective))


def _binary_images(n, shape=(8, 8, 1), seed=0):
    return (np.random.default_rng(seed).random((n, *shape)) < 0.3).astype(np.float32)


def _diagonal_log_normal(z, loc, scale):
    """log N(z; loc, diag(scale^2)), summed over the last axis, in float64."""
    z, loc, scale = (np.asarray(a, np.float64) for a in (z, loc, scale))
    return np.sum(-0.5 * ((z - loc) / scale) ** 2 - np.log(scale) - 0.5 * np.log(2 * np.pi), axis=-1)


def test_full_normal_params_size_and_scale_tril():
    for d in (1, 3, 4):
        assert FullCovarianceNormal(d).params_size == d + d * (d + 1) // 2
        assert FullCovarianceNormal(d).code_shape == (d,)
    params = tf.random.stateless_normal([5, 3 + 6], seed=[0, 1]) * 2.0
    q = FullCovarianceNormal(3)(params)
    assert q.batch_shape == (5,) and q.event_shape == (3,)
    tril = q.scale.to_dense().numpy()
    assert tril.shape == (5, 3, 3)
    np.testing.assert_array_equal(np.triu(tril, k=1), 0.0)
    assert np.all(np.diagonal(tril, axis1=1, axis2=2) > 0)
    np.testing.assert_allclose(q.mean(), params[:, :3])


def test_full_normal_log_prob_kl_and_summary_by_hand():
    d = 3
    params = tf.random.stateless_normal([4, d + d * (d + 1) // 2], seed=[2, 3])
    layer = FullCovarianceNormal(d)
    q = layer.inference(params)  # the form KL terms are computed on (see zoo.posteriors)
    m = q.mean().numpy().astype(np.float64)
    tril = q.scale.to_dense().numpy().astype(np.float64)
    cov = tril @ np.transpose(tril, (0, 2, 1))
    z = q.sample(seed=(4, 5)).numpy()
    expected = [stats.multivariate_normal(m[i], cov[i]).logpdf(z[i]) for i in range(4)]
    np.testing.assert_allclose(q.log_prob(z), expected, rtol=1e-5)

    kl = 0.5 * (np.trace(cov, axis1=1, axis2=2) + np.sum(m ** 2, axis=1) - d - np.linalg.slogdet(cov)[1])
    prior = StandardNormal()
    prior.attach(layer)
    np.testing.assert_allclose(prior.kl(q, z[None]), kl, rtol=1e-5, atol=1e-6)

    summary = layer.summary(q)
    assert sorted(summary) == ["z_mean", "z_scale_tril", "z_stddev"]
    assert summary["z_mean"].shape == (4, d) and summary["z_stddev"].shape == (4, d)
    assert summary["z_scale_tril"].shape == (4, d, d)
    np.testing.assert_allclose(summary["z_stddev"], np.sqrt(np.diagonal(cov, axis1=1, axis2=2)), rtol=1e-5)
    np.testing.assert_allclose(summary["z_scale_tril"], tril, rtol=1e-6)


def test_relaxed_categorical_samples_are_relaxed_one_hot_and_reparameterized():
    layer = RelaxedCategorical(3, 4)
    assert layer.params_size == 12 and layer.code_shape == (3, 4)
    params = tf.Variable(tf.random.stateless_normal([5, 12], seed=[0, 2]))
    weights = tf.random.stateless_normal([5, 3, 4], seed=[0, 3])  # a plain sum of z is constant
    with tf.GradientTape() as tape:
        z = tf.convert_to_tensor(layer(params))
        total = tf.reduce_sum(z * weights)
    assert z.shape == (5, 3, 4)
    assert np.all((z.numpy() >= 0) & (z.numpy() <= 1))
    np.testing.assert_allclose(tf.reduce_sum(z, axis=-1), 1.0, rtol=1e-5)
    assert not np.allclose(z.numpy(), np.round(z.numpy()))  # relaxed at temperature 1, not one-hot
    grad = tape.gradient(total, params)
    assert grad is not None and np.all(np.isfinite(grad)) and np.abs(grad.numpy()).max() > 1e-3


def test_categorical_inference_samples_and_code_are_one_hot():
    layer = RelaxedCategorical(3, 4)
    params = tf.random.stateless_normal([5, 12], seed=[1, 2]) * 3.0
    q = layer.inference(params)
    assert q.batch_shape == (5,) and q.event_shape == (3, 4)
    z = q.sample(7, seed=(3, 4)).numpy()
    assert z.shape == (7, 5, 3, 4) and z.dtype == np.float32
    assert set(np.unique(z)) == {0.0, 1.0}
    np.testing.assert_array_equal(z.sum(axis=-1), 1.0)
    logits = params.numpy().reshape(5, 3, 4)
    np.testing.assert_array_equal(layer.code(q), np.eye(4, dtype=np.float32)[logits.argmax(-1)])
    np.testing.assert_allclose(layer.summary(q)["z_probs"], softmax(logits, axis=-1), rtol=1e-5)


def test_uniform_categorical_kl_by_hand():
    n, k = 3, 4
    layer = RelaxedCategorical(n, k)
    params = tf.random.stateless_normal([6, n * k], seed=[5, 6]) * 2.0
    q = layer.inference(params)
    p = softmax(params.numpy().astype(np.float64).reshape(6, n, k), axis=-1)
    expected = np.sum(p * np.log(p), axis=(1, 2)) + n * math.log(k)
    prior = UniformCategorical()
    prior.attach(layer)
    assert prior.code_shape == (n, k) and prior.latent_dim == n
    kl = prior.kl(q, q.sample(2, seed=(1, 1)))
    np.testing.assert_allclose(kl, expected, rtol=1e-5, atol=1e-6)
    per_variable = prior.kl_per_variable(q)
    assert per_variable.shape == (6, n)
    np.testing.assert_allclose(per_variable, np.sum(p * np.log(p), axis=-1) + math.log(k), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(tf.reduce_sum(per_variable, axis=-1), kl, rtol=1e-5, atol=1e-6)


def test_temperature_is_a_weight_from_construction():
    layer = RelaxedCategorical(3, 4, temperature=2.5)
    assert [w.name for w in layer.trainable_weights] == []
    (weight,) = layer.non_trainable_weights
    assert weight is layer.temperature and float(weight) == 2.5
    assert layer.get_config()["temperature"] == 2.5


def test_temperature_schedule_by_hand():
    t0, minimum, decay = 1.0, 0.6, 0.3
    layer = RelaxedCategorical(3, 4, temperature=t0, min_temperature=minimum, temperature_decay=decay)
    expected = [max(minimum, t0 * math.exp(-decay * epoch)) for epoch in range(3)]
    assert expected[0] > expected[1] > expected[2] == minimum  # both branches of the schedule
    np.testing.assert_allclose([layer.scheduled(epoch) for epoch in range(3)], expected, rtol=1e-6)
    assert float(layer.temperature) == t0  # scheduled() only computes
    assert layer.on_epoch(1) == {"temperature": pytest.approx(expected[1], rel=1e-6)}
    assert float(layer.temperature) == pytest.approx(expected[1], rel=1e-6)  # on_epoch() sets it


def test_temperature_annealing_sets_the_temperature_each_epoch():
    t0, minimum, decay = 1.0, 0.6, 0.3
    model = _model(posterior={"type": "categorical", "latent_dim": 3, "categories": 4, "temperature": t0,
                              "min_temperature": minimum, "temperature_decay": decay},
                   prior="uniform_categorical")
    assert model.posterior.temperature.ref() not in {v.ref() for v in model.trainable_variables}
    model.compile(keras.optimizers.Adam(1e-3))
    history = model.fit(_binary_images(20), batch_size=10, epochs=3, verbose=0).history
    expected = [max(minimum, t0 * math.exp(-decay * epoch)) for epoch in range(3)]
    assert expected[0] > expected[1] > expected[2] == minimum  # both branches of the schedule
    np.testing.assert_allclose(history["temperature"], expected, rtol=1e-6)
    assert float(model.posterior.temperature) == pytest.approx(expected[-1], rel=1e-6)
    assert float(model.epochs_trained) == 3.0


def test_mixture_log_prob_by_hand():
    model = _model(prior={"type": "mixture", "components": 3})
    prior = model.prior
    rng = np.random.default_rng(0)
    prior.logits.assign(rng.standard_normal(3).astype(np.float32))
    prior.log_scale.assign(0.3 * rng.standard_normal((3, 3)).astype(np.float32))
    z = rng.standard_normal((6, 3)).astype(np.float32)
    log_weights = np.log(softmax(prior.logits.numpy().astype(np.float64)))
    components = _diagonal_log_normal(z[:, None, :], prior.loc.numpy(), np.exp(prior.log_scale.numpy()))
    expected = logsumexp(log_weights + components, axis=1)
    np.testing.assert_allclose(prior.distribution().log_prob(z), expected, rtol=1e-5)


def test_mixture_weights_are_trained_and_kl_is_monte_carlo():
    model = _model(prior={"type": "mixture", "components": 3}, objective={"type": "elbo", "samples": 4})
    assert model.objective.samples == 4
    prior_weights = [prior_weight.ref() for prior_weight in model.prior.trainable_weights]
    assert len(prior_weights) == 3
    assert set(prior_weights) <= {v.ref() for v in model.trainable_variables}
    x = _binary_images(8)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(model.terms(x, training=True)["loss"])
    for weight, grad in zip(model.prior.trainable_weights, tape.gradient(loss, model.prior.trainable_weights)):
        assert grad is not None and np.abs(grad.numpy()).max() > 0, weight.name

    q = model.encode(x)  # the inference form, as `VAE.draw` uses
    z = q.sample(4, seed=(7, 8))  # the draws `VAE.draw` makes with this seed
    expected = np.mean(q.log_prob(z).numpy() - model.prior.distribution().log_prob(z).numpy(), axis=0)
    np.testing.assert_allclose(model.prior.kl(q, z), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(model.terms(x, seed=(7, 8))["kl"], expected, rtol=1e-5, atol=1e-5)


def test_vamp_prior_log_prob_by_hand():
    model = _model(prior={"type": "vamp", "components": 4})
    pseudo = np.random.default_rng(1).uniform(-0.5, 1.5, (4, 8, 8, 1)).astype(np.float32)
    model.prior.pseudo_inputs.assign(pseudo)  # some outside [0, 1]: the clip must act
    q = model.encode(np.clip(pseudo, 0.0, 1.0))
    loc, scale = q.mean().numpy(), q.stddev().numpy()  # [C, D]
    z = np.random.default_rng(2).standard_normal((6, 3)).astype(np.float32)
    expected = logsumexp(_diagonal_log_normal(z[:, None, :], loc, scale), axis=1) - math.log(4)
    np.testing.assert_allclose(model.prior.distribution().log_prob(z), expected, rtol=1e-5)
    unclipped = model.encode(pseudo)
    assert not np.allclose(unclipped.mean(), loc)  # so the check above sees the clip


def test_vamp_pseudo_inputs_are_trained_and_encoder_weights_listed_once():
    model = _model(prior={"type": "vamp", "components": 4})
    assert model.prior.pseudo_inputs.shape == (4, 8, 8, 1)
    variables = model.trainable_variables
    assert len({id(v) for v in variables}) == len(variables)
    assert len(variables) == len(model.encoder.trainable_variables) + len(model.decoder.trainable_variables) + 1
    x = _binary_images(8)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(model.terms(x, training=True)["loss"])
    grad = tape.gradient(loss, model.prior.pseudo_inputs)
    assert grad is not None and grad.shape == (4, 8, 8, 1) and np.abs(grad.numpy()).max() > 0


def test_incompatible_blocks_are_refused_when_composed():
    """The one set of rules (zoo.config.rules), which zoo.VAE asks of blocks composed by hand."""
    from zoo.config.rules import check_vae_blocks
    from zoo.objectives import ELBO

    with pytest.raises(ZooError, match="got 'uniform_categorical'.*a prior for posterior 'diagonal_normal'"):
        check_vae_blocks(DiagonalNormal(3), UniformCategorical(), ELBO())
    with pytest.raises(ZooError, match="got 'standard_normal'.*a prior for posterior 'categorical'.*uniform_categorical"):
        check_vae_blocks(RelaxedCategorical(3, 4), StandardNormal(), ELBO())
    with pytest.raises(ZooError, match="got 'mixture'.*a prior for posterior 'categorical'"):
        check_vae_blocks(RelaxedCategorical(3, 4), MixtureOfGaussians(components=2), ELBO())
    with pytest.raises(ConfigError) as error:
        IWAE(samples=3).check(RelaxedCategorical(3, 4))
    assert error.value.field == "objective"
