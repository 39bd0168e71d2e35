"""The VQ-VAE: its quantizer (nearest neighbour, straight-through gradient, losses, EMA
codebook, usage), its autoregressive prior, the model, its saving and export, and its recipes."""

import json
import math

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from harness import assert_config_round_trip
from recipes import RECIPES
from test_cli import zoo_here
from zoo import cli
from zoo.config import Recipe
from zoo.data import DATASETS
from zoo.errors import ConfigError, DataError, ZooError
from zoo.layers.code_prior import PixelCNNPrior
from zoo.layers.likelihoods import Bernoulli
from zoo.layers.networks import Conv
from zoo.layers.quantizer import VectorQuantizer, VectorQuantizerEMA, perplexity, usage
from zoo.models.builder import build
from zoo.models.vq_vae import VQVAE

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


def test_ema_restarts_codes_used_less_than_the_threshold_at_batch_vectors():
    codebook = np.array([[0.0, 0.0], [1.0, 1.0], [5.0, 5.0], [9.0, -9.0]], np.float32)
    quantizer = quantizer_with(codebook, ema=True, decay=0.9, epsilon=0.01, restart_threshold=1.5)
    z_e = np.array([[[0.2, 0.0], [0.0, -0.4], [1.2, 0.8], [4.0, 5.0]]], np.float32)  # codes 0, 0, 1, 2
    quantizer.quantize(z_e, training=True)
    # Debiased counts after one step are the batch's: 2, 1, 1, 0. Below 1.5: codes 1, 2 and 3.
    np.testing.assert_allclose(quantizer.codebook[0], np.array([0.2, -0.4]) / (2.01 / 4.04 * 4), rtol=1e-5)  # kept
    vectors = {tuple(v) for v in z_e.reshape(-1, 2)}
    for code in (1, 2, 3):
        assert tuple(quantizer.codebook[code].numpy()) in vectors, code  # moved onto an encoder output
    debias = 1 - 0.9
    np.testing.assert_allclose(quantizer.count_average.numpy() / debias, [2.0, 1.5, 1.5, 1.5], rtol=1e-5)
    np.testing.assert_allclose(quantizer.sum_average.numpy()[1:] / debias, 1.5 * quantizer.codebook.numpy()[1:],
                               rtol=1e-5)
    again = quantizer_with(codebook, ema=True, decay=0.9, epsilon=0.01, restart_threshold=1.5)
    again.quantize(z_e, training=True)
    np.testing.assert_array_equal(again.codebook, quantizer.codebook)  # the draw is seeded by the step


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
    again = assert_config_round_trip(VectorQuantizerEMA(codebook_size=9, code_dim=3, decay=0.95, epsilon=1e-3,
                                                        restart_threshold=0.5))
    assert (again.decay, again.epsilon, again.restart_threshold) == (0.95, 1e-3, 0.5) and again.ema


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


# The model. -----------------------------------------------------------------------------------

def tiny_vq(ema=False, image_shape=(8, 8, 1), codebook_size=6, code_dim=3, likelihood=None, seed=0):
    """A VQ-VAE of 8x8 images on a 2x2 grid of codes, built from the zoo's conv torsos."""
    keras.utils.set_random_seed(seed)
    network = Conv((4, 8))
    quantizer = (VectorQuantizerEMA if ema else VectorQuantizer)(codebook_size, code_dim)
    likelihood = likelihood or Bernoulli()
    return VQVAE(network.grid_encoder(image_shape, code_dim), quantizer,
                 network.grid_decoder(image_shape, code_dim, likelihood.params_shape(image_shape)[-1]),
                 likelihood, PixelCNNPrior(filters=8, blocks=1))


def binary_images(count=40, shape=(8, 8, 1), seed=0):
    """Images with structure to learn: a random bright square on a dark background."""
    rng = np.random.default_rng(seed)
    x = np.zeros((count, *shape), np.float32)
    for image, (top, left) in zip(x, rng.integers(0, shape[0] - 3, (count, 2))):
        image[top:top + 4, left:left + 4] = 1.0
    return x


