"""Latents on the sphere (von Mises-Fisher, power spherical, uniform prior) and in the
Poincare ball (wrapped normal): densities by hand (scipy's Bessel functions, the power
spherical's formula, the wrapped normal's log density in numpy), 2-D densities that
integrate to 1, draws on the sphere / inside the ball also for extreme encoder outputs, KL
terms against Monte Carlo, reparameterized gradients inside XLA, the compatibility rules and
one compiled training step each. Their `.keras` and export round trips are the driver's
(tests/driver_cases.py)."""

import math

import numpy as np
import pytest
import scipy.special
import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras as keras

from zoo.config import VAEConfig
from zoo.errors import ConfigError
from zoo.layers.hyperbolic import PoincareWrappedNormal, PoincareWrappedNormalPrior, WrappedNormalOnBall
from zoo.layers.spherical import (PowerSpherical, SphericalUniform, StatelessPowerSpherical, StatelessVonMisesFisher,
                                  VonMisesFisher)
from zoo.models.builder import build

tfd = tfp.distributions
SEED = tf.constant([7, 11])
SPHERICAL = [VonMisesFisher, PowerSpherical]
MLP = {"type": "mlp", "hidden_units": (8,)}


def unit(v):
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


# Densities by hand.

def test_von_mises_fisher_log_density_by_hand():
    """log C_d(kappa) + kappa <mu, z>, C_d = kappa^(d/2-1) / ((2 pi)^(d/2) I_(d/2-1)(kappa)),
    I from scipy's exponentially scaled ive."""
    d, kappa = 5, np.array([0.3, 4.0, 60.0])
    mu, z = unit(np.random.default_rng(0).normal(size=(3, d))), unit(np.random.default_rng(1).normal(size=(3, d)))
    log_c = (d / 2 - 1) * np.log(kappa) - d / 2 * np.log(2 * np.pi) - (np.log(scipy.special.ive(d / 2 - 1, kappa)) + kappa)
    expected = log_c + kappa * np.sum(mu * z, -1)
    got = StatelessVonMisesFisher(mu.astype("float32"), kappa.astype("float32")).log_prob(z.astype("float32"))
    np.testing.assert_allclose(got, expected, rtol=1e-4)


def test_power_spherical_log_density_by_hand():
    """De Cao and Aziz (2020) eq. 3: (1 + <mu, z>)^kappa / N, N = 2^(a+b) pi^b Gamma(a) / Gamma(a+b),
    a = (d-1)/2 + kappa, b = (d-1)/2."""
    d, kappa = 5, np.array([0.3, 4.0, 60.0])
    mu, z = unit(np.random.default_rng(2).normal(size=(3, d))), unit(np.random.default_rng(3).normal(size=(3, d)))
    a, b = (d - 1) / 2 + kappa, (d - 1) / 2
    log_n = (a + b) * np.log(2) + b * np.log(np.pi) + scipy.special.gammaln(a) - scipy.special.gammaln(a + b)
    expected = kappa * np.log1p(np.sum(mu * z, -1)) - log_n
    got = tfd.PowerSpherical(mu.astype("float32"), kappa.astype("float32")).log_prob(z.astype("float32"))
    np.testing.assert_allclose(got, expected, rtol=1e-4)


def _numpy_mobius_add(x, y, c):
    xy, x2, y2 = x @ y, x @ x, y @ y
    return ((1 + 2 * c * xy + c * y2) * x + (1 - c * x2) * y) / (1 + 2 * c * xy + c ** 2 * x2 * y2)


def _numpy_wrapped_normal_log_density(z, mu, scale, c):
    """Mathieu et al. 2019: log N(lambda_mu log_mu(z); 0, diag(scale^2)) - (d-1) log(sinh(sqrt(c) r)/(sqrt(c) r)),
    r = d_c(mu, z) = 2/sqrt(c) artanh(sqrt(c) |-mu (+) z|), written out in numpy float64."""
    w = _numpy_mobius_add(-mu, z, c)
    r = 2 / math.sqrt(c) * np.arctanh(math.sqrt(c) * np.linalg.norm(w))
    u = r * w / np.linalg.norm(w)  # lambda_mu log_mu(z): length r, direction of -mu (+) z
    normal = np.sum(-0.5 * (u / scale) ** 2 - np.log(scale) - 0.5 * np.log(2 * np.pi))
    return normal - (len(z) - 1) * np.log(np.sinh(math.sqrt(c) * r) / (math.sqrt(c) * r))


