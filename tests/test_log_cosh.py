"""The log-cosh reconstruction cost (zoo/layers/log_cosh.py): values against math.log(math.cosh)
in loops, its two regimes, no overflow where cosh itself overflows, and a model with it has no
likelihood (the export case is the driver's vae_mlp_point_mass_log_cosh_swae)."""

import math

import numpy as np
import pytest
import tensorflow as tf

from zoo.config import VAEConfig
from zoo.errors import ConfigError
from zoo.layers.log_cosh import LogCosh, log_cosh
from zoo.models.builder import build

RNG = np.random.default_rng(0)


def cost_by_hand(x, mean, alpha):
    """sum over one image's pixels of log(cosh(alpha (x - mean))) / alpha, in float64 loops."""
    return sum(math.log(math.cosh(alpha * (float(a) - float(b)))) / alpha for a, b in zip(x.ravel(), mean.ravel()))


@pytest.mark.parametrize("alpha", [1.0, 10.0, 100.0])
def test_log_prob_is_minus_the_cost_by_hand(alpha):
    logits = RNG.standard_normal((3, 4, 4, 1)).astype(np.float32)
    x = RNG.random((3, 4, 4, 1)).astype(np.float32)
    p = LogCosh(alpha=alpha)(logits)
    mean = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
    expected = [-cost_by_hand(x[i], mean[i], alpha) for i in range(3)]
    np.testing.assert_allclose(p.log_prob(x), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(p.mean(), tf.sigmoid(logits), rtol=1e-6)
    np.testing.assert_allclose(p.sample(seed=1), p.mean())
    assert p.event_shape == (4, 4, 1) and p.batch_shape == (3,)
    many = LogCosh(alpha=alpha).distribution(np.stack([logits, logits]))  # [S, B] draws against x[None]
    np.testing.assert_allclose(many.log_prob(x[None])[1], p.log_prob(x), rtol=1e-6)


def test_small_errors_cost_a_squared_error_and_large_ones_an_absolute_error():
    alpha, small, large = 10.0, np.float32(1e-3), np.float32(0.8)
    assert (log_cosh(alpha * small) / alpha).numpy() == pytest.approx(alpha * small ** 2 / 2, rel=1e-3)
    assert (log_cosh(alpha * large) / alpha).numpy() == pytest.approx(large - math.log(2) / alpha, rel=1e-6)


def test_no_overflow_where_cosh_overflows():
    """cosh(u) overflows float32 past |u| = 89: alpha = 1000 and an error of 0.9 give u = 900."""
    u = tf.constant([-900.0, -89.5, 0.0, 89.5, 900.0])
    with tf.GradientTape() as tape:
        tape.watch(u)
        value = log_cosh(u)
    assert np.isinf(tf.math.log(tf.math.cosh(u)).numpy()[0])
    np.testing.assert_allclose(value, np.abs(u.numpy()) - math.log(2) * (u.numpy() != 0), rtol=1e-6)
    np.testing.assert_allclose(tape.gradient(value, u), np.tanh(u.numpy()), atol=1e-6)


def test_the_model_has_no_likelihood_and_serves_no_bound():
    model = build(VAEConfig(image_shape=(8, 8, 1), network={"type": "mlp", "hidden_units": (8,)},
                            posterior={"type": "diagonal_normal", "latent_dim": 2},
                            likelihood={"type": "log_cosh", "alpha": 5.0}))
    assert not model.has_likelihood and model.scoring == "reconstruction_error"
    assert "log(cosh(5 (x - sigmoid(logits)))) / 5" in model.loss_is and "not a density" in model.loss_is
    assert not {"elbo", "log_likelihood"} & set(model.signatures())
    assert LogCosh.from_config(LogCosh(alpha=5.0).get_config()).alpha == 5.0


@pytest.mark.parametrize("alpha", [0.0, -1.0, "big"])
def test_alpha_is_refused_in_one_line(alpha):
    with pytest.raises(ConfigError, match="alpha") as refused:
        LogCosh(alpha=alpha)
    assert "\n" not in str(refused.value)
