"""The Hamiltonian posterior (HVAE): the leapfrog step preserves volume and its energy error
shrinks as eps^2; the tempering's log-determinant and the per-example log weight computed by
hand (numpy loops on a linear-Gaussian model, where grad log p(x, z) is known in closed form);
K = 0 is the plain VAE; a compiled training step moves every weight; refusals in one line."""

import math

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

import linear_gaussian
from zoo.config import VAEConfig
from zoo.data import ResidentImages, Split
from zoo.errors import ConfigError, ZooError
from zoo.layers.hamiltonian import (MOMENTUM_STREAM, EuclideanDynamics, HamiltonianPosterior, hamiltonian_flow, leapfrog,
                                    sqrt_inverse_temperature, target_gradient, tempering_log_det)
from zoo.layers.likelihoods import Gaussian
from zoo.models import importance_sampling
from zoo.models.builder import build
from zoo.models.vae import VAE

SIGMA = 0.5
W = np.array([[1.0, 0.3], [0.0, 2.0], [0.5, 0.0], [0.0, -1.0]], np.float32)
B = np.array([0.1, -0.2, 0.3, 0.0], np.float32)
LOC_MAP, LOC_BIAS, STDDEV = 0.4 * W.T, np.array([0.2, -0.1], np.float32), np.array([0.7, 0.4], np.float32)
STEPS, STEP_SIZE, BETA0 = 3, 0.15, 0.4


def _curved_target(z):
    """A non-Gaussian log density (its Hessian varies with z): a hollow step would show in the Jacobian."""
    return -0.25 * tf.reduce_sum(z**4, axis=-1) - tf.sin(z[..., 0] * z[..., 1]) - 0.5 * tf.reduce_sum(z**2, axis=-1)


