"""Coefficient schedules and estimators by hand (KL warm-up, free bits, IWAE), the epoch
schedules continuing across fit calls and reloads, and the aggregate-posterior sampler from
fit to export."""

import dataclasses
import math

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras
from scipy.special import logsumexp

from harness import tiny_recipe
from zoo.config import VAEConfig
from zoo.models import signatures
from zoo.layers.aggregate_posterior import AggregatePosterior
from zoo.layers.posteriors import DiagonalNormal
from zoo.models.builder import build
from zoo.objectives import ELBO, IWAE


def _model(objective="elbo", posterior=None, prior="standard_normal"):
    keras.utils.set_random_seed(0)
    return build(VAEConfig(image_shape=(8, 8, 1), network={"type": "mlp", "hidden_units": (16,)},
                           posterior=posterior or {"type": "diagonal_normal", "latent_dim": 3},
                           prior=prior, objective=objective))


def _binary_images(n, shape=(8, 8, 1), seed=0):
    return (np.random.default_rng(seed).random((n, *shape)) < 0.3).astype(np.float32)


def _log_bernoulli(x, logits):
    """log p(x|z) summed over pixels, from the decoder's logits [..., H, W, C], in float64."""
    logits = np.asarray(logits, np.float64)
    return np.sum(x * -np.logaddexp(0, -logits) + (1 - x) * -np.logaddexp(0, logits), axis=(-3, -2, -1))


def _log_normal(z, loc, scale):
    return np.sum(-0.5 * ((z - loc) / scale) ** 2 - np.log(scale) - 0.5 * np.log(2 * np.pi), axis=-1)


def test_kl_warmup_schedule_by_hand():
    objective = ELBO(beta=2.0, warmup_epochs=4)
    assert float(objective.kl_weight) == 0.0  # the warm-up starts at 0
    assert [objective.scheduled(epoch) for epoch in range(6)] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.0]
    assert float(objective.kl_weight) == 0.0  # scheduled() only computes
    assert objective.on_epoch(3) == {"kl_weight": 1.5}
    assert float(objective.kl_weight) == 1.5  # on_epoch() sets it
    assert IWAE(samples=2, beta=1.0, warmup_epochs=2).scheduled(1) == 0.5


def test_kl_warmup_ramps_the_kl_weight_per_epoch():
    model = _model(objective={"type": "elbo", "warmup_epochs": 4, "beta": 1.0})
    kl_weight = model.objective.kl_weight
    assert isinstance(kl_weight, tf.Variable) and not kl_weight.trainable
    assert kl_weight.ref() in {v.ref() for v in model.non_trainable_variables}
    assert kl_weight.ref() not in {v.ref() for v in model.trainable_variables}
    assert model.scheduled_blocks() == [model.objective]  # the only block with a schedule here
    model.compile(keras.optimizers.Adam(1e-3))
    history = model.fit(_binary_images(20), batch_size=10, epochs=3, verbose=0).history
    assert history["kl_weight"] == [0.0, 0.25, 0.5]
    assert float(model.objective.kl_weight) == 0.5
    assert float(model.epochs_trained) == 3.0
    # the compiled train step reads the variable: each epoch's loss charges that epoch's weight
    for loss, rec, kl, weight in zip(history["loss"], history["reconstruction"], history["kl"], history["kl_weight"]):
        assert loss == pytest.approx(rec + weight * kl, rel=1e-5)


def test_without_warmup_the_kl_weight_is_beta():
    model = _model(objective={"type": "elbo", "beta": 0.7})
    # the KL weight is always a (non-trainable) variable now; without a warm-up it holds beta
    kl_weight = model.objective.kl_weight
    assert float(kl_weight) == pytest.approx(0.7) and not kl_weight.trainable
    assert kl_weight.ref() not in {v.ref() for v in model.trainable_variables}
    assert [model.objective.scheduled(epoch) for epoch in (0, 1, 10)] == [0.7] * 3
    assert model.objective.on_epoch(5) == {}  # nothing to log, nothing set
    model.compile(keras.optimizers.Adam(1e-3))
    assert "kl_weight" not in model.fit(_binary_images(10), batch_size=10, epochs=1, verbose=0).history
    assert float(model.objective.kl_weight) == pytest.approx(0.7)


def _warmup_model():
    model = _model(objective={"type": "elbo", "warmup_epochs": 4})
    model.compile(keras.optimizers.Adam(1e-3))
    return model