def test_wrapped_normal_log_density_by_hand_in_2d():
    c, mu, scale = 0.7, np.array([0.4, -0.5]), np.array([0.6, 1.3])
    points = np.array([[0.1, 0.2], [-0.9, 0.3], [0.5, -0.55], [1.0, 0.1]])  # |z| < 1/sqrt(0.7) = 1.195
    expected = [_numpy_wrapped_normal_log_density(z, mu, scale, c) for z in points]
    got = WrappedNormalOnBall(mu.astype("float32"), scale.astype("float32"), c).log_prob(points.astype("float32"))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


# Each 2-D density integrates to 1.

@pytest.mark.parametrize("family", [StatelessVonMisesFisher, StatelessPowerSpherical])
def test_circle_densities_integrate_to_one(family):
    """On S^1 over the angle (midpoint rule, 20,000 points; error < 1e-4), a peaked and a flat one."""
    angles = (np.arange(20000) + 0.5) * 2 * np.pi / 20000
    z = np.stack([np.cos(angles), np.sin(angles)], -1).astype("float32")
    for kappa in (0.5, 40.0):
        q = family(unit([0.6, -0.8]).astype("float32"), np.float32(kappa))
        total = np.sum(np.exp(q.log_prob(z).numpy().astype(np.float64))) * 2 * np.pi / 20000
        assert total == pytest.approx(1.0, abs=1e-4)


def _disc_integral(values_of, c, geodesic_radius=10.0, radii=2000, angles=720):
    """The integral over the disc of curvature -c of a function of points z, with respect to the
    Riemannian volume, in geodesic polar coordinates around 0: dV = sinh(sqrt(c) rho)/sqrt(c) drho dtheta."""
    rho = (np.arange(radii) + 0.5) * geodesic_radius / radii
    theta = (np.arange(angles) + 0.5) * 2 * np.pi / angles
    rho_grid, theta_grid = np.meshgrid(rho, theta, indexing="ij")
    euclidean = np.tanh(math.sqrt(c) * rho_grid / 2) / math.sqrt(c)
    z = np.stack([euclidean * np.cos(theta_grid), euclidean * np.sin(theta_grid)], -1).reshape(-1, 2)
    volume = (np.sinh(math.sqrt(c) * rho_grid) / math.sqrt(c)).reshape(-1) * (geodesic_radius / radii) * (2 * np.pi / angles)
    return np.sum(values_of(z.astype("float32")) * volume)


def test_wrapped_normal_integrates_to_one_on_the_disc():
    """Over a polar grid of 2000 x 720 points to geodesic radius 10 (the mass beyond is < 1e-6):
    within 2e-3 of 1, for a posterior away from the origin and for the prior."""
    for c, mu, scale in [(1.0, [0.5, 0.3], [0.4, 0.9]), (0.5, [0.0, 0.0], [1.0, 1.0])]:
        q = WrappedNormalOnBall(np.float32(mu), np.float32(scale), c)
        total = _disc_integral(lambda z: np.exp(q.log_prob(z).numpy().astype(np.float64)), c)
        assert total == pytest.approx(1.0, abs=2e-3)


# Draws: on the sphere, inside the ball, distributed as they should be.

EXTREME_PARAMS = np.array([[1e6, -1e6, 3e5, 0.0, 1e4], [1e-8, 0.0, 0.0, 0.0, -1e4], [0.0, 0.0, 0.0, 0.0, 0.0],
                           [-30.0, 2.0, 1e-3, 7.0, 80.0]], dtype="float32")


