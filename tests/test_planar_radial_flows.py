"""The planar and radial flow posterior ("normalizing_flow"): each layer's log-determinant
against an autodiff Jacobian, a 2-D flow density that integrates to 1, the invertibility
constraints, log q and the ELBO at the draws against the paper's formulas in plain numpy loops,
the compiled training step, and the one-line refusals (VampPrior, codes it did not draw).
The `.keras` and export round trips are the driver's case `vae_mlp_planar_radial_flow`."""

import math

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from zoo.config import VAEConfig
from zoo.errors import ConfigError, ZooError
from zoo.layers.planar_radial_flows import (FLOW_LAYERS, NormalizingFlow, PlanarBijector, RadialBijector,
                                            planar_u_hat, radial_beta)
from zoo.models.builder import build

SEED = tf.constant([3, 4])


def _layer(kind, dim, batch, scale, seed=0):
    """A layer of `kind` at random raw parameters N(0, scale^2) per example."""
    rng = np.random.default_rng(seed)
    params = rng.normal(0.0, scale, (batch, FLOW_LAYERS[kind].params_size(dim))).astype(np.float32)
    return FLOW_LAYERS[kind].from_params(tf.constant(params), dim)


@pytest.mark.parametrize("kind", ["planar", "radial"])
@pytest.mark.parametrize("scale", [0.5, 3.0])
def test_each_layers_log_det_is_the_autodiff_jacobians(kind, scale):
    layer = _layer(kind, 3, 16, scale)
    z = tf.constant(np.random.default_rng(1).normal(0.0, 2.0, (16, 3)), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(z)
        moved = layer.forward(z)
    jacobian = tape.batch_jacobian(moved, z).numpy().astype(np.float64)
    sign, log_det = np.linalg.slogdet(jacobian)
    assert np.all(sign > 0)  # invertible and orientation-preserving, also at large raw parameters
    np.testing.assert_allclose(layer.forward_log_det_jacobian(z, event_ndims=1), log_det, rtol=1e-4, atol=1e-4)


def test_invertibility_constraints_hold_for_any_raw_parameters():
    """w.u_hat = m(w.u) > -1 (in float64: in float32 m(w.u) rounds to -1 once w.u < -17) and
    beta >= -alpha, at raw parameters far outside the region where they hold unconstrained."""
    rng = np.random.default_rng(2)
    u, w = (tf.constant(rng.normal(0.0, 5.0, (2000, 5)), tf.float64) for _ in range(2))
    wu = tf.reduce_sum(w * u, -1).numpy()
    w_dot_u_hat = tf.reduce_sum(w * planar_u_hat(u, w), -1).numpy()
    assert wu.min() < -20 and (wu < -1).mean() > 0.3  # raw parameters that break the condition before the fix
    assert np.all(w_dot_u_hat[wu > -20] > -1.0) and np.all(w_dot_u_hat >= -1.0 - 1e-12)
    np.testing.assert_allclose(w_dot_u_hat, np.logaddexp(0.0, wu) - 1.0, rtol=1e-9, atol=1e-9)  # m(w.u)
    z = tf.constant(rng.normal(0.0, 3.0, (2000, 5)), tf.float32)
    for kind in ("planar", "radial"):
        layer = _layer(kind, 5, 2000, 5.0, seed=3)
        assert np.all(np.isfinite(layer.forward_log_det_jacobian(z, event_ndims=1)))
    alpha, beta_raw = layer.parameters["alpha"], layer.parameters["beta_raw"]
    assert np.all(alpha.numpy() > 0)
    assert np.all(radial_beta(alpha, beta_raw).numpy() >= -alpha.numpy())


def _invert_planar(y, u, w, b):
    """The planar map's inverse (the paper's appendix A): a = w.z solves w.y = a + w.u_hat
    tanh(a + b), increasing in a; bisection in float64."""
    u_hat = planar_u_hat(tf.constant(u), tf.constant(w)).numpy().astype(np.float64)
    c, target = float(w @ u_hat), y @ w
    low, high = target - abs(c) - 1.0, target + abs(c) + 1.0
    for _ in range(100):
        middle = (low + high) / 2
        above = middle + c * np.tanh(middle + b) > target
        low, high = np.where(above, low, middle), np.where(above, middle, high)
    return y - np.tanh((low + high) / 2 + b)[:, None] * u_hat


def _invert_radial(y, z0, alpha, beta):
    """The radial map's inverse: r = |z - z0| solves |y - z0| = r (alpha + r + beta) / (alpha + r),
    increasing in r when beta >= -alpha; then z - z0 = (y - z0) / (1 + beta / (alpha + r))."""
    distance = np.linalg.norm(y - z0, axis=-1)
    low, high = np.zeros_like(distance), distance + abs(beta)
    for _ in range(100):
        middle = (low + high) / 2
        above = middle * (alpha + middle + beta) / (alpha + middle) > distance
        low, high = np.where(above, low, middle), np.where(above, middle, high)
    r = (low + high) / 2
    return z0 + (y - z0) / (1.0 + beta / (alpha + r))[:, None]


def test_a_2d_flow_density_integrates_to_one_on_a_grid():
    """q = N(loc, scale^2) through planar, radial, planar, radial layers in 2-D, its log q at
    each point of a 400 x 400 grid over [-9, 9]^2 (eps found by inverting the layers in numpy):
    the Riemann sum is 1 within 0.003; with the log-determinants' sign flipped it is not."""
    posterior = NormalizingFlow(2, flows=("planar", "radial", "planar", "radial"))
    params = np.random.default_rng(4).normal(0.0, 1.5, (1, posterior.params_size)).astype(np.float32)
    params[0, :4] = [0.5, -0.5, 0.5, 0.5]  # loc, raw scale: scale 0.97
    q = posterior.inference(tf.constant(params))
    side = np.linspace(-9.0, 9.0, 400)
    grid = np.stack(np.meshgrid(side, side), -1).reshape(-1, 2)
    eps = grid
    for layer in q.bijector.bijectors:  # the Chain's order: the last layer first
        p = {k: v.numpy().astype(np.float64)[0] for k, v in layer.parameters.items() if k != "name"}
        if isinstance(layer, PlanarBijector):
            eps = _invert_planar(eps, p["u"], p["w"], p["b"])
        else:
            eps = _invert_radial(eps, p["z0"], p["alpha"], float(radial_beta(p["alpha"], p["beta_raw"])))
    eps32 = tf.constant(eps[:, None, :], tf.float32)  # [N, batch 1, 2]
    np.testing.assert_allclose(q.bijector.forward(eps32)[:, 0], grid, atol=1e-3)
    log_base = q.distribution.log_prob(eps32)[:, 0].numpy().astype(np.float64)
    log_det = q.bijector.forward_log_det_jacobian(eps32, event_ndims=1)[:, 0].numpy().astype(np.float64)
    cell = (side[1] - side[0]) ** 2
    assert abs(np.exp(log_base - log_det).sum() * cell - 1.0) < 3e-3
    assert abs(np.exp(log_base + log_det).sum() * cell - 1.0) > 0.05
    assert np.abs(log_det).max() > 1.0  # the layers really reshape the density


def _softplus(t):
    return math.log1p(math.exp(-abs(t))) + max(t, 0.0)


def _by_hand(params, eps, flows, dim):
    """z and log q(z|x) at base draws eps [S, B, D] with the paper's formulas, in plain loops:
    log q = log N(eps; loc, scale^2) - sum_k log|det|, planar log|1 + u_hat.psi(z)|, radial
    (D - 1) log(1 + beta h) + log(1 + beta h + beta h' r)."""
    samples, batch = eps.shape[:2]
    z, log_q = np.zeros_like(eps), np.zeros((samples, batch))
    for s in range(samples):
        for i in range(batch):
            row, e = params[i], eps[s, i].copy()
            loc, scale = row[:dim], np.array([_softplus(v) + 1e-5 for v in row[dim:2 * dim]])
            total = sum(-0.5 * ((e[j] - loc[j]) / scale[j]) ** 2 - math.log(scale[j]) - 0.5 * math.log(2 * math.pi)
                        for j in range(dim))
            offset = 2 * dim
            for kind in flows:
                if kind == "planar":
                    u, w, b = row[offset:offset + dim], row[offset + dim:offset + 2 * dim], row[offset + 2 * dim]
                    offset += 2 * dim + 1
                    wu = float(w @ u)
                    u_hat = u + (-1.0 + _softplus(wu) - wu) * w / float(w @ w)
                    a = float(w @ e) + b
                    psi = (1.0 - math.tanh(a) ** 2) * w
                    total -= math.log(abs(1.0 + float(u_hat @ psi)))
                    e = e + u_hat * math.tanh(a)
                else:
                    z0, alpha = row[offset:offset + dim], _softplus(row[offset + dim])
                    beta = -alpha + _softplus(row[offset + dim + 1])
                    offset += dim + 2
                    r = float(np.sqrt(np.sum((e - z0) ** 2)))
                    h, h_prime = 1.0 / (alpha + r), -1.0 / (alpha + r) ** 2
                    total -= (dim - 1) * math.log(1.0 + beta * h) + math.log(1.0 + beta * h + beta * h_prime * r)
                    e = e + beta * h * (e - z0)
            z[s, i], log_q[s, i] = e, total
    return z, log_q


def test_log_q_and_the_elbo_at_the_draws_are_the_papers_formulas_by_hand():
    keras.utils.set_random_seed(0)
    flows = ("planar", "radial", "planar")
    model = build(VAEConfig(image_shape=(8, 8, 1), network={"type": "mlp", "hidden_units": (16,)},
                            posterior={"type": "normalizing_flow", "latent_dim": 3, "flows": flows},
                            objective={"type": "elbo", "samples": 3}))
    x = (np.random.default_rng(0).random((4, 8, 8, 1)) < 0.3).astype(np.float32)
    terms = model.terms(x, seed=SEED)
    q, z, log_px = model.draw(x, 3, seed=SEED)  # the same draws (stateless seed)
    eps = q.bijector.inverse(z).numpy().astype(np.float64)  # the base draws, from the bijectors' cache
    params = model.encoder(x).numpy().astype(np.float64)
    z_hand, log_q = _by_hand(params, eps, flows, 3)
    np.testing.assert_allclose(z, z_hand, rtol=1e-4, atol=1e-4)  # so eps are the draws' base points
    np.testing.assert_allclose(q.log_prob(z), log_q, rtol=1e-4, atol=1e-4)
    assert np.abs(log_q - q.distribution.log_prob(eps).numpy()).max() > 0.1  # the layers count
    log_p = -0.5 * np.sum(z_hand ** 2, -1) - 1.5 * math.log(2 * math.pi)
    np.testing.assert_allclose(terms["kl"], (log_q - log_p).mean(0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(terms["loss"], -log_px.numpy().mean(0) + (log_q - log_p).mean(0), rtol=1e-4, atol=1e-4)


@pytest.mark.slow
def test_one_compiled_step_changes_the_weights_and_gives_a_finite_loss():
    """`update`, the step the compiled loop of `zoo train` runs, under XLA (jit_compile=True).
    Slow tier: XLA's compilation alone takes 8 s here (the IAF's as long); the driver's case
    trains a step without XLA in the default tier."""
    keras.utils.set_random_seed(0)
    model = build(VAEConfig(image_shape=(4, 4, 1), network={"type": "mlp", "hidden_units": (8,)},
                            posterior={"type": "normalizing_flow", "latent_dim": 2, "flows": ("planar", "radial")}))
    model.compile(keras.optimizers.Adam(1e-2))
    model.optimizer.build(model.trainable_variables)
    x = (np.random.default_rng(0).random((8, 4, 4, 1)) < 0.5).astype(np.float32)
    before = [w.numpy() for w in model.trainable_weights]
    step = tf.function(lambda x, seed: model.update(x, seed=seed, alg="threefry"), jit_compile=True, autograph=False)
    logs = step(x, SEED)
    assert np.isfinite(float(logs["loss"]))
    assert all(np.abs(b - w.numpy()).max() > 0 for b, w in zip(before, model.trainable_weights))


def test_refusals_are_one_line():
    config = dict(image_shape=(8, 8, 1), network={"type": "mlp", "hidden_units": (16,)},
                  posterior={"type": "normalizing_flow", "latent_dim": 3, "flows": ("planar",)})
    with pytest.raises(ConfigError, match="prior.*vamp.*normalizing_flow") as error:
        VAEConfig(**config, prior={"type": "vamp", "components": 2}).check()
    assert "\n" not in str(error.value)
    for flows in [("planar", "spline"), (), "planar"]:
        with pytest.raises(ConfigError, match="flows"):
            NormalizingFlow(3, flows=flows)
    q = NormalizingFlow(3, flows=("radial",)).inference(tf.zeros([2, 6 + 5]))
    with pytest.raises(ZooError, match="radial map has no closed-form inverse") as error:
        q.log_prob(tf.zeros([2, 3]))  # a code it did not draw
    assert "\n" not in str(error.value)


def test_params_size_code_and_summary():
    posterior = NormalizingFlow(20, flows=("planar",) * 10)
    assert posterior.params_size == 40 + 10 * 41 and NormalizingFlow(20, flows=("radial",) * 10).params_size == 40 + 220
    assert isinstance(_layer("radial", 2, 1, 1.0), RadialBijector)
    q = posterior.inference(tf.random.stateless_normal([3, posterior.params_size], [0, 1]))
    summary = posterior.summary(q)
    assert sorted(summary) == ["z_base_mean", "z_base_stddev", "z_code"]
    np.testing.assert_allclose(summary["z_code"], q.bijector.forward(q.distribution.mean()), rtol=1e-6)
    assert np.abs(summary["z_code"] - summary["z_base_mean"]).max() > 0.1
