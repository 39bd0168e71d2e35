"""Gamma latents (PyTorch-VAE's Gamma VAE): the posterior's log density against scipy, its draws'
moments, their reparameterized gradients against closed forms, the KL against a numeric
integral, the ELBO's terms by hand, the refusals, and one compiled training step. The `.keras`
and export round trips are the driver's (tests/driver_cases.py: vae_mlp_gamma_free_bits)."""

import numpy as np
import pytest
import scipy.integrate
import scipy.special
import scipy.stats
import tensorflow as tf
import tf_keras as keras

from zoo.config import VAEConfig
from zoo.errors import ConfigError
from zoo.layers.gamma import SMALLEST_DRAW, GammaPosterior, GammaPrior, StatelessGamma
from zoo.models.builder import build

SEED = tf.constant([7, 11])
MLP = {"type": "mlp", "hidden_units": (8,)}
ALPHA = np.float32([0.05, 0.5, 1.0, 3.0, 50.0])
BETA = np.float32([1.0, 2.0, 0.5, 1.5, 10.0])
DRAWS = 100_000


def softplus_inverse(y):
    return np.log(np.expm1(y)).astype("float32")


def params_for(concentration, rate):
    """Encoder outputs [1, 2d] that give q = Gamma(concentration, rate) after softplus + 1e-3."""
    return np.concatenate([softplus_inverse(concentration - 1e-3), softplus_inverse(rate - 1e-3)])[None]


def test_posterior_log_density_is_scipys():
    layer = GammaPosterior(5)
    q = layer.inference(params_for(ALPHA, BETA))
    z = np.float32([[0.01, 0.3, 2.0, 1.5, 4.9]])
    expected = scipy.stats.gamma(ALPHA.astype(float), scale=1 / BETA.astype(float)).logpdf(z.astype(float)).sum()
    assert float(q.log_prob(z)[0]) == pytest.approx(expected, rel=1e-5)
    np.testing.assert_allclose(q.mean()[0], ALPHA / BETA, rtol=1e-5)


@pytest.fixture(scope="module")
def draws_and_gradients():
    """100,000 draws for each (alpha, beta), with the gradients of E[z] and E[log z] in both."""
    alpha, beta = tf.Variable(ALPHA), tf.Variable(BETA)
    with tf.GradientTape(persistent=True) as tape:
        z = StatelessGamma(alpha, beta).sample(DRAWS, seed=SEED)
        mean, mean_log = tf.reduce_sum(tf.reduce_mean(z, 0)), tf.reduce_sum(tf.reduce_mean(tf.math.log(z), 0))
    gradients = {name: tape.gradient(value, variable).numpy().astype(np.float64)
                 for name, value, variable in [("mean_alpha", mean, alpha), ("mean_beta", mean, beta),
                                               ("log_alpha", mean_log, alpha), ("log_beta", mean_log, beta)]}
    return z.numpy().astype(np.float64), gradients


def test_draws_are_positive_with_the_gamma_mean_and_variance(draws_and_gradients):
    """E[z] = a/b within 4 standard errors, Var[z] = a/b^2 within 4 (Var[(z - m)^2] / n)^(1/2)."""
    z, _ = draws_and_gradients
    a, b = ALPHA.astype(float), BETA.astype(float)
    assert np.all(z >= SMALLEST_DRAW) and np.all(np.isfinite(np.log(z)))
    assert np.all(np.abs(z.mean(0) - a / b) < 4 * z.std(0) / np.sqrt(DRAWS))
    squares = (z - z.mean(0)) ** 2
    assert np.all(np.abs(squares.mean(0) - a / b ** 2) < 4 * squares.std(0) / np.sqrt(DRAWS))


def test_reparameterized_gradients_meet_the_closed_forms(draws_and_gradients):
    """d E[z] = (1/b, -a/b^2) and d E[log z] = (trigamma(a), -1/b) in (a, b), from the draws'
    gradients (implicit reparameterization in a): within 3%. At a = 0.05, 1.3% of the draws lie
    below float32's smallest normal and are clipped there, so E[log z]'s is checked from a = 0.5."""
    _, g = draws_and_gradients
    a, b = ALPHA.astype(float), BETA.astype(float)
    np.testing.assert_allclose(g["mean_alpha"], 1 / b, rtol=0.03)
    np.testing.assert_allclose(g["mean_beta"], -a / b ** 2, rtol=0.03)
    np.testing.assert_allclose(g["log_alpha"][1:], scipy.special.polygamma(1, a[1:]), rtol=0.03)
    np.testing.assert_allclose(g["log_beta"][1:], -1 / b[1:], rtol=0.03)