def test_kl_warmup_continues_across_fit_calls():
    model, x = _warmup_model(), _binary_images(20)
    seen = []  # a user's callback runs after EpochSchedules, so it sees the epoch's weight
    record = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(logs["kl_weight"]))
    first = model.fit(x, batch_size=10, epochs=2, verbose=0, callbacks=[record]).history
    assert first["kl_weight"] == [0.0, 0.25]
    assert float(model.epochs_trained) == 2.0 and float(model.objective.kl_weight) == 0.25
    second = model.fit(x, batch_size=10, epochs=2, verbose=0, callbacks=[record]).history
    assert second["kl_weight"] == [0.5, 0.75]  # not restarting at 0
    assert seen == [0.0, 0.25, 0.5, 0.75]
    assert float(model.epochs_trained) == 4.0 and float(model.objective.kl_weight) == 0.75
    for loss, rec, kl, weight in zip(second["loss"], second["reconstruction"], second["kl"], second["kl_weight"]):
        assert loss == pytest.approx(rec + weight * kl, rel=1e-5)


def test_kl_warmup_continues_across_a_keras_save_and_load(tmp_path):
    model, x = _warmup_model(), _binary_images(20)
    assert model.fit(x, batch_size=10, epochs=2, verbose=0).history["kl_weight"] == [0.0, 0.25]
    model.save(str(tmp_path / "m.keras"))
    loaded = keras.models.load_model(str(tmp_path / "m.keras"))
    assert type(loaded) is type(model) and loaded.objective.warmup_epochs == 4
    assert float(loaded.epochs_trained) == 2.0 and float(loaded.objective.kl_weight) == 0.25
    np.testing.assert_allclose(loaded.elbo(x), model.elbo(x), rtol=1e-6)  # the same weights
    loaded.compile(keras.optimizers.Adam(1e-3))
    history = loaded.fit(x, batch_size=10, epochs=2, verbose=0).history
    assert history["kl_weight"] == [0.5, 0.75]  # not restarting at 0
    assert float(loaded.epochs_trained) == 4.0 and float(loaded.objective.kl_weight) == 0.75


def test_temperature_continues_across_fit_calls():
    decay = 0.3
    model = _model(objective="elbo", posterior={"type": "categorical", "latent_dim": 3, "categories": 4,
                                                 "temperature": 1.0, "min_temperature": 0.1,
                                                 "temperature_decay": decay},
                   prior="uniform_categorical")
    model.compile(keras.optimizers.Adam(1e-3))
    x = _binary_images(20)
    temperatures = [model.fit(x, batch_size=10, epochs=2, verbose=0).history["temperature"] for _ in range(2)]
    np.testing.assert_allclose(temperatures, [[math.exp(-decay * e) for e in (0, 1)],
                                              [math.exp(-decay * e) for e in (2, 3)]], rtol=1e-6)


def test_epoch_schedules_runs_first_in_fit():
    """VAE.fit puts zoo.models.schedules.EpochSchedules before the caller's callbacks."""
    model, x = _warmup_model(), _binary_images(20)
    order = []
    probe = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: order.append(float(model.objective.kl_weight)))
    model.epochs_trained.assign(2.0)  # as a reload or a resumed backup would leave it
    model.fit(x, batch_size=10, epochs=1, verbose=0, callbacks=[probe])
    assert order == [0.5]  # set from epochs_trained before the user's callbacks see the epoch
    assert float(model.epochs_trained) == 3.0


def _analytic_kl_per_dimension(q):
    mu, sd = q.mean().numpy().astype(np.float64), q.stddev().numpy().astype(np.float64)
    return 0.5 * (mu ** 2 + sd ** 2 - 1 - 2 * np.log(sd))