def _jacobian_log_det(step, z, rho):
    """log |det| of the autodiff Jacobian of (z, rho) -> step(z, rho), in float64."""
    state = tf.constant(np.concatenate([z, rho]), tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(state)
        out = tf.concat(step(state[:2], state[2:]), axis=0)
    return np.linalg.slogdet(tape.jacobian(out, state).numpy())[1]


def test_a_leapfrog_step_preserves_volume():
    eps = tf.constant([0.3, 0.2], tf.float64)

    def step(z, rho):
        z, rho, _ = leapfrog(_curved_target, z, rho, eps, target_gradient(_curved_target, z))
        return z, rho

    z, rho = np.array([0.8, -1.1]), np.array([0.5, 0.9])
    assert abs(_jacobian_log_det(step, z, rho)) < 1e-4
    moved = step(tf.constant(z), tf.constant(rho))
    assert np.abs(moved[0].numpy() - z).min() > 0.05  # the step moves z


def test_energy_error_shrinks_as_the_step_size_squared():
    precision = tf.constant([1.0, 4.0], tf.float64)

    def target(z):
        return -0.5 * tf.reduce_sum(precision * z**2, axis=-1)

    def energy_error(eps, duration=2.0):  # a duration where the error is not near a zero of its phase
        z = z0 = tf.constant([1.0, 0.5], tf.float64)
        rho = rho0 = tf.constant([0.3, -0.7], tf.float64)
        gradient = target_gradient(target, z)
        for _ in range(round(duration / eps)):
            z, rho, gradient = leapfrog(target, z, rho, tf.constant(eps, tf.float64), gradient)

        def energy(z, rho):
            return float(-target(z) + 0.5 * tf.reduce_sum(rho**2))
        return abs(energy(z, rho) - energy(z0, rho0))

    errors = [energy_error(eps) for eps in (0.1, 0.05, 0.025)]
    assert errors[0] > 1e-3  # not conserved exactly: the step is not a hollow identity
    for coarse, fine in zip(errors, errors[1:]):
        assert 3.8 < coarse / fine < 4.2, errors  # measured 4.006 and 4.002


def test_tempering_schedule_and_log_det_by_hand():
    # beta0 = 0.25, K = 2: 1/sqrt(beta_k) = (1 - 2) (k/2)^2 + 2 = 2, 1.75, 1.
    sqrt_betas = [float(sqrt_inverse_temperature(k, 2, tf.constant(0.25))) for k in range(3)]
    np.testing.assert_allclose(sqrt_betas, [1 / 2, 1 / 1.75, 1.0], rtol=1e-6)
    by_hand = sum(3 * math.log(sqrt_betas[k - 1] / sqrt_betas[k]) for k in (1, 2))  # D = 3 latents, log of the factor
    np.testing.assert_allclose(float(tempering_log_det(tf.constant(0.25), 2, 3)), by_hand, rtol=1e-6)
    assert float(tempering_log_det(tf.constant(0.25), 0, 3)) == 0.0
    # The whole flow (leapfrog steps and temperings) against autodiff: only the temperings change volume.
    beta0 = tf.constant(0.25, tf.float64)

    def flow(z, rho):
        return hamiltonian_flow(EuclideanDynamics(_curved_target, tf.constant(0.2, tf.float64)), z, rho, 2, beta0)

    np.testing.assert_allclose(_jacobian_log_det(flow, np.array([0.3, -0.6]), np.array([1.2, 0.1])),
                               float(tempering_log_det(beta0, 2, 2)), atol=1e-4)


def _linear_gaussian_hvae(steps=STEPS):
    """p(z) = N(0, I), p(x|z) = N(Wz + B, SIGMA^2 I) on 2x2x1 images; q0(z|x) = N(LOC_MAP x +
    LOC_BIAS, STDDEV^2): a linear encoder, a wrong guess the flow can move."""
    decoder = keras.Sequential([keras.layers.Dense(4), keras.layers.Reshape((2, 2, 1))])
    decoder.build((None, 2))
    decoder.layers[0].set_weights([W.T, B])
    encoder = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(4)])
    encoder.build((None, 2, 2, 1))
    raw_scale = np.log(np.expm1(STDDEV - 1e-5))
    encoder.layers[1].set_weights([np.concatenate([LOC_MAP.T, np.zeros((4, 2))], 1).astype(np.float32),
                                   np.concatenate([LOC_BIAS, raw_scale]).astype(np.float32)])
    posterior = HamiltonianPosterior(2, leapfrog_steps=steps, step_size=STEP_SIZE, beta0=BETA0)
    return VAE(encoder, posterior, decoder, Gaussian(sigma=SIGMA), image_shape=(2, 2, 1))


def _normal_log_prob(value, mean, stddev):
    return float(np.sum(-0.5 * ((value - mean) / stddev) ** 2 - np.log(stddev) - 0.5 * np.log(2 * np.pi)))


def _log_weight_by_hand(x, eps0, gamma):
    """log p(x, zK) + log N(rhoK; 0, I) - log q0(z0) - log N(rho0; 0, I/beta0) + (D/2) log beta0
    for one image x [4] from its noise eps0, gamma [2], in plain numpy and loops."""
    x, eps0, gamma = (np.asarray(a, np.float64) for a in (x, eps0, gamma))
    loc = LOC_MAP @ x + LOC_BIAS
    z0 = z = loc + STDDEV * eps0
    rho0 = rho = gamma / math.sqrt(BETA0)

    def grad_log_joint(z):  # d/dz [log N(x; Wz + B, SIGMA^2) + log N(z; 0, I)]
        return W.T @ (x - W @ z - B) / SIGMA**2 - z

    inverse_sqrt = [(1 - 1 / math.sqrt(BETA0)) * (k / STEPS) ** 2 + 1 / math.sqrt(BETA0) for k in range(STEPS + 1)]
    for k in range(1, STEPS + 1):
        rho = rho + STEP_SIZE / 2 * grad_log_joint(z)
        z = z + STEP_SIZE * rho
        rho = rho + STEP_SIZE / 2 * grad_log_joint(z)
        rho = rho * inverse_sqrt[k] / inverse_sqrt[k - 1]  # sqrt(beta_{k-1} / beta_k)
    log_joint = _normal_log_prob(x, W @ z + B, SIGMA) + _normal_log_prob(z, 0.0, 1.0)
    log_proposal = (_normal_log_prob(z0, loc, STDDEV) + _normal_log_prob(rho0, 0.0, 1 / math.sqrt(BETA0))
                    - 2 / 2 * math.log(BETA0))
    return log_joint + _normal_log_prob(rho, 0.0, 1.0) - log_proposal