def test_the_alpha_gradient_is_the_finite_difference_of_the_cdf():
    """dz/da of one draw = -(dF/da) / p(z) (Figurnov et al. 2018), F by scipy, dF/da by central differences."""
    alpha = tf.Variable(np.float32([0.3, 2.0, 20.0]))
    with tf.GradientTape() as tape:
        z = StatelessGamma(alpha, 1.0).sample(seed=SEED)
        total = tf.reduce_sum(z)  # z_i depends on alpha_i alone
    got = tape.gradient(total, alpha).numpy()
    a, x = alpha.numpy().astype(float), z.numpy().astype(float)
    d_cdf = (scipy.special.gammainc(a + 1e-5, x) - scipy.special.gammainc(a - 1e-5, x)) / 2e-5
    np.testing.assert_allclose(got, -d_cdf / scipy.stats.gamma(a).pdf(x), rtol=1e-3)


def test_draws_are_stateless_and_finite_for_extreme_encoder_outputs():
    """Outputs of +-1e6 (concentration or rate 1e-3 .. 1e6): draws >= the smallest normal float32,
    finite log densities and finite gradients."""
    layer = GammaPosterior(3)
    params = tf.Variable(np.float32([[1e6, -1e6, 0.0, 1e6, -1e6, 0.0], [-1e4, -30.0, 80.0, 1e4, -1e4, 3.0]]))
    with tf.GradientTape() as tape:
        z = layer.sample(params, 50, seed=SEED, training=True)
        log_q = layer.inference(params).log_prob(z)
        loss = tf.reduce_sum(z) + tf.reduce_sum(log_q)
    assert np.all(z.numpy() >= SMALLEST_DRAW) and np.all(np.isfinite(log_q))
    assert np.all(np.isfinite(tape.gradient(loss, params)))
    np.testing.assert_array_equal(z, layer.sample(params, 50, seed=SEED, training=True))
    assert not np.allclose(z, layer.sample(params, 50, seed=tf.constant([7, 12]), training=True))


def test_kl_is_the_integral_of_q_log_q_over_p():
    """The prior's KL (TFP's closed form) against scipy's quadrature of q log(q/p), per latent
    and in total; 0 where q is the prior."""
    prior, layer = GammaPrior(concentration=2.0, rate=1.0), GammaPosterior(5)
    prior.attach(layer)
    q = layer.inference(params_for(np.float32([0.5, 1.0, 3.0, 50.0, 2.0]), np.float32([2.0, 0.5, 1.5, 10.0, 1.0])))
    per_latent = prior.kl_per_variable(q).numpy()[0]
    p = scipy.stats.gamma(2.0)
    gammas = q.distribution
    for a, b, kl in zip(gammas.concentration.numpy()[0], gammas.rate.numpy()[0], per_latent):
        qj = scipy.stats.gamma(float(a), scale=1 / float(b))
        exact, _ = scipy.integrate.quad(lambda z: qj.pdf(z) * (qj.logpdf(z) - p.logpdf(z)), qj.ppf(1e-14),
                                        qj.ppf(1 - 1e-14), limit=500)
        assert kl == pytest.approx(exact, rel=1e-4, abs=1e-5)
    assert per_latent[-1] == pytest.approx(0.0, abs=1e-5)
    assert float(prior.kl(q, None)[0]) == pytest.approx(per_latent.sum(), rel=1e-6)


