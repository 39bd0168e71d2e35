"""The Riemannian Hamiltonian posterior (RHVAE): the metric by hand and positive definite; the
generalized leapfrog's volume error shrinks as its fixed-point iterations grow and its energy
error as eps^2; with the identity metric it is the HVAE's flow; the per-example log weight by
hand (numpy loops, closed-form gradients of the metric and of a linear-Gaussian model's
log p(x, z)); the kept metric makes an image's q independent of its batch; a compiled step
trains the metric's head; refusals in one line."""

import math

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras as keras

import linear_gaussian
from zoo.config import VAEConfig
from zoo.data import ResidentImages, Split
from zoo.errors import ConfigError
from zoo.layers.hamiltonian import MOMENTUM_STREAM, EuclideanDynamics, HamiltonianPosterior, hamiltonian_flow
from zoo.layers.likelihoods import Gaussian
from zoo.layers.riemannian_hamiltonian import (Metric, RiemannianDynamics, RiemannianHamiltonianPosterior,
                                               factor_size, kinetic_energy, metric_factors)
from zoo.models.builder import build
from zoo.models.vae import VAE

SIGMA = 0.5
W = np.array([[1.0, 0.3], [0.0, 2.0], [0.5, 0.0], [0.0, -1.0]], np.float32)
B = np.array([0.1, -0.2, 0.3, 0.0], np.float32)
LOC_MAP, LOC_BIAS, STDDEV = 0.4 * W.T, np.array([0.2, -0.1], np.float32), np.array([0.7, 0.4], np.float32)
STEPS, STEP_SIZE, BETA0, T, LAMBDA, FIXED_POINT = 2, 0.15, 0.4, 1.2, 0.3, 3
CENTROIDS = np.array([[0.5, -0.3], [-0.6, 0.4], [0.1, 0.9]], np.float32)
FACTORS = np.array([[[0.9, 0.0], [0.4, 0.6]], [[0.5, 0.0], [-0.7, 1.1]], [[1.3, 0.0], [0.2, 0.4]]], np.float32)


def _curved_target(z):
    """A non-Gaussian log density (its Hessian varies with z)."""
    return -0.25 * tf.reduce_sum(z**4, axis=-1) - tf.sin(z[..., 0] * z[..., 1]) - 0.5 * tf.reduce_sum(z**2, axis=-1)


def _metric(dtype=tf.float64, regularization=LAMBDA, factors=FACTORS):
    return Metric(tf.constant(CENTROIDS, dtype), tf.constant(factors, dtype), T, regularization)


def _inverse_metric_by_hand(z):
    """sum_i L_i L_i^T exp(-|z - c_i|^2 / T^2) + lambda I at one z [2], in loops."""
    total = LAMBDA * np.eye(2)
    for c, L in zip(CENTROIDS.astype(np.float64), FACTORS.astype(np.float64)):
        total += L @ L.T * math.exp(-np.sum((z - c) ** 2) / T**2)
    return total


def test_the_metric_by_hand_symmetric_positive_definite():
    z = np.random.default_rng(0).normal(size=(3, 4, 2))
    inverse = _metric().inverse(tf.constant(z)).numpy()
    assert inverse.shape == (3, 4, 2, 2)
    for index in np.ndindex(3, 4):
        np.testing.assert_allclose(inverse[index], _inverse_metric_by_hand(z[index]), rtol=1e-10)
    np.testing.assert_array_equal(inverse, np.swapaxes(inverse, -1, -2))
    assert np.linalg.eigvalsh(inverse).min() >= LAMBDA - 1e-12  # the floor lambda I
    far = _metric().inverse(tf.constant([[40.0, -40.0]], tf.float64)).numpy()[0]  # no centroid near: lambda I
    np.testing.assert_allclose(far, LAMBDA * np.eye(2), atol=1e-12)
    # The encoder's raw entries: lower triangular, each entry once, exp on the diagonal.
    raw = np.arange(1.0, 1.0 + factor_size(3)) / 10
    L = metric_factors(tf.constant(raw)).numpy()
    np.testing.assert_array_equal(L, np.tril(L))
    found = np.concatenate([np.log(np.diag(L)), L[np.tril_indices(3, -1)]])
    np.testing.assert_allclose(np.sort(found), raw, rtol=1e-12)