def test_fit_trains_the_autoencoder_on_the_loss_it_reports_and_leaves_the_prior_alone():
    model = tiny_vq()
    assert model.grid_shape == (2, 2) and model.code_shape == (2, 2, 3)
    x = binary_images(200)
    model.compile(keras.optimizers.Adam(1e-2))
    prior_before = [w.numpy() for w in model.prior.weights]
    encoder_before = [w.numpy() for w in model.encoder.weights]
    first = model.evaluate(x, batch_size=20, return_dict=True, verbose=0)
    history = model.fit(x, batch_size=20, epochs=4, verbose=0).history
    after = model.evaluate(x, batch_size=20, return_dict=True, verbose=0)
    assert after["reconstruction"] < first["reconstruction"] - 3, (first, after)
    assert history["loss"][-1] < history["loss"][0]
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(prior_before, model.prior.weights))
    assert not all(np.array_equal(a, w.numpy()) for a, w in zip(encoder_before, model.encoder.weights))
    assert model.epochs_trained.numpy() == 4 and model.prior_epochs_trained.numpy() == 0
    # The reported loss is the objective computed by hand from its parts, nothing counted twice.
    terms = model.terms(tf.constant(x))
    np.testing.assert_allclose(after["loss"], float(tf.reduce_mean(terms["reconstruction"] + terms["codebook"]
                                                                    + 0.25 * terms["commitment"])), rtol=1e-5)
    reconstruction = -model.decode(model.encode(x)).log_prob(x)
    np.testing.assert_allclose(terms["reconstruction"], reconstruction, rtol=1e-5)
    # The untrained prior is uniform: KL = -log p(k) = H' W' log K for every image.
    assert after["kl"] == pytest.approx(4 * math.log(6), rel=1e-6)
    assert 1 <= after["perplexity"] <= 6


def test_fit_with_an_ema_codebook_moves_the_codebook_without_the_optimizer():
    model = tiny_vq(ema=True)
    model.compile(keras.optimizers.Adam(3e-3))
    before = model.quantizer.codebook.numpy()
    assert all(v.ref() not in {model.quantizer.codebook.ref()} for v in model.autoencoder_variables())
    model.fit(binary_images(), batch_size=20, epochs=2, verbose=0)
    assert not np.array_equal(before, model.quantizer.codebook.numpy())
    assert model.quantizer.ema_updates.numpy() == 4


def test_fit_prior_learns_the_codes_and_the_elbo_is_its_two_terms():
    model = tiny_vq()
    x = binary_images()
    model.compile(keras.optimizers.Adam(3e-3))
    model.fit(x, batch_size=20, epochs=5, verbose=0)
    autoencoder = [v.numpy() for v in model.autoencoder_variables()]
    uniform = 4 * math.log(6)
    history = model.fit_prior(x, epochs=15, batch_size=20, learning_rate=1e-2, verbose=0).history
    assert history["loss"][0] < uniform + 1e-3 and history["loss"][-1] < uniform - 1.0, history["loss"]
    assert all(np.array_equal(a, v.numpy()) for a, v in zip(autoencoder, model.autoencoder_variables()))
    assert model.prior_epochs_trained.numpy() == 15
    codes = model.encode(x)
    assert codes.dtype == tf.int64 and codes.shape == (40, 2, 2)
    np.testing.assert_array_equal(codes, model.codes_of(x, batch_size=7))
    reconstruction, kl = model.elbo_terms(x)
    np.testing.assert_allclose(kl, -model.prior.log_prob(codes), rtol=1e-6)
    np.testing.assert_allclose(model.elbo(x), -(reconstruction + kl), rtol=1e-6)
    assert float(tf.reduce_mean(kl)) < uniform - 1.0
    evaluated = model.evaluate(x, batch_size=20, return_dict=True, verbose=0)
    assert evaluated["kl"] == pytest.approx(float(tf.reduce_mean(kl)), rel=1e-5)
    np.testing.assert_allclose(model.bits_per_dim(x), -model.elbo(x) / (64 * math.log(2)), rtol=1e-6)
    usage_now = model.codebook_usage(x)
    counts = np.bincount(codes.numpy().ravel(), minlength=6)
    assert usage_now == usage(counts)