@pytest.mark.parametrize("posterior", SPHERICAL)
def test_spherical_draws_lie_on_the_sphere_also_for_extreme_inputs(posterior):
    """|z| = 1 to 1e-5 for huge, tiny and zero directions and concentrations of 1 to 1e4."""
    layer = posterior(4)
    z = layer.sample(EXTREME_PARAMS, 200, seed=SEED).numpy()
    assert np.all(np.isfinite(z))
    np.testing.assert_allclose(np.linalg.norm(z, axis=-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(layer.code(layer.inference(EXTREME_PARAMS)), axis=-1), 1.0, atol=1e-5)


@pytest.mark.parametrize("d, kappa", [(3, 2.0), (10, 0.5), (10, 30.0), (20, 5.0)])
def test_von_mises_fisher_draws_have_the_right_mean(d, kappa):
    """E[z] = A_d(kappa) mu, A_d = I_(d/2) / I_(d/2-1) (scipy): the proposals, their acceptance
    test and the rotation together (20,000 draws, within 4 standard errors)."""
    mu = unit(np.arange(1, d + 1) * (-1.0) ** np.arange(d)).astype("float32")
    z = StatelessVonMisesFisher(mu, np.float32(kappa)).sample(20000, seed=SEED).numpy().astype(np.float64)
    mean_resultant = scipy.special.ive(d / 2, kappa) / scipy.special.ive(d / 2 - 1, kappa)
    cosines = z @ mu
    assert abs(cosines.mean() - mean_resultant) < 4 * cosines.std() / math.sqrt(len(z))
    np.testing.assert_allclose(z.mean(0), mean_resultant * mu, atol=4 / math.sqrt(len(z)))


@pytest.mark.parametrize("d, kappa", [(2, 1.0), (10, 0.5), (20, 300.0)])
def test_power_spherical_draws_have_the_right_mean_and_concentration_gradient(d, kappa):
    """E[<z, mu>] = kappa / (d - 1 + kappa) (De Cao and Aziz 2020, from the Beta), and its
    derivative in kappa, (d - 1) / (d - 1 + kappa)^2, from the draws' gradient (the Gamma
    proposals' reparameterized part): 50,000 draws, 4 standard errors and 10%."""
    mu = unit(np.arange(1, d + 1) * (-1.0) ** np.arange(d)).astype("float32")
    concentration = tf.Variable(np.float32(kappa))
    with tf.GradientTape() as tape:
        cosines = tf.linalg.matvec(StatelessPowerSpherical(mu, concentration).sample(50000, seed=SEED), mu)
        mean_cosine = tf.reduce_mean(cosines)
    c = cosines.numpy().astype(np.float64)
    assert abs(c.mean() - kappa / (d - 1 + kappa)) < 4 * c.std() / math.sqrt(len(c))
    assert float(tape.gradient(mean_cosine, concentration)) == pytest.approx((d - 1) / (d - 1 + kappa) ** 2, rel=0.1)


def test_wrapped_normal_draws_pull_back_to_the_tangent_normal():
    """log_mu of a draw is the tangent vector that made it: scale * eps with the seed's eps, so
    the draws are the wrapped N(0, diag(scale^2)) (float32, 1e-3 relative)."""
    mu, scale = np.float32([[0.3, -0.6, 0.1]]), np.float32([[0.5, 1.5, 0.2]])
    q = WrappedNormalOnBall(mu, scale, 1.0)
    u = q.tangent_vector(q.sample(500, seed=SEED)).numpy()
    eps = tf.random.stateless_normal([500, 1, 3], tfp.random.sanitize_seed(SEED)).numpy()
    np.testing.assert_allclose(u, scale * eps, rtol=1e-3, atol=1e-3)


def test_poincare_draws_and_codes_stay_inside_the_ball_for_extreme_inputs():
    """Encoder outputs of +-1e6 and scales of 1e4: every draw, code and density is finite and
    |z| < 1/sqrt(c) in float32."""
    for c in (1.0, 4.0):
        layer = PoincareWrappedNormal(2, curvature=c)
        params = np.float32([[1e6, -1e6, 1e4, 1e4], [0.0, 0.0, -1e4, 1e4], [40.0, 1e-7, 9.0, -9.0]])
        q = layer.inference(params)
        z = layer.sample(params, 300, seed=SEED)
        assert np.all(np.linalg.norm(z, axis=-1) < 1 / math.sqrt(c))
        assert np.all(np.linalg.norm(layer.code(q), axis=-1) < 1 / math.sqrt(c))
        assert np.all(np.isfinite(q.log_prob(z)))


@pytest.mark.parametrize("layer", [VonMisesFisher(3), PowerSpherical(3), PoincareWrappedNormal(3)])
def test_draws_are_stateless(layer):
    params = np.random.default_rng(0).normal(size=(5, layer.params_size)).astype("float32")
    first, again = layer.sample(params, 4, seed=SEED), layer.sample(params, 4, seed=SEED)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, layer.sample(params, 4, seed=tf.constant([7, 12])))


