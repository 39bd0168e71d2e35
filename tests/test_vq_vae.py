"""The VQ-VAE: its quantizer (nearest neighbour, straight-through gradient, losses, EMA
codebook, usage), its autoregressive prior, the model, its saving and export, and its recipes."""

import math

import numpy as np
import pytest
import tensorflow as tf

from harness import assert_config_round_trip
from zoo.errors import ConfigError, ZooError
from zoo.layers.quantizer import VectorQuantizer, VectorQuantizerEMA, perplexity, usage

# The quantizer. -------------------------------------------------------------------------------


def quantizer_with(codebook, ema=False, **kwargs):
    codebook = np.asarray(codebook, np.float32)
    kind = VectorQuantizerEMA if ema else VectorQuantizer
    quantizer = kind(codebook_size=len(codebook), code_dim=codebook.shape[1], **kwargs)
    quantizer.codebook.assign(codebook)
    return quantizer


def test_nearest_neighbour_assignment_matches_numpy():
    rng = np.random.default_rng(0)
    codebook = rng.standard_normal((7, 3)).astype(np.float32)
    z_e = rng.standard_normal((4, 5, 6, 3)).astype(np.float32)
    out = quantizer_with(codebook).quantize(z_e)
    expected = np.argmin(((z_e[..., None, :] - codebook) ** 2).sum(-1), axis=-1)
    np.testing.assert_array_equal(out["codes"], expected)
    assert out["codes"].dtype == tf.int64 and out["codes"].shape == (4, 5, 6)
    np.testing.assert_allclose(out["quantized"], codebook[expected], rtol=1e-6, atol=1e-6)


def test_straight_through_gradient_reaches_the_encoder_output_unchanged():
    """d loss / d z_e equals d loss / d quantized for any loss of the quantized tensor."""
    rng = np.random.default_rng(1)
    quantizer = quantizer_with(rng.standard_normal((5, 2)))
    z_e = tf.Variable(rng.standard_normal((3, 2, 2, 2)).astype(np.float32))
    weights = tf.constant(rng.standard_normal((3, 2, 2, 2)).astype(np.float32))
    with tf.GradientTape(persistent=True) as tape:
        quantized = quantizer(z_e)
        loss = tf.reduce_sum(weights * quantized ** 2)
    np.testing.assert_allclose(tape.gradient(loss, z_e), tape.gradient(loss, quantized), rtol=1e-6)
    np.testing.assert_allclose(tape.gradient(loss, quantized), 2 * weights * quantized, rtol=1e-6)
    assert tape.gradient(loss, quantizer.codebook) is None  # the value path does not train the codebook


def test_codebook_and_commitment_losses_by_hand():
    codebook = [[0.0, 0.0], [1.0, 1.0], [3.0, -1.0]]
    z_e = np.array([[[0.2, -0.1], [0.9, 1.3]], [[2.0, -2.0], [2.5, 0.0]]], np.float32)  # [B=2, positions=2, D=2]
    quantizer = quantizer_with(codebook, beta=0.25)
    z = tf.Variable(z_e)
    with tf.GradientTape(persistent=True) as tape:
        out = quantizer.quantize(z, training=True)
        codebook_loss, commitment = tf.reduce_sum(out["codebook_loss"]), tf.reduce_sum(out["commitment_loss"])
    np.testing.assert_array_equal(out["codes"], [[0, 1], [2, 2]])
    # Squared distances to the chosen codes, summed over each example's positions and values.
    first = (0.2 ** 2 + 0.1 ** 2) + (0.1 ** 2 + 0.3 ** 2)
    second = (1.0 ** 2 + 1.0 ** 2) + (0.5 ** 2 + 1.0 ** 2)
    np.testing.assert_allclose(out["codebook_loss"], [first, second], rtol=1e-6)
    np.testing.assert_allclose(out["commitment_loss"], [first, second], rtol=1e-6)
    np.testing.assert_allclose(quantizer.loss(out), [1.25 * first, 1.25 * second], rtol=1e-6)
    np.testing.assert_array_equal(out["counts"], [1, 1, 2])
    # The codebook loss trains only the codebook, the commitment loss only the encoder output.
    assert tape.gradient(codebook_loss, z) is None and tape.gradient(commitment, quantizer.codebook) is None
    np.testing.assert_allclose(tape.gradient(commitment, z), 2 * (z_e - np.asarray(codebook)[[[0, 1], [2, 2]]]),
                               rtol=1e-6)
    expected = np.zeros((3, 2), np.float32)
    for code, vector in ((0, z_e[0, 0]), (1, z_e[0, 1]), (2, z_e[1, 0]), (2, z_e[1, 1])):
        expected[code] += 2 * (np.asarray(codebook[code]) - vector)
    np.testing.assert_allclose(tf.convert_to_tensor(tape.gradient(codebook_loss, quantizer.codebook)), expected,
                               rtol=1e-6)