def _jacobian_log_det(step, z, v):
    """log |det| of the autodiff Jacobian of (z, v) -> step(z, v), in float64."""
    state = tf.constant(np.concatenate([z, v]), tf.float64)
    with tf.GradientTape(persistent=True) as tape:  # a row at a time: pfor over nested tapes is slow to trace
        tape.watch(state)
        out = tf.concat(step(state[:2], state[2:]), axis=0)
    return np.linalg.slogdet(tape.jacobian(out, state, experimental_use_pfor=False).numpy())[1]


def test_generalized_leapfrog_volume_error_shrinks_with_the_fixed_point_iterations():
    def volume_error(iterations):
        dynamics = RiemannianDynamics(_curved_target, tf.constant(0.3, tf.float64), _metric(), iterations)

        def step(z, v):
            return dynamics.step(z, v, dynamics.start(z))[:2]
        return abs(_jacobian_log_det(step, np.array([0.4, -0.2]), np.array([0.8, 0.5])))

    errors = [volume_error(n) for n in (1, 2, 4, 8)]
    assert errors[0] > 1e-3, errors  # one iteration is not converged: the implicit steps matter
    for coarse, fine in zip(errors, errors[1:]):
        assert fine < coarse / 3, errors
    assert errors[-1] < 1e-6, errors


def test_generalized_leapfrog_energy_error_shrinks_as_the_step_size_squared():
    precision = tf.constant([1.0, 4.0], tf.float64)

    def target(z):
        return -0.5 * tf.reduce_sum(precision * z**2, axis=-1)

    metric = _metric()

    def energy(z, v):
        return float(-target(z) + kinetic_energy(metric.inverse(z), v))

    def energy_error(eps, duration=1.0):
        dynamics = RiemannianDynamics(target, tf.constant(eps, tf.float64), metric, 4)
        z = z0 = tf.constant([1.0, 0.5], tf.float64)
        v = v0 = tf.constant([0.3, -0.7], tf.float64)
        gradient = dynamics.start(z)
        for _ in range(round(duration / eps)):
            z, v, gradient = dynamics.step(z, v, gradient)
        return abs(energy(z, v) - energy(z0, v0))

    errors = [energy_error(eps) for eps in (0.1, 0.05, 0.025)]
    assert errors[0] > 1e-4, errors  # not conserved exactly
    for coarse, fine in zip(errors, errors[1:]):
        assert 3.6 < coarse / fine < 4.6, errors  # measured 4.52 and 4.13 (second order)


def test_with_the_identity_metric_it_is_the_hvae_flow():
    """L_i = 0, lambda = 1: G = I, so the generalized leapfrog's fixed points are explicit and
    the flow, the momentum draw and its density are the HVAE's."""
    identity = _metric(regularization=1.0, factors=np.zeros_like(FACTORS))
    eps, beta0 = tf.constant([0.2, 0.1], tf.float64), tf.constant(0.3, tf.float64)
    riemannian, euclidean = RiemannianDynamics(_curved_target, eps, identity, 2), EuclideanDynamics(_curved_target, eps)
    z, gamma = tf.constant([[0.3, -0.6], [1.1, 0.2]], tf.float64), tf.constant([[1.2, 0.1], [-0.4, 0.7]], tf.float64)
    v0, rho0 = riemannian.momentum(z, gamma, beta0), euclidean.momentum(z, gamma, beta0)
    np.testing.assert_allclose(v0, rho0, rtol=1e-12)
    np.testing.assert_allclose(riemannian.momentum_log_prob(z, v0, beta0), euclidean.momentum_log_prob(z, rho0, beta0),
                               rtol=1e-12)
    for moved, expected in zip(hamiltonian_flow(riemannian, z, v0, 3, beta0), hamiltonian_flow(euclidean, z, rho0, 3, beta0)):
        np.testing.assert_allclose(moved, expected, rtol=1e-10)
    assert np.abs(hamiltonian_flow(euclidean, z, rho0, 3, beta0)[0] - z).min() > 0.05  # it moved