# KL terms.

@pytest.mark.parametrize("family", [StatelessVonMisesFisher, StatelessPowerSpherical])
def test_closed_form_kl_to_the_uniform_matches_monte_carlo(family):
    """TFP's closed-form KL(q || uniform on S^4) against mean(log q(z) - log p(z)) over 40,000
    draws, within 4 standard errors."""
    prior = SphericalUniform()
    prior.attach(VonMisesFisher(5))
    for kappa in (0.7, 25.0):
        q = family(unit([1, 2, -1, 0, 3]).astype("float32"), np.float32(kappa))
        z = q.sample(40000, seed=SEED)
        ratio = (q.log_prob(z) - prior.distribution().log_prob(z)).numpy()
        assert float(prior.kl(q, z[:1])) == pytest.approx(ratio.mean(), abs=4 * ratio.std() / 200)


def test_wrapped_normal_kl_is_the_monte_carlo_estimate():
    """No closed form: the KL term is mean(log q - log p) at the draws; that estimate is 0 when
    q is the prior, and over many draws it meets the KL integrated on the disc (to 2%)."""
    prior = PoincareWrappedNormalPrior(curvature=1.0)
    prior.attach(PoincareWrappedNormal(2))
    p = prior.distribution()
    z = p.sample(7, seed=SEED)
    np.testing.assert_allclose(prior.kl(WrappedNormalOnBall(np.zeros(2, "float32"), np.ones(2, "float32")), z), 0.0, atol=1e-6)
    q = WrappedNormalOnBall(np.float32([0.4, 0.2]), np.float32([0.5, 0.3]), 1.0)
    integrand = lambda x: np.exp(q.log_prob(x).numpy().astype(np.float64)) * (q.log_prob(x) - p.log_prob(x)).numpy()
    exact = _disc_integral(integrand, 1.0)
    draws = q.sample(20000, seed=SEED)
    assert float(prior.kl(q, draws)) == pytest.approx(exact, rel=0.02)


# Gradients inside XLA.

@pytest.mark.parametrize("layer", [VonMisesFisher(6), PowerSpherical(6), PoincareWrappedNormal(3)])
def test_reparameterized_gradients_reach_every_encoder_output(layer):
    """Through the draws alone (no KL term): the direction (loc) and the concentration (scale)
    outputs all get a gradient. Inside XLA: test_one_compiled_step_changes_the_weights."""
    params = tf.Variable(np.random.default_rng(1).normal(size=(4, layer.params_size)).astype("float32"))
    target = tf.constant(np.random.default_rng(2).normal(size=layer.code_shape).astype("float32"))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(layer.sample(params, 3, seed=SEED, training=True) - target))
    g = tape.gradient(loss, params).numpy()
    assert np.all(np.isfinite(g)) and np.all(np.abs(g).sum(0) > 0)


def test_von_mises_fisher_concentration_gradient_is_close_to_the_true_one():
    """d E[<z, mu>] / d kappa from the draws (the reparameterized part, g_rep) against the
    derivative of A_d(kappa) by finite differences: within 10% (the left-out correction g_cor
    measured 0.2-5% here)."""
    d = 10
    for kappa in (0.5, 3.0, 20.0):
        concentration = tf.Variable(kappa)
        with tf.GradientTape() as tape:
            mean_cosine = tf.reduce_mean(StatelessVonMisesFisher(tf.one_hot(0, d), concentration).sample(
                100000, seed=SEED)[:, 0])
        mean_resultant = lambda k: scipy.special.ive(d / 2, k) / scipy.special.ive(d / 2 - 1, k)
        exact = (mean_resultant(kappa + 1e-4) - mean_resultant(kappa - 1e-4)) / 2e-4
        assert float(tape.gradient(mean_cosine, concentration)) == pytest.approx(exact, rel=0.1)


