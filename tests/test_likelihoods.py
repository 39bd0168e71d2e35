"""The observation models of issue 4: known values, normalization, and a VAE built on each."""


import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from zoo.config import Recipe, TrainConfig, VAEConfig
from zoo.errors import ConfigError
from zoo.export import serving
from zoo.layers.likelihoods import (LIKELIHOODS, Bernoulli, Categorical256, ContinuousBernoulli, DiscretizedLogistic,
                                    Gaussian, ImageLikelihood)
from zoo.models.builder import build


def _tiny(likelihood, network="mlp", sigma="learned", image_shape=(28, 28, 1)):
    """A VAE with a tiny torso and 3 latents on `likelihood` (with `sigma` if Gaussian)."""
    torso = {"type": "mlp", "hidden_units": (16,)} if network == "mlp" else {"type": "conv", "conv_filters": (4, 8)}
    spec = {"type": likelihood, "sigma": sigma} if likelihood == "gaussian" else {"type": likelihood}
    return build(VAEConfig(image_shape=image_shape, network=torso, likelihood=spec,
                           posterior={"type": "diagonal_normal", "latent_dim": 3}))

LEVELS = np.arange(256)
ALL_VALUES = (LEVELS / 255).astype(np.float32)
EIGHT_BIT = ["categorical256", "discretized_logistic"]


def _sigmoid(t):
    return 1 / (1 + np.exp(-t))


@pytest.mark.parametrize("pixels", ["binary", "grey"])
def test_bernoulli_log_prob_is_tfps_and_the_cross_entropy_by_hand(pixels):
    rng = np.random.default_rng(0)
    logits = (rng.standard_normal((3, 4, 4, 1)) * 8).astype(np.float32)
    logits[0, 0, 0, 0], logits[0, 0, 1, 0] = 40.0, -40.0
    x = rng.random(logits.shape).astype(np.float32)
    if pixels == "binary":
        x = (x < 0.5).astype(np.float32)
    l64 = logits.astype(np.float64)
    expected = np.sum(x * l64 - np.logaddexp(0, l64), axis=(1, 2, 3))
    p = Bernoulli()(tf.constant(logits))
    np.testing.assert_allclose(p.log_prob(x), expected, rtol=1e-6)
    tfp_bernoulli = tfp.distributions.Independent(tfp.distributions.Bernoulli(logits=logits, dtype=tf.float32), 3)
    np.testing.assert_allclose(p.log_prob(x), tfp_bernoulli.log_prob(x), rtol=1e-6)


def test_continuous_bernoulli_log_prob_by_hand():
    logits = np.array([[[[0.0, 0.7], [-2.5, 4.0]]]], np.float32)  # [1, 1, 2, 2]
    x = np.array([[[[0.3, 1.0], [0.0, 0.55]]]], np.float32)
    lam = _sigmoid(logits.astype(np.float64))
    safe = np.where(lam == 0.5, 0.25, lam)  # C(0.5) = 2 is the limit of the formula
    log_c = np.where(lam == 0.5, np.log(2.0), np.log(2 * np.arctanh(1 - 2 * safe) / (1 - 2 * safe)))
    expected = np.sum(x * np.log(lam) + (1 - x) * np.log(1 - lam) + log_c)
    p = ContinuousBernoulli()(tf.constant(logits))
    assert p.event_shape == (1, 2, 2) and p.batch_shape == (1,) and not ContinuousBernoulli.discrete
    np.testing.assert_allclose(p.log_prob(x), [expected], rtol=1e-5)
    assert set(ContinuousBernoulli().export_parameters(p)) == {"x_logits"}


def test_continuous_bernoulli_is_a_density_on_the_unit_interval():
    logits = tf.constant([[[[-6.0, -0.4, 0.0, 1e-3, 2.0, 9.0]]]])
    pixels = ContinuousBernoulli()(logits).distribution
    grid = np.linspace(0, 1, 20001, dtype=np.float32)
    density = np.exp(pixels.log_prob(grid[:, None, None, None, None]).numpy())[:, 0, 0, 0]  # [G, 6]
    np.testing.assert_allclose(np.trapezoid(density, grid, axis=0), 1.0, atol=1e-4)
    mean = np.trapezoid(density * grid[:, None], grid, axis=0)
    np.testing.assert_allclose(pixels.mean()[0, 0, 0], mean, atol=1e-4)  # not sigmoid(logits)