class _StopAt(keras.callbacks.Callback):
    """Stands for a killed process: raises as epoch `epoch` begins (the one before is backed up)."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


def test_fit_prior_backs_up_each_epoch_and_a_stopped_fit_resumes_after_it(tmp_path):
    """A fit_prior stopped after 2 of 4 epochs, then called again with the same backup_dir,
    runs only epochs 3 and 4, from the backed-up prior and optimizer: it ends where an
    unstopped fit ends (each epoch's batches are shuffled by its own seed)."""
    x = binary_images()
    states = []
    for stop in (None, 2):
        model = tiny_vq()
        model.compile(keras.optimizers.Adam(3e-3))
        model.fit(x, batch_size=20, epochs=2, verbose=0, shuffle=False)
        backup = str(tmp_path / f"backup{stop}")
        keras.utils.set_random_seed(1)
        if stop is not None:
            with pytest.raises(KeyboardInterrupt):
                model.fit_prior(x, epochs=4, batch_size=20, verbose=0, backup_dir=backup, callbacks=[_StopAt(stop)])
            assert model.prior_epochs_trained.numpy() == 2
            model.prior_epochs_trained.assign(0.0)  # a new process: the count comes back from the epochs left
            keras.utils.set_random_seed(1)
        history = model.fit_prior(x, epochs=4, batch_size=20, verbose=0, backup_dir=backup).history
        assert len(history["loss"]) == (4 if stop is None else 2)
        assert model.prior_epochs_trained.numpy() == 4
        states.append([w.numpy() for w in model.prior.weights])
    for whole, resumed in zip(*states):
        np.testing.assert_allclose(resumed, whole, rtol=1e-4, atol=1e-5)


def test_the_model_refuses_parts_and_images_that_do_not_fit_in_one_line():
    network = Conv((4, 8))
    with pytest.raises(ZooError, match=r"needs a grid of vectors \(height, width, 3\).*Conv2D\(3, 1\)"):
        VQVAE(network.grid_encoder((8, 8, 1), 5), VectorQuantizer(6, 3), network.grid_decoder((8, 8, 1), 3, 1),
              Bernoulli(), image_shape=(8, 8, 1))
    with pytest.raises(ZooError, match="VQVAE quantizer: expected"):
        VQVAE(network.grid_encoder((8, 8, 1), 3), "vq", network.grid_decoder((8, 8, 1), 3, 1), Bernoulli())
    with pytest.raises(ZooError, match=r"the decoder outputs \(8, 8, 2\) per grid; Bernoulli needs \(8, 8, 1\)"):
        VQVAE(network.grid_encoder((8, 8, 1), 3), VectorQuantizer(6, 3), network.grid_decoder((8, 8, 1), 3, 2),
              Bernoulli())
    model = tiny_vq()
    model.compile(keras.optimizers.Adam(1e-3))
    with pytest.raises(DataError, match="uint8"):
        model.fit(np.zeros((4, 8, 8, 1), np.uint8), verbose=0)
    with pytest.raises(DataError, match="Bernoulli models pixels in"):
        model.codes_of(np.full((4, 8, 8, 1), 3.0, np.float32))


# The prior over codes. ------------------------------------------------------------------------

def random_prior(codebook_size=5, grid_shape=(4, 4), blocks=3, seed=0):
    """An attached prior with random weights everywhere (its logits start at zero otherwise)."""
    keras.utils.set_random_seed(seed)
    prior = PixelCNNPrior(filters=8, blocks=blocks)
    prior.attach(codebook_size, grid_shape)
    rng = np.random.default_rng(seed)
    for weight in prior.weights:
        weight.assign(rng.normal(0, 0.2, weight.shape).astype(np.float32))  # larger saturates the gates
    return prior


def test_the_prior_is_autoregressive_in_raster_order_with_no_blind_spot():
    """Changing the code at one position never changes the logits at that position or any
    before it, and changes those of every later position (4 layers see a 4x4 grid whole)."""
    prior = random_prior()
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 5, (1, 4, 4))
    base = prior.logits(codes).numpy().reshape(16, 5)
    for position in range(16):
        changed = codes.copy().reshape(16)
        changed[position] = (changed[position] + 1) % 5
        logits = prior.logits(changed.reshape(1, 4, 4)).numpy().reshape(16, 5)
        moved = np.abs(logits - base).max(axis=-1) > 1e-7
        assert not moved[:position + 1].any(), (position, np.flatnonzero(moved))
        assert moved[position + 1:].all(), (position, np.flatnonzero(~moved))