# The rules and training.

def _config(posterior, prior, **blocks):
    return VAEConfig(image_shape=(4, 4, 1), network=MLP, posterior={"type": posterior, "latent_dim": 3}, prior=prior,
                     **blocks)


@pytest.mark.parametrize("posterior, prior, field, wanted", [
    ("von_mises_fisher", "standard_normal", "prior", "'spherical_uniform' for the posterior 'von_mises_fisher'"),
    ("diagonal_normal", "spherical_uniform", "posterior", "'von_mises_fisher' or 'power_spherical' for the prior"),
    ("power_spherical", "poincare_wrapped_normal", "prior", "'spherical_uniform'"),
    ("poincare_wrapped_normal", "vamp", "prior", "'poincare_wrapped_normal' for the posterior"),
    ("diagonal_normal", "poincare_wrapped_normal", "posterior", "'poincare_wrapped_normal' for the prior"),
])
def test_manifold_posteriors_and_priors_only_go_together(posterior, prior, field, wanted):
    with pytest.raises(ConfigError, match=f"^config field '{field}': got .*; allowed: {wanted}"):
        _config(posterior, prior).check()


@pytest.mark.parametrize("posterior, prior", [("von_mises_fisher", "spherical_uniform"),
                                              ("poincare_wrapped_normal", "poincare_wrapped_normal")])
def test_post_hoc_samplers_and_factorized_objectives_are_refused(posterior, prior):
    with pytest.raises(ConfigError, match="^config field 'samplers': .*fits Euclidean codes"):
        _config(posterior, prior, samplers=("gaussian_mixture",)).check()
    with pytest.raises(ConfigError, match="^config field 'aggregate_posterior_components': .*fits Euclidean codes"):
        _config(posterior, prior, aggregate_posterior_components=3).check()
    for objective in ({"type": "beta_tcvae", "dataset_size": 8}, {"type": "dip_vae"}):
        with pytest.raises(ConfigError, match="^config field 'objective': .*allowed: 'elbo'"):
            build(_config(posterior, prior, objective=objective).check())


@pytest.mark.slow
@pytest.mark.parametrize("posterior, prior, condition, compiled", [
    ("von_mises_fisher", "spherical_uniform", None, True), ("power_spherical", "spherical_uniform", None, True),
    # 7.5 s: its draws are plain normals and maps (no loop to compile); MNIST trained it compiled
    pytest.param("poincare_wrapped_normal", "poincare_wrapped_normal", None, True, marks=pytest.mark.slow),
    # a conditional VAE: the driver's case vae_mlp_power_spherical_class_label trains one too
    pytest.param("von_mises_fisher", "spherical_uniform", {"type": "class_label", "classes": 3}, False,
                 marks=pytest.mark.slow),
])
def test_one_compiled_step_changes_the_weights(posterior, prior, condition, compiled):
    """The compiled path `zoo train` takes (jit_compile=True, steps_per_execution=2), where the
    draws' gradients must compile in XLA (TFP's vMF sampler does not): finite loss, every weight
    moved. A conditional VAE with the uniform prior on the sphere trains too."""
    model = build(_config(posterior, prior, condition=condition).check())
    model.compile(keras.optimizers.Adam(1e-2), jit_compile=compiled, steps_per_execution=2)
    x = np.random.default_rng(0).random((8, 4, 4, 1)).astype("float32")
    y = np.arange(8) % 3 if condition else None
    before = [w.numpy().copy() for w in model.trainable_weights]
    history = model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"][-1])
    assert all(not np.array_equal(b, w.numpy()) for b, w in zip(before, model.trainable_weights))