def test_log_weights_equal_the_hand_computed_ones():
    model, x = _linear_gaussian_hvae(), linear_gaussian.images(3, B, seed=1)
    seed = tf.constant([4, 5], tf.int32)
    params = model.posterior_params(x)
    q = model.posterior.given(model.joint_target(x)).inference(params)
    z = q.sample(2, seed=seed)  # [S=2, B=3, D=2]
    log_w = (model.log_joint(x, z) - q.log_prob(z)).numpy()
    eps0 = tf.random.stateless_normal([2, 3, 2], seed).numpy()
    gamma = tf.random.stateless_normal([2, 3, 2], tf.random.experimental.stateless_fold_in(seed, MOMENTUM_STREAM))
    by_hand = [[_log_weight_by_hand(x[b].ravel(), eps0[s, b], gamma.numpy()[s, b]) for b in range(3)] for s in range(2)]
    np.testing.assert_allclose(log_w, by_hand, rtol=1e-5, atol=1e-4)
    flat = _linear_gaussian_hvae(steps=0)  # the flow moved the draws: not q0's weights
    flat_q = flat.posterior.given(flat.joint_target(x)).inference(params)
    flat_z = flat_q.sample(2, seed=seed)
    assert np.abs(flat_z.numpy() - z.numpy()).max() > 0.05
    with pytest.raises(ZooError, match="only the codes it drew itself"):
        q.log_prob(flat_z)


def test_importance_sampling_uses_the_flow():
    model, x = _linear_gaussian_hvae(), linear_gaussian.images(2, B, seed=2)
    seed, draws = (6, 7), 8
    result = importance_sampling.log_likelihood(model, x, draws, seed, chunk_size=draws)
    chunk_seed = tf.random.experimental.stateless_fold_in(tf.constant(seed, tf.int32), 0)  # the first chunk's
    eps0 = tf.random.stateless_normal([draws, 1, 2], chunk_seed).numpy()[:, 0]
    gamma = tf.random.stateless_normal(
        [draws, 1, 2], tf.random.experimental.stateless_fold_in(chunk_seed, MOMENTUM_STREAM)).numpy()[:, 0]
    for b in range(2):
        log_w = np.array([_log_weight_by_hand(x[b].ravel(), eps0[k], gamma[k]) for k in range(draws)])
        np.testing.assert_allclose(result["elbo"][b], log_w.mean(), rtol=1e-5, atol=1e-4)
        expected = np.log(np.mean(np.exp(log_w - log_w.max()))) + log_w.max()
        np.testing.assert_allclose(result["log_likelihood"][b], expected, rtol=1e-5, atol=1e-4)
    exact = linear_gaussian.exact_log_px(x, W, B, SIGMA)
    assert np.all(np.abs(result["log_likelihood"] - exact) < 1.0)  # a bound near log p(x)


def _small_config(posterior, **fields):
    return VAEConfig(image_shape=(4, 4, 1), network={"type": "mlp", "hidden_units": (8,)}, posterior=posterior,
                     **fields)