def test_an_untrained_prior_is_uniform():
    prior = PixelCNNPrior(filters=8, blocks=1)
    prior.attach(7, (3, 2))
    codes = np.random.default_rng(0).integers(0, 7, (4, 3, 2))
    np.testing.assert_allclose(prior.log_prob(codes), np.full(4, -6 * math.log(7)), rtol=1e-6)


def test_prior_samples_have_the_right_shape_range_and_frequencies():
    prior = PixelCNNPrior(filters=8, blocks=1)
    prior.attach(3, (2, 2))
    probabilities = np.array([0.5, 0.3, 0.2])
    prior.output_logits.bias.assign(np.log(probabilities).astype(np.float32))  # the same p at every position
    seeds = tf.stack([tf.range(300), tf.fill([300], 7)], axis=1)
    codes = prior.sample(seeds).numpy()
    assert codes.shape == (300, 2, 2) and codes.dtype == np.int64 and codes.min() >= 0 and codes.max() <= 2
    frequencies = np.bincount(codes.ravel(), minlength=3) / codes.size
    np.testing.assert_allclose(frequencies, probabilities, atol=0.05)  # 1200 draws: s.e. < 0.015
    # Each row depends on its own seed only: the same seed alone or among others gives the same grid.
    np.testing.assert_array_equal(prior.sample(seeds[5:6]), codes[5:6])
    np.testing.assert_array_equal(prior.sample(tf.reverse(seeds[:10], [0])), codes[:10][::-1])
    assert len({tuple(c.ravel()) for c in codes}) > 30


def test_prior_samples_follow_the_codes_drawn_before_them():
    """The draw, recomputed position by position in Python: each code is argmax(logits given
    the codes drawn so far + the row's Gumbel noise at that position)."""
    prior = random_prior(codebook_size=4, grid_shape=(3, 3), blocks=2, seed=3)
    prior.output_logits.kernel.assign(prior.output_logits.kernel * 20.0)
    seeds = tf.constant([[1, 2], [3, 4]])
    codes = prior.sample(seeds).numpy()
    tiny = np.finfo(np.float32).tiny
    for row, seed in enumerate(seeds):
        noise = -np.log(-np.log(tf.random.stateless_uniform([9, 4], seed, minval=tiny, maxval=1.0).numpy()))
        drawn = np.zeros((1, 3, 3), np.int64)
        for position in range(9):
            logits = prior.logits(drawn).numpy().reshape(9, 4)[position]
            drawn.reshape(9)[position] = np.argmax(logits + noise[position])
        np.testing.assert_array_equal(codes[row], drawn[0])
    assert len(np.unique(codes)) > 1


def test_prior_config_round_trip_and_refusals():
    again = assert_config_round_trip(PixelCNNPrior(filters=12, blocks=2, kernel_size=5))
    assert (again.filters, again.blocks, again.kernel_size) == (12, 2, 5)
    with pytest.raises(ConfigError, match="kernel_size"):
        PixelCNNPrior(kernel_size=4)
    with pytest.raises(ZooError, match="not attached"):
        PixelCNNPrior().log_prob(np.zeros((1, 2, 2), np.int64))
    prior = PixelCNNPrior(filters=4, blocks=0)
    prior.attach(5, (2, 2))
    with pytest.raises(ZooError, match="models 5 codes on a"):
        prior.attach(6, (2, 2))


def test_model_samples_decode_codes_drawn_from_the_prior():
    model = tiny_vq()
    model.compile(keras.optimizers.Adam(1e-2))
    x = binary_images(100)
    model.fit(x, batch_size=20, epochs=2, verbose=0)
    model.fit_prior(x, epochs=2, batch_size=20, verbose=0)
    images = model.sample(5, seed=3)
    assert images.shape == (5, 8, 8, 1) and np.all((images.numpy() >= 0) & (images.numpy() <= 1))
    np.testing.assert_array_equal(model.sample(5, seed=3), images)
    drawn = model.sample(5, seed=3, mean=False).numpy()
    assert set(np.unique(drawn)) <= {0.0, 1.0}
    codes = model.sample_codes(tf.constant([11, 12, 13], tf.int64))
    assert codes.shape == (3, 2, 2) and codes.dtype == tf.int64
    np.testing.assert_array_equal(model.sample_codes(tf.constant([13], tf.int64)), codes[2:])
    np.testing.assert_allclose(model.decode(codes).mean(), model.decode(codes.numpy()).mean())