def test_elbo_terms_by_hand_on_a_tiny_batch():
    """The ELBO's terms at the model's own draws: -log p(x|z) from the Bernoulli probabilities
    the decoder gives for those z, the KL from its closed form (rate parametrization),
    KL(G(a, b) || G(2, 1)) = (a - 2) digamma(a) - lgamma(a) + lgamma(2) + 2 log b + a (1 - b) / b."""
    model = build(VAEConfig(image_shape=(4, 4, 1), network=MLP, posterior={"type": "gamma", "latent_dim": 2},
                            prior="gamma").check())
    x = (np.random.default_rng(0).random((3, 4, 4, 1)) < 0.5).astype("float32")
    q, z, log_px = model.draw(x, 1, training=False, seed=tf.constant([1, 2]))
    m = model.decode(z[0]).mean().numpy().reshape(3, -1).astype(np.float64)
    pixels = x.reshape(3, -1)
    reconstruction = -np.sum(pixels * np.log(m) + (1 - pixels) * np.log1p(-m), axis=-1)
    a, b = q.distribution.concentration.numpy().astype(np.float64), q.distribution.rate.numpy().astype(np.float64)
    kl = np.sum((a - 2) * scipy.special.digamma(a) - scipy.special.gammaln(a) + scipy.special.gammaln(2.0)
                + 2 * np.log(b) + a * (1 - b) / b, axis=-1)
    terms = model.objective.terms(q, z, log_px, model.prior)
    np.testing.assert_allclose(terms["reconstruction"], reconstruction, rtol=1e-4)
    np.testing.assert_allclose(terms["kl"], kl, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(terms["loss"], reconstruction + kl, rtol=1e-4)


@pytest.mark.parametrize("posterior, prior, field, wanted", [
    ("gamma", "standard_normal", "prior", "'gamma' for the posterior 'gamma' \\(its codes are positive"),
    ("gamma", "vamp", "prior", "'gamma' for the posterior 'gamma'"),
    ("diagonal_normal", "gamma", "posterior", "'gamma' for the prior 'gamma'"),
    ("von_mises_fisher", "gamma", "prior", "'spherical_uniform' for the posterior"),
])
def test_gamma_latents_and_their_prior_only_go_together(posterior, prior, field, wanted):
    config = VAEConfig(image_shape=(4, 4, 1), network=MLP, posterior={"type": posterior, "latent_dim": 3}, prior=prior)
    with pytest.raises(ConfigError, match=f"^config field '{field}': got .*; allowed: {wanted}"):
        config.check()


def test_samplers_and_bad_prior_arguments_are_refused():
    with pytest.raises(ConfigError, match="^config field 'samplers': .*z > 0.*fits Euclidean codes"):
        VAEConfig(image_shape=(4, 4, 1), network=MLP, posterior={"type": "gamma", "latent_dim": 3}, prior="gamma",
                  samplers=("gaussian_mixture",)).check()
    with pytest.raises(ConfigError, match="^config field 'rate': got -1.0"):
        GammaPrior(rate=-1.0)


def test_the_draws_gradient_compiles_in_xla():
    """`zoo train` compiles its step: the draws and RandomGammaGrad compile in XLA (TF's
    stateless_gamma does not), and d E[log z] / d alpha there is trigamma(alpha) (20,000 draws, 3%)."""
    alpha = tf.Variable(np.float32([0.5, 4.0]))

    @tf.function(jit_compile=True)
    def gradient():
        with tf.GradientTape() as tape:
            mean_log = tf.reduce_sum(tf.reduce_mean(tf.math.log(StatelessGamma(alpha, 2.0).sample(20000, seed=SEED)), 0))
        return tape.gradient(mean_log, alpha)

    np.testing.assert_allclose(gradient(), scipy.special.polygamma(1, alpha.numpy().astype(float)), rtol=0.03)


@pytest.mark.slow  # 27 s on the loaded machine; the driver's case trains a step uncompiled
def test_one_compiled_step_changes_the_weights():
    """The compiled path `zoo train` takes (jit_compile=True): finite loss, every weight moved."""
    model = build(VAEConfig(image_shape=(4, 4, 1), network=MLP, posterior={"type": "gamma", "latent_dim": 3},
                            prior="gamma").check())
    model.compile(keras.optimizers.Adam(1e-2), jit_compile=True)
    x = (np.random.default_rng(0).random((8, 4, 4, 1)) < 0.5).astype("float32")
    before = [w.numpy().copy() for w in model.trainable_weights]
    history = model.fit(x, epochs=1, batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"][-1])
    assert all(not np.array_equal(b, w.numpy()) for b, w in zip(before, model.trainable_weights))