def test_ema_update_of_one_and_two_steps_by_hand():
    codebook = np.array([[0.0, 0.0], [1.0, 1.0], [5.0, 5.0]], np.float32)
    quantizer = quantizer_with(codebook, ema=True, decay=0.9, epsilon=0.01, beta=0.5)
    assert not quantizer.codebook.trainable and quantizer.trainable_weights == []
    z_e = np.array([[[0.2, 0.0], [0.0, -0.4], [1.2, 0.8]]], np.float32)  # codes 0, 0, 1; code 2 unused
    out = quantizer.quantize(z_e, training=True)
    np.testing.assert_array_equal(out["codes"], [[0, 0, 1]])
    np.testing.assert_allclose(out["quantized"], codebook[[[0, 0, 1]]])  # looked up before the update
    np.testing.assert_allclose(quantizer.loss(out), 0.5 * out["commitment_loss"])

    def smoothed(counts, epsilon=0.01):
        n = counts.sum()
        return (counts + epsilon) / (n + 3 * epsilon) * n

    # Step 1: the debiased averages are this batch's counts and sums.
    counts, sums = np.array([2.0, 1.0, 0.0]), np.array([[0.2, -0.4], [1.2, 0.8], [0.0, 0.0]])
    np.testing.assert_allclose(quantizer.codebook, sums / smoothed(counts)[:, None], rtol=1e-5)
    np.testing.assert_array_equal(quantizer.codebook[2], [0.0, 0.0])  # a code nobody chose falls to zero
    # Step 2: hidden <- 0.9 hidden + 0.1 value, divided by 1 - 0.9^2.
    z_two = np.array([[[4.0, 6.0], [0.5, 0.5]]], np.float32)
    second = quantizer.quantize(z_two, training=True)
    np.testing.assert_array_equal(second["codes"], [[1, 2]])  # (0.5, 0.5) is nearest to the zeroed code
    hidden_counts = 0.9 * (0.1 * counts) + 0.1 * np.array([0.0, 1.0, 1.0])
    hidden_sums = 0.9 * (0.1 * sums) + 0.1 * np.array([[0.0, 0.0], [4.0, 6.0], [0.5, 0.5]])
    debias = 1 - 0.9 ** 2
    np.testing.assert_allclose(quantizer.codebook,
                               (hidden_sums / debias) / smoothed(hidden_counts / debias)[:, None], rtol=1e-5)
    before = quantizer.codebook.numpy()
    quantizer.quantize(z_two, training=False)  # scoring leaves the codebook alone
    np.testing.assert_array_equal(quantizer.codebook.numpy(), before)


def test_perplexity_and_dead_codes_of_a_known_assignment():
    counts = np.array([6, 2, 0, 2, 0], np.float32)
    p = np.array([0.6, 0.2, 0.2])
    expected = math.exp(-np.sum(p * np.log(p)))
    assert usage(counts) == pytest.approx({"perplexity": expected, "dead_codes": 2, "codes_used": 3})
    np.testing.assert_allclose(perplexity(counts), expected, rtol=1e-6)
    assert usage(np.full(8, 3.0))["perplexity"] == pytest.approx(8.0)
    assert usage([0, 0, 9, 0])["perplexity"] == pytest.approx(1.0) and usage([0, 0, 9, 0])["dead_codes"] == 3
    np.testing.assert_allclose(perplexity(tf.constant([0.0, 4.0])), 1.0)


def test_quantizers_round_trip_their_config():
    again = assert_config_round_trip(VectorQuantizer(codebook_size=9, code_dim=3, beta=0.5))
    assert (again.codebook_size, again.code_dim, again.beta) == (9, 3, 0.5)
    again = assert_config_round_trip(VectorQuantizerEMA(codebook_size=9, code_dim=3, decay=0.95, epsilon=1e-3))
    assert (again.decay, again.epsilon) == (0.95, 1e-3) and again.ema


def test_quantizer_refuses_bad_arguments_and_codes_in_one_line():
    for kwargs, field in (({"codebook_size": 1}, "codebook_size"), ({"code_dim": 0}, "code_dim"),
                          ({"beta": -1.0}, "beta")):
        with pytest.raises(ConfigError, match=field):
            VectorQuantizer(**kwargs)
    with pytest.raises(ConfigError, match="decay"):
        VectorQuantizerEMA(decay=1.0)
    quantizer = VectorQuantizer(codebook_size=4, code_dim=2)
    with pytest.raises(ZooError, match="code_dim=2"):
        quantizer(tf.zeros([1, 3, 3, 5]))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"codes must lie in 0..3"):
        quantizer.lookup(tf.constant([[1, 4]]))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"codes must lie in 0..3"):
        quantizer.lookup(tf.constant([[-1, 0]]))