# Saving and export. ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def trained_vq():
    """A tiny VQ-VAE (EMA codebook) after a few steps of each stage."""
    model = tiny_vq(ema=True)
    model.compile(keras.optimizers.Adam(1e-2))
    x = binary_images(60)
    model.fit(x, batch_size=20, epochs=2, verbose=0)
    model.fit_prior(x, epochs=2, batch_size=20, verbose=0)
    return model


def test_keras_file_round_trip_gives_the_same_model_and_fit_continues(trained_vq, tmp_path):
    model = trained_vq
    x = binary_images(20, seed=1)
    again = assert_config_round_trip(model)
    assert type(again) is VQVAE and again.grid_shape == (2, 2)
    model.save(tmp_path / "vq.keras")
    reloaded = keras.models.load_model(tmp_path / "vq.keras")
    assert type(reloaded) is VQVAE and type(reloaded.quantizer) is VectorQuantizerEMA
    for a, b in zip(model.weights, reloaded.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.name)
    np.testing.assert_array_equal(reloaded.elbo(x), model.elbo(x))
    np.testing.assert_array_equal(reloaded.sample(3, seed=2), model.sample(3, seed=2))
    assert reloaded.epochs_trained.numpy() == 2 and reloaded.prior_epochs_trained.numpy() == 2
    steps = model.optimizer.iterations.numpy()
    reloaded.fit(x, batch_size=10, epochs=1, verbose=0)  # the optimizer came back, with its state
    assert reloaded.optimizer.iterations.numpy() == steps + 2


@pytest.mark.heavy
def test_export_reloads_without_zoo_and_tfp_and_matches_python(driven):
    """The driver's VQ-VAE (tests/driver.py: its export reloaded without zoo or TFP, every output
    compared with Python's): what it serves, its preset, and the served graph's refusals."""
    result = driven("vq_vae")
    model, outputs, path = result.model, result.served, result.export_path
    assert path.endswith("model/1")
    got = {}
    for key in outputs:
        name, output = key.split("/")
        got.setdefault(name, set()).add(output)
    assert got == {"serving_default": {"x_mean", "codes"}, "reconstruct": {"x_mean", "codes"},
                   "encode": {"codes", "z_e", "z_q"}, "decode": {"x_mean", "x_logits"},
                   "sample": {"codes", "x_mean", "x_sample"}, "elbo": {"elbo", "reconstruction", "kl"}}
    x = result.inputs["x"]
    np.testing.assert_allclose(outputs["elbo/elbo"], model.elbo(x), rtol=1e-5)
    np.testing.assert_array_equal(outputs["encode/codes"], model.encode(x))
    assert outputs["sample/codes"].dtype == np.int64 and outputs["sample/codes"].max() < 6
    # The preset loader gives the same model back, compiled.
    preset = VQVAE.from_preset(path)
    assert type(preset) is VQVAE and preset.optimizer is not None
    np.testing.assert_allclose(preset.elbo(x), model.elbo(x), rtol=1e-6)

    loaded = tf.saved_model.load(path)
    decode = loaded.signatures["decode"]
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"codes must lie in 0..5"):
        decode(codes=tf.constant([[[0, 6], [1, 1]]], tf.int64))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"codes"):
        decode(codes=tf.zeros([1, 3, 2], tf.int64))
    one = loaded.signatures["sample"](seed=tf.constant([4, 5, 6], tf.int64))
    other = loaded.signatures["sample"](seed=tf.constant([6], tf.int64))
    np.testing.assert_array_equal(one["codes"][2], other["codes"][0])
    np.testing.assert_array_equal(one["x_sample"][2], other["x_sample"][0])


# The recipes, through the command line. -------------------------------------------------------