def _linear_gaussian_model(posterior):
    """p(z) = N(0, I), p(x|z) = N(Wz + B, SIGMA^2 I) on 2x2x1 images; q0(z|x) = N(LOC_MAP x +
    LOC_BIAS, STDDEV^2), and for the RHVAE each image's raw L entries a fixed linear map of x."""
    decoder = keras.Sequential([keras.layers.Dense(4), keras.layers.Reshape((2, 2, 1))])
    decoder.build((None, 2))
    decoder.layers[0].set_weights([W.T, B])
    extra = posterior.params_size - 4
    encoder = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(posterior.params_size)])
    encoder.build((None, 2, 2, 1))
    raw_scale = np.log(np.expm1(STDDEV - 1e-5))
    factor_map = 0.2 * np.arange(4 * extra, dtype=np.float32).reshape(4, extra) % 0.7 - 0.3
    encoder.layers[1].set_weights([np.concatenate([LOC_MAP.T, np.zeros((4, 2)), factor_map], 1).astype(np.float32),
                                   np.concatenate([LOC_BIAS, raw_scale, np.zeros(extra)]).astype(np.float32)])
    return VAE(encoder, posterior, decoder, Gaussian(sigma=SIGMA), image_shape=(2, 2, 1))


def _rhvae(regularization=LAMBDA):
    posterior = RiemannianHamiltonianPosterior(2, leapfrog_steps=STEPS, step_size=STEP_SIZE, beta0=BETA0,
                                               temperature=T, regularization=regularization,
                                               fixed_point_steps=FIXED_POINT, centroids=len(CENTROIDS))
    model = _linear_gaussian_model(posterior)
    posterior.kept_centroids.assign(CENTROIDS)
    posterior.kept_factors.assign(_raw_entries(FACTORS))
    posterior.metric_fitted.assign(1.0)
    return model


def _raw_entries(factors):
    """The raw entries [N, 3] whose `metric_factors` are `factors` [N, 2, 2]."""
    lower = tf.linalg.set_diag(tf.constant(factors), tf.math.log(tf.linalg.diag_part(tf.constant(factors))))
    return tfp.math.fill_triangular_inverse(lower).numpy()


