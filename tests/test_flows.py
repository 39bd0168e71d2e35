"""The inverse autoregressive flow posterior: its density against the change-of-variables
formula with an autodiff Jacobian, one pass for its own draws (and only there), the KL the
model reports, training, the config path, export, and the VampPrior's refusal."""

import math

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras as keras

import zoo
from zoo.config import VAEConfig
from zoo.errors import ZooError
from zoo.models import importance_sampling
from zoo.layers.flows import InverseAutoregressiveFlow
from zoo.models.builder import build
from zoo.training.train import precision_policy

tfb = tfp.bijectors
SEED = tf.constant([3, 4])


def _flow(steps=2, context_size=2, latent_dim=3):
    """A tiny flow pushed far from its near-identity start (weights x 1.5: the masks' zeros stay zero)."""
    keras.utils.set_random_seed(0)
    posterior = InverseAutoregressiveFlow(latent_dim, steps=steps, hidden_units=(8,), context_size=context_size)
    for weight in posterior.trainable_weights:
        weight.assign(1.5 * weight)
    return posterior


def _params(posterior, batch=4):
    return tf.random.stateless_normal([batch, posterior.params_size], seed=[0, 1])


def _model(objective="elbo", prior="standard_normal", **posterior):
    keras.utils.set_random_seed(0)
    spec = {"type": "iaf", "latent_dim": 3, "hidden_units": (8,), "context_size": 2, **posterior}
    return build(VAEConfig(image_shape=(8, 8, 1), network={"type": "mlp", "hidden_units": (16,)},
                           posterior=spec, prior=prior, objective=objective))


def _images(n=8):
    return (np.random.default_rng(0).random((n, 8, 8, 1)) < 0.3).astype(np.float32)