def test_per_pixel_sigma_log_prob_by_hand_and_gradients():
    layer = Gaussian(sigma="per_pixel")
    loc = np.random.default_rng(0).random((4, 2, 3, 1)).astype(np.float32)
    x = np.random.default_rng(1).random((4, 2, 3, 1)).astype(np.float32)
    layer(tf.constant(loc))
    assert layer.log_sigma.shape == (2, 3, 1) and layer.trainable_weights == [layer.log_sigma]
    np.testing.assert_array_equal(layer.log_sigma, 0.0)  # every scale starts at 1
    log_sigma = np.random.default_rng(2).normal(size=(2, 3, 1)).astype(np.float32)
    log_sigma[0, 0, 0] = -20.0  # below the floor
    layer.log_sigma.assign(log_sigma)
    scale = np.exp(np.maximum(log_sigma, np.log(Gaussian.MIN_SIGMA)))
    expected = np.sum(-0.5 * ((x - loc) / scale) ** 2 - np.log(scale) - 0.5 * np.log(2 * np.pi), axis=(1, 2, 3))
    with tf.GradientTape() as tape:
        p = layer(tf.constant(loc))
        log_prob = p.log_prob(x)
        total = tf.reduce_sum(log_prob)
    np.testing.assert_allclose(log_prob, expected, rtol=1e-5)
    grad = tape.gradient(total, layer.log_sigma).numpy()
    assert grad[0, 0, 0] == 0 and np.all(grad.ravel()[1:] != 0)  # floored: no gradient there
    np.testing.assert_allclose(layer.export_parameters(p)["x_scale"], np.broadcast_to(scale, loc.shape), rtol=1e-6)


def test_per_pixel_sigma_is_a_model_weight_of_image_shape():
    model = _tiny("gaussian", sigma="per_pixel", image_shape=(8, 8, 1))
    assert model.likelihood.log_sigma.shape == (8, 8, 1)
    assert any(w is model.likelihood.log_sigma for w in model.trainable_weights)


def _eight_bit_cases():
    """(likelihood, decoder output [1, 1, 1, C * K]) for random and extreme parameters."""
    rng = np.random.default_rng(0)
    locs = np.array([-3.0, 0.0, 0.002, 0.5, 0.73, 1.0, 4.0, 0.5, 0.2, 0.9])
    log_scales = np.array([-2.0, -3.0, -9.0, -7.0, -6.5, 0.0, -1.0, 8.0, 2.0, -4.0])
    logistic = np.stack([locs, log_scales], axis=-1).reshape(1, 1, 1, -1)
    return [
        ("categorical256", rng.normal(size=(1, 1, 1, 3 * 256))),
        ("categorical256", 30 * rng.normal(size=(1, 1, 1, 2 * 256))),
        ("discretized_logistic", logistic),
        ("discretized_logistic", rng.normal(size=(1, 1, 1, 4 * 2))),
    ]


def _hand_probabilities(likelihood, params):
    """p(k) for every k, per channel: [C, 256], in float64."""
    if likelihood == "categorical256":
        logits = params.reshape(-1, 256)
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    loc, log_scale = params.reshape(-1, 2).T
    scale = np.exp(np.maximum(log_scale, DiscretizedLogistic.MIN_LOG_SCALE))[:, None]
    cdf = _sigmoid((np.concatenate([(LEVELS[:-1] + 0.5) / 255, [np.inf]]) - loc[:, None]) / scale)
    return np.diff(cdf, prepend=0.0, axis=1)  # edge bins take the tails


@pytest.mark.parametrize("case", range(len(_eight_bit_cases())))
def test_eight_bit_log_prob_mean_and_normalization_by_hand(case):
    likelihood, params = _eight_bit_cases()[case]
    layer = LIKELIHOODS.get(likelihood)()
    assert layer.discrete and layer.levels == 256
    p = layer(tf.constant(params, tf.float32))
    channels = params.shape[-1] // layer.params_per_pixel
    assert p.event_shape == (1, 1, channels) and p.batch_shape == (1,)
    log_probs = p.distribution.log_prob(ALL_VALUES[:, None, None, None, None]).numpy()[:, 0, 0, 0].T  # [C, 256]
    assert np.all(np.isfinite(log_probs))
    np.testing.assert_allclose(np.exp(log_probs).sum(axis=1), 1.0, rtol=1e-5)
    expected = _hand_probabilities(likelihood, params)
    np.testing.assert_allclose(np.exp(log_probs), expected, rtol=1e-4, atol=1e-6)  # float32 parameters
    likely = expected > 1e-6
    np.testing.assert_allclose(log_probs[likely], np.log(expected[likely]), atol=2e-4)
    np.testing.assert_allclose(p.mean()[0, 0, 0], expected @ (LEVELS / 255), atol=1e-5)
    nudged = ALL_VALUES + np.float32(0.4 / 255)  # log_prob rounds x * 255 to the nearest k
    np.testing.assert_allclose(p.distribution.log_prob(nudged[:255, None, None, None, None]).numpy()[:, 0, 0, 0].T,
                               log_probs[:, :255], rtol=1e-6)


