"""The MS-SSIM reconstruction cost (zoo/layers/ms_ssim.py): the per-size table, values against
hand computation and tf.image.ssim_multiscale, NaN-safety, and the gradient the issue asks
for: from the first compiled step, every decoder weight gets a finite, non-zero gradient."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from zoo.config import Recipe, TrainConfig, VAEConfig
from zoo.errors import ConfigError
from zoo.evaluation.evaluate import SCORERS
from zoo.layers.ms_ssim import (K1, TF_POWER_FACTORS, MultiscaleSetting, MultiscaleSSIM, ms_ssim,
                                rescaled_power_factors)
from zoo.models.builder import build

RNG = np.random.default_rng(0)


def images(size, batch=3, binary=False):
    x = RNG.random((batch, size, size, 1))
    return (x < 0.3 if binary else x).astype(np.float32)


def noisy(x, sigma=0.1):
    return np.clip(x + sigma * RNG.standard_normal(x.shape), 0, 1).astype(np.float32)


@pytest.mark.parametrize("size, scales, filter_size", [(8, 2, 3), (28, 4, 3), (32, 4, 3), (64, 5, 3), (176, 5, 11)])
def test_table_of_scales_and_filters(size, scales, filter_size):
    setting = MultiscaleSetting.for_size(size, size)
    assert (setting.scales, setting.filter_size) == (scales, filter_size)
    sides = [size]
    for _ in range(scales - 1):
        sides.append(-(-sides[-1] // 2))
    assert min(sides) >= filter_size  # the coarsest scale still holds the filter
    assert sum(setting.power_factors) == pytest.approx(sum(TF_POWER_FACTORS))


def test_five_scales_use_tfs_own_power_factors_and_fewer_keep_their_ratios():
    assert rescaled_power_factors(5) == pytest.approx(TF_POWER_FACTORS, abs=1e-12)
    two = rescaled_power_factors(2)
    assert two[1] / two[0] == pytest.approx(TF_POWER_FACTORS[1] / TF_POWER_FACTORS[0])


def test_images_too_small_are_refused_in_one_line():
    with pytest.raises(ConfigError, match="at least 5x5") as refused:
        build(VAEConfig(image_shape=(4, 4, 1), network={"type": "mlp", "hidden_units": (8,)},
                        posterior={"type": "diagonal_normal", "latent_dim": 2}, likelihood="ms_ssim"))
    assert "\n" not in str(refused.value)
    assert MultiscaleSetting.for_size(5, 5).scales == 2


@pytest.mark.parametrize("size", [8, 28, 64])
@pytest.mark.parametrize("shifted", [True, False])
def test_an_image_with_itself_scores_one(size, shifted):
    x = images(size)
    np.testing.assert_allclose(ms_ssim(x, x, shifted=shifted), 1.0, atol=1e-6)


@pytest.mark.parametrize("shifted", [True, False])
def test_flat_images_by_hand(shifted):
    """Two flat images a, b: every contrast-structure is (0 + C2) / (0 + C2) = 1 and the last
    SSIM is the luminance l = (2ab + C1) / (a^2 + b^2 + C1), so MS-SSIM = l^w_last (shifted:
    ((l + 1) / 2)^w_last, the contrast factors (1 + 1) / 2 = 1)."""
    a, b = 0.2, 0.7
    x, y = np.full((1, 28, 28, 1), a, np.float32), np.full((1, 28, 28, 1), b, np.float32)
    luminance = (2 * a * b + K1 ** 2) / (a * a + b * b + K1 ** 2)
    factor = (luminance + 1) / 2 if shifted else luminance
    expected = factor ** MultiscaleSetting.for_size(28, 28).power_factors[-1]
    np.testing.assert_allclose(ms_ssim(x, y, shifted=shifted), [expected], rtol=1e-4)  # float32


@pytest.mark.parametrize("size", [28, 64])
def test_equals_tf_ssim_multiscale_with_the_same_setting(size):
    x = images(size)
    y = noisy(x)
    setting = MultiscaleSetting.for_size(size, size)
    expected = tf.image.ssim_multiscale(x, y, 1.0, power_factors=setting.power_factors,
                                        filter_size=setting.filter_size, filter_sigma=setting.filter_sigma)
    np.testing.assert_allclose(ms_ssim(x, y, shifted=False), expected, atol=1e-5)


def test_equals_tf_defaults_where_they_work():
    x = images(176, batch=2)
    y = noisy(x)
    np.testing.assert_allclose(ms_ssim(x, y, shifted=False), tf.image.ssim_multiscale(x, y, 1.0), atol=1e-5)


@pytest.mark.parametrize("size", [8, 28, 64])
def test_random_pairs_cost_something_finite(size):
    """tf's relu makes unlike pairs score exactly 0 (the issue's observation); the cost here is
    never exactly 0 or 1 and never NaN."""
    cost = 1.0 - ms_ssim(images(size, batch=8, binary=True), images(size, batch=8)).numpy()
    assert np.all(np.isfinite(cost)) and np.all(cost > 0) and np.all(cost < 1)


def test_negative_contrast_gives_nan_gradients_in_tf_and_finite_ones_here():
    """x against 1 - x: every contrast-structure is negative. tf clips it to 0 and the slope of
    0^w is infinite, so its gradient is NaN; the shifted factors keep a finite, non-zero one."""
    x = images(28, binary=True)
    target = tf.Variable(1.0 - x)
    setting = MultiscaleSetting.for_size(28, 28)
    with tf.GradientTape(persistent=True) as tape:
        theirs = tf.image.ssim_multiscale(x, target, 1.0, power_factors=setting.power_factors, filter_size=3)
        ours = ms_ssim(x, target)
        unshifted = ms_ssim(x, target, shifted=False)
    assert np.all(theirs.numpy() == 0) and np.all(np.isnan(tape.gradient(theirs, target)))
    gradient = tape.gradient(ours, target).numpy()
    assert np.all(np.isfinite(gradient)) and np.abs(gradient).max() > 0 and np.all(ours.numpy() > 0)
    assert np.all(np.isfinite(tape.gradient(unshifted, target)))


def test_distribution_mean_sample_and_log_prob():
    logits = RNG.standard_normal((2, 3, 28, 28, 1)).astype(np.float32)
    p = MultiscaleSSIM()(logits[0])
    mean = tf.sigmoid(logits[0])
    np.testing.assert_allclose(p.mean(), mean)
    np.testing.assert_allclose(p.sample(seed=1), mean)
    np.testing.assert_allclose(tf.convert_to_tensor(p), mean)
    x = images(28, binary=True)
    np.testing.assert_allclose(p.log_prob(x), ms_ssim(x, mean) - 1.0, rtol=1e-6)
    assert p.event_shape == (28, 28, 1) and p.batch_shape == (3,)
    many = MultiscaleSSIM().distribution(logits)  # [S, B] draws against x[None], as importance sampling asks
    assert many.log_prob(x[None]).shape == (2, 3)
    np.testing.assert_allclose(many.log_prob(x[None])[0], p.log_prob(x), rtol=1e-6)
    assert MultiscaleSSIM.is_density is False


def test_the_model_has_no_likelihood_and_evaluate_scores_its_reconstructions():
    config = VAEConfig(image_shape=(8, 8, 1), network={"type": "mlp", "hidden_units": (8,)},
                       posterior={"type": "diagonal_normal", "latent_dim": 2}, likelihood="ms_ssim")
    model = build(config)
    assert not model.has_likelihood and model.scoring == "reconstruction_error"
    assert "1 - MS-SSIM" in model.loss_is and "not a density" in model.loss_is
    x = images(8, batch=6, binary=True)
    scorer, report = SCORERS[model.scoring]
    scores = scorer(model, Recipe(name="ms_ssim", description="test", model=config, train=TrainConfig(dataset="digits")),
                    x, batch_size=3)
    expected = np.mean((np.asarray(model.reconstruct(x)) - x) ** 2)
    assert scores["reconstruction_mse"] == pytest.approx(expected, rel=1e-5) and "no likelihood" in report(scores)
    assert "neg_log_likelihood" not in scores and "neg_elbo" not in scores


def test_the_export_serves_no_bound(driven):
    """The shared driver's case (tests/driver_cases.py) exported and reloaded with TensorFlow alone."""
    served = driven("vae_mlp_ms_ssim").reload_report["signatures"]
    assert not {"elbo", "log_likelihood"} & set(served)
    assert {"reconstruct", "encode", "decode", "sample"} <= set(served)


