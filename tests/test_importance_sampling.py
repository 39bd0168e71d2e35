"""The importance-sampled log p(x) against a linear-Gaussian VAE whose log p(x) is exact."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras as keras

import linear_gaussian
from zoo.config import VAEConfig
from zoo.errors import DataError, ZooError
from zoo.models import importance_sampling
from zoo.models import signatures
from zoo.layers.likelihoods import Gaussian
from zoo.layers.posteriors import DiagonalNormal
from zoo.models.builder import build
from zoo.models.vae import VAE

SIGMA = 0.5
W = np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0], [0.0, 0.0]], np.float32)  # orthogonal columns
B = np.array([0.1, -0.2, 0.3, 0.0], np.float32)


def _linear_gaussian_vae(exact_posterior):
    """p(z) = N(0, I), p(x|z) = N(Wz + b, SIGMA^2 I) on 2x2x1 images, linear encoder.

    With orthogonal columns in W the true posterior is a diagonal Gaussian, so an encoder
    set to it makes every importance weight equal p(x); otherwise q is a wrong guess.
    """
    decoder = keras.Sequential([keras.layers.Dense(4), keras.layers.Reshape((2, 2, 1))])
    decoder.build((None, 2))
    decoder.layers[0].set_weights([W.T, B])
    precision = np.eye(2) + W.T @ W / SIGMA**2
    covariance = np.linalg.inv(precision)
    stddev = np.sqrt(np.diag(covariance)) if exact_posterior else np.array([0.9, 0.3])
    mean_map = covariance @ W.T / SIGMA**2 if exact_posterior else 0.5 * W.T
    kernel = np.concatenate([mean_map.T, np.zeros((4, 2))], axis=1)
    bias = np.concatenate([-mean_map @ B, tfp.math.softplus_inverse(stddev - 1e-5).numpy()])
    encoder = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(4)])
    encoder.build((None, 2, 2, 1))
    encoder.layers[1].set_weights([kernel.astype(np.float32), bias.astype(np.float32)])
    model = VAE(encoder, DiagonalNormal(2), decoder, Gaussian(sigma=SIGMA), image_shape=(2, 2, 1))
    assert model.encoder is encoder and model.decoder is decoder  # composed as given, weights kept
    np.testing.assert_array_equal(model.decoder.layers[0].get_weights()[0], W.T)
    return model


def _exact_log_px(x):
    return linear_gaussian.exact_log_px(x, W, B, SIGMA)


def _images(n=6, seed=0):
    return linear_gaussian.images(n, B, seed)


def test_exact_posterior_gives_exact_log_likelihood_and_no_gap():
    x = _images()
    # K = 10 in chunks of 4: the last chunk overhangs K, and the overhang must not count
    model = _linear_gaussian_vae(True)
    result = importance_sampling.log_likelihood(model, x, 10, (5, 5), chunk_size=4)
    np.testing.assert_allclose(result["log_likelihood"], _exact_log_px(x), atol=1e-4)
    np.testing.assert_allclose(model.log_likelihood(x, samples=10), _exact_log_px(x), atol=1e-4)  # the method
    np.testing.assert_allclose(result["elbo"], _exact_log_px(x), atol=1e-4)
    np.testing.assert_allclose(result["elbo"], -(result["reconstruction"] + result["kl"]), atol=1e-4)


def test_wrong_posterior_bound_tightens_with_samples():
    model, x = _linear_gaussian_vae(False), _images()
    exact = _exact_log_px(x)
    few = importance_sampling.log_likelihood(model, x, 1, (1, 2))
    many = importance_sampling.log_likelihood(model, x, 5000, (1, 2))
    gap_few, gap_many = np.mean(exact - few["log_likelihood"]), np.mean(exact - many["log_likelihood"])
    assert gap_few > 0.5  # a poor q: one sample is a loose bound
    assert abs(gap_many) < 0.05 < gap_few / 10
    assert np.all(many["log_likelihood"] >= many["elbo"])
    kl = tfp.distributions.kl_divergence(model.encode(x), model.prior.distribution()).numpy()
    np.testing.assert_allclose(many["kl"], kl, rtol=0.05)  # 5000-sample KL ~ analytic KL


def test_estimate_of_an_example_does_not_depend_on_its_batch():
    model = build(VAEConfig(image_shape=(8, 8, 1), network={"type": "mlp", "hidden_units": (16,)},
                            posterior={"type": "diagonal_normal", "latent_dim": 3}))
    x = (np.random.default_rng(1).random((5, 8, 8, 1)) < 0.4).astype(np.float32)
    together = signatures.log_likelihood(model, x, num_samples=300)
    alone = signatures.log_likelihood(model, x[3:4], num_samples=300)
    for key in together:
        np.testing.assert_allclose(together[key][3], alone[key][0], rtol=1e-5, err_msg=key)
    assert len(set(np.round(together["log_likelihood"], 4))) == 5


def test_rejects_nonpositive_sample_counts():
    model = _linear_gaussian_vae(True)
    with pytest.raises(ValueError, match="num_samples"):
        importance_sampling.log_likelihood(model, _images(1), 0, (1, 2))


def test_runs_inside_a_tf_function_with_xla():
    model, x = _linear_gaussian_vae(True), _images()
    compiled = tf.function(lambda x: importance_sampling.log_likelihood(model, x, 10, (5, 5), 4), jit_compile=True)
    np.testing.assert_allclose(compiled(x)["log_likelihood"], _exact_log_px(x), atol=1e-4)


def test_per_layer_kls_come_from_the_draws_of_the_total_and_sum_to_it():
    """zoo evaluate's per-layer KLs (a ladder's) are shares of the importance-sampled KL at the
    same K draws, not a separate estimate from other draws."""
    from zoo.config import VAEConfig
    from zoo.evaluation.evaluate import layer_statistics
    from zoo.models.builder import build

    model = build(VAEConfig(image_shape=(8, 8, 1), network={"type": "mlp", "hidden_units": (16,)},
                            posterior={"type": "ladder", "latent_dim": 3, "layers": 2, "hidden_units": (8,)},
                            prior={"type": "top_down", "top": {"type": "standard_normal"}}))
    x = (np.random.default_rng(0).random((6, 8, 8, 1)) < 0.3).astype(np.float32)
    estimates = model.importance_sampled_batches(x, samples=30, batch_size=4)
    assert estimates["kl_per_layer"].shape == (6, 2)
    np.testing.assert_allclose(estimates["kl_per_layer"].sum(axis=1), estimates["kl"], rtol=1e-5, atol=1e-4)
    stats = layer_statistics(model, estimates, np.ones(6))
    assert sum(stats["kl_per_layer"].values()) == pytest.approx(float(estimates["kl"].mean()), abs=1e-3)


def _tiny_vae():
    return build(VAEConfig(image_shape=(8, 8, 1), network={"type": "mlp", "hidden_units": (16,)},
                           posterior={"type": "diagonal_normal", "latent_dim": 2}))


def test_log_likelihood_takes_time_proportional_to_rows():
    """Issue 25, case 10: the signature works through a large request row by row (K draws in
    chunks per row), so 2,000 rows take about 10 times 200 rows' time, not more (a [rows * K]
    tensor would grow faster than the rows)."""
    vae = _tiny_vae()
    signature = tf.function(lambda x: signatures.log_likelihood(vae, x, num_samples=20))
    seconds = {}
    for rows in (200, 2000):
        x = tf.constant((np.random.default_rng(rows).random((rows, 8, 8, 1)) > 0.5).astype(np.float32))
        signature(x)  # traced for this shape
        seconds[rows] = min(_timed(lambda: signature(x)["log_likelihood"].numpy()) for _ in range(3))
    assert seconds[2000] < 25 * seconds[200], seconds


def _timed(run):
    import time
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def test_sample_refuses_a_count_that_is_not_a_whole_number():
    vae = _tiny_vae()
    for count in (2.5, -1, "3", True):
        with pytest.raises(DataError, match=r"^sample\(n\): n is how many images to draw, a whole number >= 0"):
            vae.sample(count)
    assert vae.sample(3.0).shape == (3, 8, 8, 1)


def test_labels_given_to_a_model_without_a_condition_are_refused_in_one_line():
    vae, x = _tiny_vae(), np.zeros((2, 8, 8, 1), np.float32)
    for call in (lambda: vae.sample(2, y=3), lambda: vae.encode(x, y=[1, 2]), lambda: vae.elbo(x, y=[1, 2]),
                 lambda: vae.log_likelihood(x, y=[1, 2], samples=3), lambda: vae.reconstruct(x, y=[1, 2]),
                 lambda: vae.embed(x, y=[1, 2])):
        with pytest.raises(ZooError) as refused:
            call()
        assert str(refused.value) == "this VAE is not conditional: it takes no y (build it with a condition)"
    assert "y" not in vae.signatures()["log_likelihood"].inputs  # the export's signatures take no y