@pytest.mark.parametrize("likelihood", EIGHT_BIT)
def test_eight_bit_samples_are_levels_drawn_with_their_probabilities(likelihood):
    params = next(params for name, params in _eight_bit_cases() if name == likelihood)
    p = LIKELIHOODS.get(likelihood)()(tf.constant(params, tf.float32))
    x = p.sample(20000, seed=(4, 2)).numpy()[:, 0, 0, 0]  # [N, C]
    assert x.dtype == np.float32 and x.min() >= 0 and x.max() <= 1
    k = np.round(x * 255)
    np.testing.assert_allclose(x, k / 255, atol=1e-7)
    frequencies = np.stack([np.bincount(k[:, c].astype(int), minlength=256) for c in range(k.shape[1])]) / len(k)
    np.testing.assert_allclose(frequencies, _hand_probabilities(likelihood, params), atol=0.015)


def test_discretized_logistic_log_prob_needs_no_bins():
    """log p(x) of a batch builds no [..., 256] tensor (only sampling and the mean do)."""
    layer = DiscretizedLogistic()
    graph = tf.function(lambda params, x: layer.distribution(params).log_prob(x)).get_concrete_function(
        tf.TensorSpec([None, 28, 28, 2]), tf.TensorSpec([None, 28, 28, 1])).graph
    shapes = [tuple(out.shape) for op in graph.get_operations() for out in op.outputs if out.shape.rank]
    assert not any(256 in shape for shape in shapes)


def test_export_parameters_of_eight_bit_models():
    params = tf.random.stateless_normal([2, 3, 3, 2 * 256], seed=(1, 1))
    p = Categorical256()(params)
    logits = Categorical256().export_parameters(p)["x_logits"]
    assert logits.shape == (2, 3, 3, 2, 256)
    np.testing.assert_array_equal(logits[..., 1, :], params[..., 256:])  # channel c owns c*256 .. c*256+255
    p = DiscretizedLogistic()(params[..., :4])
    exported = DiscretizedLogistic().export_parameters(p)
    np.testing.assert_array_equal(exported["x_loc"], params[..., 0:4:2])
    np.testing.assert_array_equal(exported["x_log_scale"], np.maximum(params[..., 1:4:2], -7.0))


@pytest.mark.parametrize("likelihood, sigma", [
    ("continuous_bernoulli", "learned"), ("gaussian", "per_pixel"),
    ("categorical256", "learned"), ("discretized_logistic", "learned"),
])
@pytest.mark.parametrize("network", ["mlp", "conv"])
def test_vae_on_each_new_likelihood(network, likelihood, sigma):
    model = _tiny(likelihood, network, sigma)
    x = model.likelihood.example_pixels(np.random.default_rng(0), (2, 28, 28, 1)).astype(np.float32)
    p = model(x)
    assert p.event_shape == (28, 28, 1) and p.batch_shape == (2,)
    log_prob = p.log_prob(x).numpy()
    assert log_prob.shape == (2,) and np.all(np.isfinite(log_prob))
    if model.likelihood.discrete:
        assert np.all(log_prob < 0)
    mean = tf.convert_to_tensor(p).numpy()
    assert mean.shape == (2, 28, 28, 1) and (likelihood == "gaussian" or 0 <= mean.min() <= mean.max() <= 1)


@pytest.mark.parametrize("likelihood, values", [
    (Bernoulli, {0.0, 1.0}), (Categorical256, set(ALL_VALUES.tolist())), (DiscretizedLogistic, set(ALL_VALUES.tolist())),
])
def test_example_pixels_are_values_the_model_can_score(likelihood, values):
    x = likelihood.example_pixels(np.random.default_rng(0), (400, 5)).astype(np.float32)
    assert set(np.unique(x).tolist()) <= values and len(np.unique(x)) > 1
    grey = ImageLikelihood.example_pixels(np.random.default_rng(0), (400,))
    assert 0 <= grey.min() and grey.max() <= 1 and len(np.unique(grey)) == 400


def test_warmup_requests_ask_the_likelihood_for_pixels():
    model = _tiny("categorical256")
    logs = serving.warmup_requests(model, "m")
    x = tf.make_ndarray(logs[0].predict_log.request.inputs["x"])
    assert x.dtype == np.float32 and x.shape == (2, 28, 28, 1)
    np.testing.assert_allclose(x * 255, np.round(x * 255), atol=1e-4)
    assert len(np.unique(x)) > 2  # grey levels, not only 0/1