@pytest.mark.parametrize("steps, context_size", [(1, 2), (2, 2), (2, 0)])
def test_log_density_is_the_change_of_variables_formula(steps, context_size):
    posterior = _flow(steps, context_size)
    params = _params(posterior)
    q = posterior.inference(params)
    eps = q.distribution.sample(seed=[2, 3])
    with tf.GradientTape() as tape:
        tape.watch(eps)
        z = q.bijector.forward(eps)
    jacobian = tape.batch_jacobian(z, eps).numpy().astype(np.float64)  # [B, D, D], dz/deps
    if steps == 1:  # one step is autoregressive: z_i depends on eps_1..eps_i only
        np.testing.assert_array_equal(np.triu(jacobian, k=1), 0.0)
    sign, log_det = np.linalg.slogdet(jacobian)
    assert np.all(sign > 0)  # the gates are positive and the reversals come in pairs
    expected = q.distribution.log_prob(eps).numpy() - log_det
    other = tf.constant(z.numpy())  # not a draw of this q: scored by inverting latent by latent
    np.testing.assert_allclose(q.log_prob(other), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(q.bijector.inverse(other), eps, atol=1e-5)
    np.testing.assert_allclose(q.log_prob(z), expected, rtol=1e-5, atol=1e-5)  # its own draw: from the cache
    if context_size:  # the flow depends on the context h, not only on loc and scale
        moved = posterior.inference(tf.concat([params[:, :-context_size], params[:, -context_size:] + 1.0], -1))
        assert np.abs(moved.bijector.forward(eps) - z).max() > 1e-3


def test_own_draws_are_scored_in_one_pass_other_codes_sequentially(monkeypatch):
    posterior, passes = _flow(steps=2), {"made": 0, "sequential": 0}
    made, maf_forward = InverseAutoregressiveFlow._made, tfb.MaskedAutoregressiveFlow._forward

    def counting_made(self, *args):
        passes["made"] += 1
        return made(self, *args)

    def counting_forward(self, *args, **kwargs):  # the MAF's forward: the IAF's sequential inverse
        passes["sequential"] += 1
        return maf_forward(self, *args, **kwargs)

    monkeypatch.setattr(InverseAutoregressiveFlow, "_made", counting_made)
    monkeypatch.setattr(tfb.MaskedAutoregressiveFlow, "_forward", counting_forward)

    def counted(f):
        passes.update(made=0, sequential=0)
        value = f()
        return value, dict(passes)

    (q, z), drawing = counted(lambda: posterior.draws(_params(posterior), 5, seed=SEED))
    own, scoring_own = counted(lambda: q.log_prob(z))
    other, scoring_other = counted(lambda: q.log_prob(tf.identity(z)))
    assert z.shape == (5, 4, 3)
    assert drawing == scoring_own == {"made": 2, "sequential": 0}  # one MADE pass per step
    assert scoring_other["sequential"] == 2 and scoring_other["made"] >= 2 * 3  # latent by latent
    np.testing.assert_allclose(own, other, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("objective", ["elbo", {"type": "iwae", "samples": 3}], ids=["elbo", "iwae"])
def test_objectives_and_importance_sampling_never_invert_the_flow(objective, monkeypatch):
    model, x = _model(objective), _images(4)
    inversions = []
    maf_forward = tfb.MaskedAutoregressiveFlow._forward
    monkeypatch.setattr(tfb.MaskedAutoregressiveFlow, "_forward",
                        lambda self, *a, **k: inversions.append(1) or maf_forward(self, *a, **k))
    model.terms(x, seed=SEED)
    tf.function(lambda x: model.terms(x, training=True, seed=SEED))(x)
    model.elbo_terms(x, seed=SEED)
    estimates = tf.function(lambda x: importance_sampling.log_likelihood(model, x, 7, SEED, chunk_size=3))(x)
    model.compile(keras.optimizers.Adam(1e-3))
    model.fit(x, batch_size=4, epochs=1, verbose=0)
    assert inversions == []
    assert np.all(np.isfinite(estimates["log_likelihood"])) and np.all(
        estimates["log_likelihood"].numpy() >= estimates["elbo"].numpy() - 1e-4)


@pytest.mark.parametrize("prior", ["standard_normal", {"type": "mixture", "components": 3}], ids=["normal", "mixture"])
def test_reported_kl_is_the_monte_carlo_estimate_at_the_same_draws(prior):
    model, x = _model({"type": "elbo", "samples": 4}, prior=prior), _images(4)
    terms = model.terms(x, seed=SEED)
    q, z, log_px = model.draw(x, 4, seed=SEED)  # the same draws (stateless seed)
    other = tf.constant(z.numpy())  # scored by the sequential inversion: no cache involved
    log_q = q.log_prob(other).numpy().astype(np.float64)
    if prior == "standard_normal":
        log_p = -0.5 * np.sum(z.numpy().astype(np.float64) ** 2, -1) - 1.5 * math.log(2 * math.pi)
    else:
        log_p = model.prior.distribution().log_prob(other).numpy()
    np.testing.assert_allclose(terms["kl"], (log_q - log_p).mean(0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(terms["loss"], -log_px.numpy().mean(0) + (log_q - log_p).mean(0), rtol=1e-4, atol=1e-4)


def test_steps_start_near_the_identity():
    keras.utils.set_random_seed(0)
    posterior = InverseAutoregressiveFlow(8, steps=2, hidden_units=(32,), context_size=4)
    q = posterior.inference(_params(posterior, batch=16))
    eps = q.distribution.sample(seed=[5, 6])
    log_gate = q.bijector.forward_log_det_jacobian(eps, event_ndims=1).numpy() / (2 * 8)  # mean log sigma
    assert np.all(log_gate < 0)  # every gate sigma is in (0, 1)
    assert np.all(np.abs(log_gate - math.log(1 / (1 + math.exp(-2)))) < 0.1)  # near sigmoid(2) = 0.88
    assert np.abs(q.bijector.forward(eps) - eps).mean() < 0.5 * np.abs(eps).mean()


def test_a_few_training_steps_lower_the_loss_and_keep_the_flow_autoregressive():
    model, x = _model(), _images(32)
    model.compile(keras.optimizers.Adam(1e-2))
    before = model.evaluate(x, batch_size=32, verbose=0, return_dict=True)["loss"]
    flow_before = [w.numpy() for w in model.posterior.trainable_weights]
    model.fit(x, batch_size=8, epochs=5, verbose=0)
    after = model.evaluate(x, batch_size=32, verbose=0, return_dict=True)["loss"]
    assert after < before
    assert any(np.abs(a - w.numpy()).max() > 0 for a, w in zip(flow_before, model.posterior.trainable_weights))
    q, z, _ = model.draw(x[:4], 2, seed=SEED)  # masks kept: the sequential inverse still inverts
    np.testing.assert_allclose(q.log_prob(tf.identity(z)), q.log_prob(z), rtol=1e-4, atol=1e-4)


def test_code_summary_and_config_path():
    model = build(VAEConfig(posterior={"type": "iaf", "latent_dim": 40, "steps": 2}))
    posterior = model.posterior
    assert isinstance(posterior, InverseAutoregressiveFlow) and posterior.params_size == 2 * 40 + 32
    assert model.encoder.output_shape == (None, posterior.params_size)
    x = (np.random.default_rng(0).random((3, 28, 28, 1)) < 0.3).astype(np.float32)
    q = model.encode(x)
    summary = posterior.summary(q)
    assert sorted(summary) == ["z_base_mean", "z_base_stddev", "z_code"]
    np.testing.assert_allclose(summary["z_code"], q.bijector.forward(q.distribution.mean()), rtol=1e-6)
    np.testing.assert_allclose(posterior.location(q), summary["z_code"])
    assert model.reconstruction(x)["x_mean"].shape == (3, 28, 28, 1)
    with pytest.raises(zoo.ConfigError, match="activation.*sigmoid.*relu, elu"):
        InverseAutoregressiveFlow(4, activation="sigmoid")


def test_vamp_prior_refuses_the_flow_in_one_line():
    encoder = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(8)])
    decoder = keras.Sequential([keras.Input((3,)), keras.layers.Dense(64), keras.layers.Reshape((8, 8, 1))])
    with pytest.raises(ZooError, match="posterior 'iaf'.*scores codes it did not draw itself") as error:
        zoo.VAE(encoder, InverseAutoregressiveFlow(3, hidden_units=(8,), context_size=2), decoder, zoo.Bernoulli(),
                prior=zoo.VampPrior(components=2))
    assert "\n" not in str(error.value)


def test_conditional_model_with_the_flow_trains():
    keras.utils.set_random_seed(0)
    model = build(VAEConfig(image_shape=(8, 8, 1), network={"type": "mlp", "hidden_units": (16,)},
                            posterior={"type": "iaf", "latent_dim": 3, "hidden_units": (8,), "context_size": 2},
                            condition={"type": "class_label", "classes": 3}))
    x, y = _images(6), np.arange(6) % 3
    model.compile(keras.optimizers.Adam(1e-3))
    assert np.isfinite(model.fit(x, y, batch_size=6, epochs=1, verbose=0).history["loss"]).all()
    assert np.isfinite(model.elbo(x, y)).all()


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_a_step_runs_under_a_mixed_precision_policy(policy):
    with precision_policy(policy):
        model = _model()
        model.compile(keras.optimizers.Adam(1e-3))
    assert np.isfinite(model.fit(_images(8), batch_size=8, epochs=1, verbose=0).history["loss"]).all()
    q, z, _ = model.draw(_images(2), 2, seed=SEED)
    assert q.dtype == z.dtype == "float32" and np.isfinite(q.log_prob(z)).all()


def test_export_serves_the_flow_without_zoo(driven):
    """The driver's IAF export, reloaded without zoo or TFP (tests/driver.py), serves the flow's code."""
    outputs = driven("vae_conv_iaf_vector_discretized_logistic").served
    assert {"encode/z_code", "encode/z_base_mean", "encode/z_base_stddev", "encode/z_sample"} <= set(outputs)