def test_without_leapfrog_steps_the_objective_is_the_plain_elbo_at_the_same_draws():
    keras.utils.set_random_seed(0)
    hvae = build(_small_config({"type": "hamiltonian", "latent_dim": 2, "leapfrog_steps": 0}))
    plain = build(_small_config({"type": "diagonal_normal", "latent_dim": 2}))
    plain.encoder.set_weights(hvae.encoder.get_weights())
    plain.decoder.set_weights(hvae.decoder.get_weights())
    x = (np.random.default_rng(0).random((5, 4, 4, 1)) > 0.5).astype(np.float32)
    seed = tf.constant([1, 2], tf.int32)
    terms = hvae.terms(x, seed=seed)
    q, z, log_px = plain.draw(x, 1, seed=seed)
    log_ratio = (q.log_prob(z) - plain.prior.distribution().log_prob(z))[0]
    np.testing.assert_allclose(terms["reconstruction"], -log_px[0], rtol=1e-6)
    np.testing.assert_allclose(terms["loss"], -log_px[0] + log_ratio, rtol=1e-5)


@pytest.mark.slow
def test_a_compiled_step_trains_every_weight():
    keras.utils.set_random_seed(0)
    model = build(_small_config({"type": "hamiltonian", "latent_dim": 2, "leapfrog_steps": 1}))  # XLA: ~6 s
    model.compile(keras.optimizers.Adam(1e-2), jit_compile=True, steps_per_execution=2)
    before = [v.numpy().copy() for v in model.trainable_variables]
    images = (np.random.default_rng(0).random((32, 4, 4, 1)) * 256).astype(np.uint8)
    history = model.fit(ResidentImages(Split(images, None, 256), 16, "dynamic"), epochs=1, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    names = [v.name for v in model.trainable_variables]
    assert any("log_step_size" in n for n in names) and any("beta0_logit" in n for n in names)
    unchanged = [n for n, old, v in zip(names, before, model.trainable_variables) if np.array_equal(old, v.numpy())]
    assert not unchanged


@pytest.mark.parametrize("fields,field", [
    ({"prior": {"type": "vamp", "components": 2}}, "prior"),
    ({"objective": {"type": "beta_tcvae", "dataset_size": 8}}, "objective"),
    ({"objective": {"type": "dip_vae", "kind": "ii"}}, "objective"),
])
def test_refuses_what_needs_a_density_it_lacks_in_one_line(fields, field):
    with pytest.raises(ConfigError, match=f"'{field}'") as error:
        build(_small_config({"type": "hamiltonian", "latent_dim": 2}, **fields))
    assert "\n" not in str(error.value)


def test_refuses_bad_settings_and_local_inference():
    with pytest.raises(ConfigError, match="'beta0'"):
        HamiltonianPosterior(2, beta0=1.5)
    with pytest.raises(ConfigError, match="'leapfrog_steps'"):
        HamiltonianPosterior(2, leapfrog_steps=-1)
    model = build(_small_config({"type": "hamiltonian", "latent_dim": 2}))
    assert "log p(x, z)" in model.local_inference_refusal


def test_the_flow_tightens_the_bound_of_a_wrong_gaussian():
    """q0 is a poor guess; 3 leapfrog steps on log p(x, z) move its draws towards the true
    posterior: the ELBO's gap to the exact log p(x) shrinks (measured 7.4 -> 3.7 nats at K = 0
    -> 3 with 2,000 draws)."""
    x = linear_gaussian.images(6, B, seed=3)
    exact = linear_gaussian.exact_log_px(x, W, B, SIGMA)
    gaps = {}
    for steps in (0, STEPS):
        model = _linear_gaussian_hvae(steps)
        q = model.posterior.given(model.joint_target(x)).inference(model.posterior_params(x))
        z = q.sample(500, seed=tf.constant([1, 2], tf.int32))
        gaps[steps] = np.mean(exact - np.mean(model.log_joint(x, z) - q.log_prob(z), axis=0))
    assert gaps[0] > 5 and gaps[STEPS] < gaps[0] - 2, gaps