def test_gradients_reach_every_decoder_weight_from_the_first_compiled_step():
    """THE GRADIENT TEST (issue 28): one XLA-compiled `fit` step from initialization with plain
    SGD, whose step is -lr * gradient: every decoder variable moves and stays finite, and every
    output pixel's bias moves (no pixel is cut off by a dead scale), with a finite loss."""
    model = build(VAEConfig(image_shape=(28, 28, 1), network={"type": "mlp", "hidden_units": (16,)},
                            posterior={"type": "diagonal_normal", "latent_dim": 3}, likelihood="ms_ssim",
                            objective={"type": "elbo", "beta": 0.01}))
    model.compile(keras.optimizers.SGD(10.0), jit_compile=True, steps_per_execution=1)
    x = images(28, batch=8, binary=True)
    model.build(x.shape)
    before = [v.numpy() for v in model.decoder.trainable_variables]
    assert len(before) >= 4
    history = model.fit(x, batch_size=8, epochs=1, verbose=0, shuffle=False)
    assert np.isfinite(history.history["loss"][0])
    for value, variable in zip(before, model.decoder.trainable_variables):
        after = variable.numpy()
        assert np.all(np.isfinite(after)) and not np.array_equal(value, after), variable.name
    pixel_bias = model.decoder.trainable_variables[-1].numpy() - before[-1]
    assert pixel_bias.shape == (784,) and np.all(pixel_bias != 0)