def _log_weight_by_hand(x, eps0, gamma):
    """log p(x, zK) + log N(vK; 0, G(zK)) - log q0(z0) - log N(v0; 0, G(z0)/beta0) + (D/2) log beta0
    for one image x [4], the generalized leapfrog in numpy loops with the metric's gradient in
    closed form: d/dz_j G^-1 = sum_i L_i L_i^T w_i(z) (-2 (z_j - c_ij) / T^2)."""
    x, eps0, gamma = (np.asarray(a, np.float64) for a in (x, eps0, gamma))
    products = [L @ L.T for L in FACTORS.astype(np.float64)]
    centroids = CENTROIDS.astype(np.float64)

    def inverse_metric(z):
        return _inverse_metric_by_hand(z)

    def kinetic_gradient(z, v):  # d/dz [1/2 v^T G^-1 v - 1/2 log det G^-1]
        G = np.linalg.inv(inverse_metric(z))
        gradient = np.zeros(2)
        for j in range(2):
            derivative = sum(M * math.exp(-np.sum((z - c) ** 2) / T**2) * (-2 * (z[j] - c[j]) / T**2)
                             for M, c in zip(products, centroids))
            gradient[j] = 0.5 * v @ derivative @ v - 0.5 * np.trace(G @ derivative)
        return gradient

    def grad_log_joint(z):
        return W.T @ (x - W @ z - B) / SIGMA**2 - z

    def log_momentum(z, v, beta):  # log N(v; 0, G(z) / beta)
        inverse = inverse_metric(z)
        return (-0.5 * beta * v @ inverse @ v + 0.5 * np.linalg.slogdet(inverse)[1] + math.log(beta)
                - math.log(2 * math.pi))

    loc = LOC_MAP @ x + LOC_BIAS
    z0 = z = loc + STDDEV * eps0
    v0 = v = np.linalg.solve(np.linalg.cholesky(inverse_metric(z0)).T, gamma) / math.sqrt(BETA0)
    inverse_sqrt = [(1 - 1 / math.sqrt(BETA0)) * (k / STEPS) ** 2 + 1 / math.sqrt(BETA0) for k in range(STEPS + 1)]
    for k in range(1, STEPS + 1):
        half = v
        for _ in range(FIXED_POINT):
            half = v - STEP_SIZE / 2 * (kinetic_gradient(z, half) - grad_log_joint(z))
        moved = z
        for _ in range(FIXED_POINT):
            moved = z + STEP_SIZE / 2 * (inverse_metric(z) @ half + inverse_metric(moved) @ half)
        z = moved
        v = half - STEP_SIZE / 2 * (kinetic_gradient(z, half) - grad_log_joint(z))
        v = v * inverse_sqrt[k] / inverse_sqrt[k - 1]
    log_joint = (np.sum(-0.5 * ((x - W @ z - B) / SIGMA) ** 2 - math.log(SIGMA) - 0.5 * math.log(2 * math.pi))
                 + np.sum(-0.5 * z**2 - 0.5 * math.log(2 * math.pi)))
    log_q0 = np.sum(-0.5 * eps0**2 - np.log(STDDEV) - 0.5 * math.log(2 * math.pi))
    return log_joint + log_momentum(z, v, 1.0) - log_q0 - log_momentum(z0, v0, BETA0) + math.log(BETA0)


def _draw_noise(seed, shape):
    eps0 = tf.random.stateless_normal(shape, seed).numpy()
    gamma = tf.random.stateless_normal(shape, tf.random.experimental.stateless_fold_in(seed, MOMENTUM_STREAM)).numpy()
    return eps0, gamma


def test_log_weights_equal_the_hand_computed_ones():
    model, x = _rhvae(), linear_gaussian.images(3, B, seed=1)
    seed = tf.constant([4, 5], tf.int32)
    q = model.posterior.given(model.joint_target(x)).inference(model.posterior_params(x))
    z = q.sample(2, seed=seed)  # [S=2, B=3, D=2], the kept metric
    log_w = (model.log_joint(x, z) - q.log_prob(z)).numpy()
    eps0, gamma = _draw_noise(seed, [2, 3, 2])
    by_hand = [[_log_weight_by_hand(x[b].ravel(), eps0[s, b], gamma[s, b]) for b in range(3)] for s in range(2)]
    np.testing.assert_allclose(log_w, by_hand, rtol=1e-4, atol=1e-3)
    exact = linear_gaussian.exact_log_px(x, W, B, SIGMA)
    assert np.all(np.asarray(by_hand) < exact[None] + 5.0)  # weights of a sensible proposal