VQ_SIGNATURES = ["decode", "elbo", "encode", "reconstruct", "sample", "serving_default"]


# Fashion-MNIST's blocks (EMA codebook, discretized logistic) are the driver's vq_vae_ema case.
@pytest.mark.parametrize("recipe", ["mnist_conv_vq", pytest.param("fashion_mnist_conv_vq", marks=pytest.mark.slow)])
def test_recipe_trains_both_stages_exports_and_evaluates_through_the_cli(recipe, fashion_mnist_dir, tmp_path, capsys):
    """`zoo train --smoke` (MNIST's recipe on the embedded 8x8 digits, Fashion-MNIST's on 1,000
    of its images in a .npz file: 8-bit pixels, as its likelihood needs), then `zoo evaluate`."""
    data = ["--dataset", "digits"]
    if recipe == "fashion_mnist_conv_vq":
        images = DATASETS.get("fashion_mnist").load("train", fashion_mnist_dir).images[:1000]
        np.savez(tmp_path / "fashion.npz", images=images)
        data = ["--dataset", "npz", "--data-dir", str(tmp_path / "fashion.npz")]
    done = zoo_here(capsys, "train", recipe, "--smoke", "--force-export", *data, "--export-dir", str(tmp_path / "exports"),
                    "--workdir", str(tmp_path / "run"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Training the prior over the codes of" in done.stdout and "bits/dim; codebook perplexity" in done.stdout
    path = tmp_path / "exports" / recipe / "1"
    metrics = json.load(open(path / "metrics.json"))
    assert metrics["test_neg_elbo"] == pytest.approx(metrics["test_reconstruction"] + metrics["test_kl"])
    assert metrics["prior_epochs"] == 1 and metrics["codebook_size"] == 8
    assert 1 <= metrics["test_codebook_perplexity"] <= 8 and 0 <= metrics["test_dead_codes"] < 8
    pixels = 64 if recipe == "mnist_conv_vq" else 784
    expected_bits = metrics["test_neg_elbo"] / pixels / math.log(2)  # both likelihoods are discrete
    assert metrics["test_bits_per_dim"] == pytest.approx(expected_bits)
    assert metrics["test_kl"] < (4 if recipe == "mnist_conv_vq" else 49) * math.log(8)  # the prior learned something
    loaded = tf.saved_model.load(str(path))
    assert sorted(loaded.signatures) == VQ_SIGNATURES
    sampled = loaded.signatures["sample"](seed=tf.constant([1, 2], tf.int64))
    side = 8 if recipe == "mnist_conv_vq" else 28
    assert sampled["x_mean"].shape == (2, side, side, 1) and sampled["codes"].numpy().max() < 8
    assert np.all((sampled["x_mean"].numpy() >= 0) & (sampled["x_mean"].numpy() <= 1))
    assert (tmp_path / "run" / "logs" / "pictures").is_dir()

    assert cli.main(["evaluate", str(path), *data[2:]]) == 0, capsys.readouterr().err[-3000:]
    out = capsys.readouterr().out
    assert "bits/dim; codebook perplexity" in out
    evaluation = json.load(open(path / "metrics.json"))["evaluation"]
    assert sorted(evaluation["pictures"]) == ["pictures/reconstructions.png", "pictures/samples.png"]
    assert evaluation["neg_elbo"] == pytest.approx(metrics["test_neg_elbo"], rel=1e-5)  # the whole test split, again


def test_vq_recipes_build_from_their_configs_and_scale():
    recipe = RECIPES.get("mnist_conv_vq")
    model = build(recipe.model)
    assert type(model) is VQVAE and model.grid_shape == (7, 7) and model.codebook_size == 64
    assert type(model.quantizer) is VectorQuantizerEMA and model.quantizer.restart_threshold == 1.0
    scaled = recipe.scaled(2)
    assert (scaled.train.epochs, scaled.model.prior_epochs) == (20, 20)
    assert Recipe.from_dict(json.loads(recipe.to_json())).model == recipe.model  # as config.json holds it
    smoke = recipe.with_overrides(recipe.smoke)
    assert smoke.model.quantizer["codebook_size"] == 8 and smoke.model.code_prior["blocks"] == 1