def test_free_bits_charge_at_least_lambda_per_latent():
    free_bits = 0.25
    model, x = _model(objective={"type": "elbo", "free_bits": free_bits}), _binary_images(6)
    q = model.encode(x)
    kl_d = _analytic_kl_per_dimension(q)
    assert (kl_d < free_bits).any() and (kl_d > free_bits).any()  # both sides of the max are seen
    logits = model.decoder(q.sample(seed=(1, 2))).numpy()
    reconstruction = -_log_bernoulli(x, logits)
    terms = model.terms(x, seed=(1, 2))
    np.testing.assert_allclose(terms["reconstruction"], reconstruction, rtol=1e-5)
    np.testing.assert_allclose(terms["kl"], kl_d.sum(axis=1), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(terms["loss"], reconstruction + np.maximum(kl_d, free_bits).sum(axis=1), rtol=1e-5)
    penalty = model.objective.kl_penalty(q, terms["kl"], model.prior)  # the charged KL on its own
    np.testing.assert_allclose(penalty, np.maximum(kl_d, free_bits).sum(axis=1), rtol=1e-4, atol=1e-6)


def test_free_bits_on_the_total_when_q_does_not_factorize():
    free_bits = 0.5
    model, x = (_model(objective={"type": "elbo", "free_bits": free_bits},
                       posterior={"type": "full_normal", "latent_dim": 3}), _binary_images(6))
    terms = model.terms(x, seed=(1, 2))
    kl = terms["kl"].numpy()
    assert (kl < free_bits * 3).any() and (kl > free_bits * 3).any()
    np.testing.assert_allclose(terms["loss"], terms["reconstruction"] + np.maximum(kl, free_bits * 3), rtol=1e-5)


def test_iwae_loss_by_hand_and_below_the_elbo():
    samples, seed = 5, (3, 4)
    model, x = _model(objective={"type": "iwae", "samples": samples}), _binary_images(6)
    assert isinstance(model.objective, IWAE) and model.objective.samples == samples
    q = model.encode(x)  # VAE.draw: q.sample(S, seed) on the inference form
    z = q.sample(samples, seed=seed).numpy()  # [S, B, D]
    log_px = _log_bernoulli(x, model.decoder(z.reshape(-1, 3)).numpy().reshape(samples, 6, 8, 8, 1))
    log_pz = _log_normal(z, 0.0, 1.0)
    log_qz = _log_normal(z, q.mean().numpy(), q.stddev().numpy())
    log_w = log_px + log_pz - log_qz
    expected = math.log(samples) - logsumexp(log_w, axis=0)
    terms = model.terms(x, seed=seed)
    np.testing.assert_allclose(terms["loss"], expected, rtol=1e-5)
    np.testing.assert_allclose(terms["reconstruction"], -log_px.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(terms["kl"], (log_qz - log_pz).mean(axis=0), rtol=1e-4, atol=1e-5)
    elbo_loss = -log_w.mean(axis=0)  # the S-sample ELBO on the same draws (Jensen)
    assert np.all(terms["loss"].numpy() <= elbo_loss + 1e-5)
    assert np.any(terms["loss"].numpy() < elbo_loss - 1e-3)
    q, z, log_likelihood = model.draw(x, samples, seed=seed)
    elbo_terms = ELBO(samples=samples).terms(q, z, log_likelihood, model.prior)
    np.testing.assert_allclose(elbo_terms["reconstruction"], -log_px.mean(axis=0),
                               rtol=1e-5)  # both objectives score the same draws


def test_aggregate_posterior_recovers_a_known_mixture():
    rng = np.random.default_rng(0)
    means = np.array([[-2.0, 0.5], [3.0, -1.0]])
    covariances = np.array([[[0.5, 0.2], [0.2, 0.3]], [[0.4, 0.0], [0.0, 0.8]]])
    weights = np.array([0.3, 0.7])
    labels = rng.random(3000) < weights[1]
    codes = np.where(labels[:, None], rng.multivariate_normal(means[1], covariances[1], 3000),
                     rng.multivariate_normal(means[0], covariances[0], 3000))
    sampler = AggregatePosterior(2)
    sampler.attach(DiagonalNormal(2))
    assert sampler.latent_dim == 2 and sampler.fit(codes)["converged"]
    order = np.argsort(sampler.loc.numpy()[:, 0])
    np.testing.assert_allclose(sampler.loc.numpy()[order], means, atol=0.1)
    fitted_weights = tf.nn.softmax(sampler.logits).numpy()[order]
    np.testing.assert_allclose(fitted_weights, weights, atol=0.03)
    tril = sampler.scale_tril.numpy()[order]
    np.testing.assert_allclose(tril @ np.transpose(tril, (0, 2, 1)), covariances, atol=0.1)
    assert sampler.trainable_weights == []
    draws = sampler.distribution().sample(4000, seed=(0, 1)).numpy()
    np.testing.assert_allclose(draws.mean(axis=0), weights @ means, atol=0.1)


def _aggregate_recipe():
    recipe = tiny_recipe("mlp", "bernoulli")
    return dataclasses.replace(recipe, name="test_aggregate_posterior",
                               model=dataclasses.replace(recipe.model, aggregate_posterior_components=2))


def test_aggregate_posterior_sampler_is_fitted_and_each_row_follows_its_seed():
    recipe = _aggregate_recipe()
    keras.utils.set_random_seed(0)
    model = build(recipe.model)
    images = _binary_images(60, shape=(28, 28, 1))
    np.testing.assert_array_equal(model.aggregate_posterior.loc, 0.0)
    assert set(model.fit_samplers(images, verbose=False)) == {"gaussian_mixture"}
    codes = model.posterior.code(model.encode(images)).numpy()
    weights = tf.nn.softmax(model.aggregate_posterior.logits).numpy()
    assert not np.allclose(model.aggregate_posterior.loc, 0.0)
    # EM's M-step keeps the weighted mean of the component means at the mean of the codes
    np.testing.assert_allclose(weights @ model.aggregate_posterior.loc.numpy(), codes.mean(axis=0), atol=1e-4)

    served = signatures.sample_from(model, tf.constant([7, 8, 8], tf.int64), "gaussian_mixture")
    alone = signatures.sample_from(model, tf.constant([8], tf.int64), "gaussian_mixture")
    for key in ("z", "x_mean", "x_sample"):
        np.testing.assert_allclose(served[key][2], served[key][1], rtol=1e-5, atol=1e-6, err_msg=key)  # same seed
        np.testing.assert_allclose(alone[key][0], served[key][1], rtol=1e-5, atol=1e-6, err_msg=key)  # any batch
        assert not np.allclose(served[key][0], served[key][1]), key