def test_with_the_identity_metric_the_model_scores_as_the_hvae():
    x, seed = linear_gaussian.images(3, B, seed=2), tf.constant([6, 7], tf.int32)
    rhvae = _rhvae(regularization=1.0)
    rhvae.posterior.kept_centroids.assign(CENTROIDS + 1e3)  # no centroid near: G^-1 = lambda I = I
    hvae = _linear_gaussian_model(HamiltonianPosterior(2, leapfrog_steps=STEPS, step_size=STEP_SIZE, beta0=BETA0))
    weights = []
    for model in (rhvae, hvae):
        q = model.posterior.given(model.joint_target(x)).inference(model.posterior_params(x))
        z = q.sample(3, seed=seed)
        weights.append((model.log_joint(x, z) - q.log_prob(z)).numpy())
    np.testing.assert_allclose(weights[0], weights[1], rtol=1e-5, atol=1e-4)


def _small_config(posterior, **fields):
    return VAEConfig(image_shape=(4, 4, 1), network={"type": "mlp", "hidden_units": (8,)}, posterior=posterior,
                     **fields)


RHVAE = {"type": "riemannian_hamiltonian", "latent_dim": 2, "leapfrog_steps": 1, "step_size": 0.1, "centroids": 6,
         "fixed_point_steps": 2, "temperature": 2.0}


def test_the_kept_metric_makes_an_image_independent_of_its_batch():
    keras.utils.set_random_seed(0)
    model = build(_small_config(RHVAE))
    images = (np.random.default_rng(0).random((12, 4, 4, 1)) > 0.5).astype(np.float32)
    z = tf.constant([[[0.3, -0.2]]])  # [S=1, B=1, D]

    def inverse_at_first_image(batch):
        dynamics = model.posterior.dynamics(model.posterior_params(batch), None)
        return dynamics.metric.inverse(z).numpy()

    assert np.abs(inverse_at_first_image(images[:1]) - inverse_at_first_image(images[:6])).max() > 1e-3  # the batch's
    taken = model.fit_after_training(images, batch_size=4, learning_rate=1e-3, seed=0, verbose=False)
    assert taken == {"posterior_fit": {"centroids": 6, "of_images": 12, "seed": 0}}
    np.testing.assert_allclose(inverse_at_first_image(images[:1]), inverse_at_first_image(images[:6]), rtol=1e-6)
    chosen = np.sort(np.random.default_rng(0).choice(12, 6, replace=False))
    np.testing.assert_allclose(model.posterior.kept_centroids.numpy(),
                               model.posterior_params(images[chosen]).numpy()[:, :2], rtol=1e-6)


@pytest.mark.slow
def test_a_compiled_step_trains_the_metric_head():
    keras.utils.set_random_seed(0)
    model = build(_small_config({**RHVAE, "fixed_point_steps": 1}))  # the least for XLA to compile
    model.compile(keras.optimizers.Adam(1e-2), jit_compile=True, steps_per_execution=2)
    head = model.encoder.layers[-1]
    before = head.kernel.numpy()[:, 4:].copy()  # the columns of the L entries
    images = (np.random.default_rng(0).random((32, 4, 4, 1)) * 256).astype(np.uint8)
    history = model.fit(ResidentImages(Split(images, None, 256), 16, "dynamic"), epochs=1, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert np.abs(head.kernel.numpy()[:, 4:] - before).min() > 0


def test_refusals_in_one_line():
    with pytest.raises(ConfigError, match="'condition'") as error:
        build(_small_config(RHVAE, condition={"type": "class_label", "classes": 3},
                            prior="conditional_normal"))
    assert "\n" not in str(error.value)
    with pytest.raises(ConfigError, match="'prior'"):
        build(_small_config(RHVAE, prior={"type": "vamp", "components": 2}))
    with pytest.raises(ConfigError, match="'fixed_point_steps'"):
        RiemannianHamiltonianPosterior(2, fixed_point_steps=0)
    with pytest.raises(ConfigError, match="'temperature'"):
        RiemannianHamiltonianPosterior(2, temperature=0.0)
    model = build(_small_config(RHVAE))
    with pytest.raises(ConfigError, match="'centroids'"):
        model.fit_after_training(np.zeros((3, 4, 4, 1), np.float32), 4, 1e-3, 0, verbose=False)
