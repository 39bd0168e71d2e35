"""The HRQ-VAE (Hosking et al. 2022): hierarchical residual quantization by hand (each level's
nearest codeword of the residual, their sum, the losses, the Gumbel-softmax draws and depth
dropout of training), its behaviour in the VQ-VAE (finer with every level, usage per level,
the prior over paths), and its recipe. The driver's "hrq_vae" case checks `.keras` and export."""

import math

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from harness import assert_config_round_trip
from recipes import RECIPES
from test_vq_vae import binary_images
from zoo.errors import ConfigError
from zoo.layers.code_prior import PixelCNNPrior
from zoo.layers.likelihoods import Bernoulli
from zoo.layers.quantizer import HierarchicalResidualQuantizer, usage
from zoo.models.builder import build
from zoo.models.vq_vae import VQVAE

# Two levels of three codewords in 2-D: the second ten times finer than the first.
CODEBOOK = np.array([[[0.0, 0.0], [2.0, 0.0], [0.0, 2.0]],
                     [[0.0, 0.0], [0.2, 0.0], [0.0, -0.2]]], np.float32)


def hrq_with(codebook=CODEBOOK, **kwargs):
    codebook = np.asarray(codebook, np.float32)
    quantizer = HierarchicalResidualQuantizer(codebook_size=codebook.shape[1], code_dim=codebook.shape[2],
                                              depth=len(codebook), **kwargs)
    quantizer.codebook.assign(codebook)
    return quantizer


def test_each_level_takes_the_nearest_codeword_of_the_residual_and_the_code_is_their_sum():
    z_e = np.array([[[1.9, 0.25], [0.1, 1.7]], [[0.05, -0.15], [2.3, 0.1]]], np.float32)  # [B=2, positions=2, 2]
    quantizer = hrq_with()
    out = quantizer.quantize(z_e)
    # By hand: (1.9, 0.25) -> level 1: (2, 0), residual (-0.1, 0.25) -> level 2 nearest of
    # (0, 0), (0.2, 0), (0, -0.2): squared distances 0.0725, 0.1525, 0.2125 -> (0, 0).
    # (0.1, 1.7) -> (0, 2), residual (0.1, -0.3) -> (0, -0.2) [0.02 against 0.10 and 0.10].
    # (0.05, -0.15) -> (0, 0), residual itself -> (0, -0.2) [0.005]. (2.3, 0.1) -> (2, 0), (0.3, 0.1) -> (0.2, 0).
    expected_codes = [[[1, 0], [2, 2]], [[0, 2], [1, 1]]]
    np.testing.assert_array_equal(out["codes"], expected_codes)
    np.testing.assert_array_equal(quantizer.nearest(z_e), expected_codes)
    z_q = np.array([[[2.0, 0.0], [0.0, 1.8]], [[0.0, -0.2], [2.2, 0.0]]], np.float32)
    np.testing.assert_allclose(out["quantized"], z_q, rtol=1e-6)
    np.testing.assert_allclose(quantizer.lookup(out["codes"]), z_q, rtol=1e-6)
    np.testing.assert_allclose(quantizer.lookup(out["codes"], depth=1), [[[2, 0], [0, 2]], [[0, 0], [2, 0]]])
    # The prior sees one of K^D = 9 categories per position: k1 * 3 + k2.
    assert quantizer.paths == 9 and quantizer.path_shape == (2,)
    np.testing.assert_array_equal(quantizer.path_index(out["codes"]), [[3, 8], [2, 4]])
    np.testing.assert_array_equal(quantizer.path_codes([[3, 8], [2, 4]]), expected_codes)
    np.testing.assert_array_equal(out["counts"], np.bincount([3, 8, 2, 4], minlength=9))
    assert quantizer.steps.numpy() == 0  # scoring is not a training step


def test_losses_by_hand():
    z_e = np.array([[[1.9, 0.25]], [[0.05, -0.15]]], np.float32)  # [B=2, one position, 2]
    quantizer = hrq_with(kl_weight=0.1, beta=0.5)
    out = quantizer.quantize(z_e)
    # Temperature after 0 steps: max(2 * (2 - 2 / (1 + e^0)), 0.5) = 2.
    assert float(quantizer.temperature_now()) == pytest.approx(2.0)
    kl, residual = np.zeros(2), z_e[:, 0].astype(np.float64)
    for level in range(2):
        logits = -((residual[:, None, :] - CODEBOOK[level][None]) ** 2).sum(-1) / 2.0
        log_q = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        kl += (np.log(1 / 3) - log_q).mean(-1)  # KL(uniform || q) = sum_k (1/3)(log(1/3) - log q_k)
        residual -= CODEBOOK[level][np.argmin(-logits, -1)]
    np.testing.assert_allclose(out["kl_loss"], kl, rtol=1e-5)
    commitment = [(0.1 ** 2 + 0.25 ** 2), (0.05 ** 2 + 0.05 ** 2)]  # ||z_e - z_q||^2: z_q = (2, 0) and (0, -0.2)
    np.testing.assert_allclose(out["commitment_loss"], commitment, rtol=1e-5)
    np.testing.assert_allclose(out["codebook_loss"], commitment, rtol=1e-5)
    np.testing.assert_allclose(quantizer.loss(out), 0.1 * kl + 0.5 * np.array(commitment), rtol=1e-5)
    # The authors' defaults: no KL, no commitment; the reconstruction alone trains the codebooks.
    np.testing.assert_array_equal(hrq_with().loss(out), [0.0, 0.0])
    quantizer.steps.assign(10000.0)
    assert float(quantizer.temperature_now()) == pytest.approx(2 * (2 - 2 / (1 + math.exp(-1))), rel=1e-6)
    quantizer.steps.assign(1e6)
    assert float(quantizer.temperature_now()) == pytest.approx(0.5)


def test_training_draws_codewords_by_gumbel_softmax_with_the_gradient_of_the_soft_choice():
    rng = np.random.default_rng(0)
    z_e = tf.Variable(rng.standard_normal((4, 3, 3, 2)).astype(np.float32))
    quantizer = hrq_with(depth_dropout=0.0)
    with tf.GradientTape(persistent=True) as tape:
        out = quantizer.quantize(z_e, training=True)
        loss = tf.reduce_sum(out["quantized"] ** 2)
    # The value is the sum of the drawn codewords; the draws differ from the greedy path somewhere.
    np.testing.assert_allclose(out["quantized"], quantizer.lookup(out["codes"]), rtol=1e-6, atol=1e-6)
    assert not np.array_equal(out["codes"], quantizer.nearest(z_e))
    assert quantizer.steps.numpy() == 1
    gradient = tape.gradient(loss, z_e)
    assert gradient is not None and np.all(np.isfinite(gradient)) and np.abs(gradient).sum() > 0
    assert np.abs(tf.convert_to_tensor(tape.gradient(loss, quantizer.codebook))).sum() > 0
    # Seeded by the step: a fresh quantizer at the same step draws the same paths.
    again = hrq_with(depth_dropout=0.0)
    np.testing.assert_array_equal(again.quantize(z_e, training=True)["codes"], out["codes"])
    # The hard draw is the Gumbel-max draw from softmax(-distances) (whatever the temperature,
    # which only shapes the gradient): (1, 0.5) is at squared distances 1.25, 1.25, 3.25 of level 1.
    one_level = hrq_with(CODEBOOK[:1], depth_dropout=0.0)
    drawn = one_level.quantize(np.tile([[1.0, 0.5]], (20000, 1)).astype(np.float32), training=True)["codes"]
    weights = np.exp(-np.array([1.25, 1.25, 3.25]))
    np.testing.assert_allclose(np.bincount(drawn.numpy().ravel(), minlength=3) / 20000, weights / weights.sum(),
                               atol=0.015)
    # Well-separated codewords (ten times the scale): the draws are the greedy path.
    far = hrq_with(CODEBOOK * 10, depth_dropout=0.0)
    clear = np.array([[[19.0, 2.5], [1.0, 17.0]]], np.float32)
    np.testing.assert_array_equal(far.quantize(clear, training=True)["codes"], far.nearest(clear))


def test_depth_dropout_cuts_each_path_after_its_first_dropped_level():
    rng = np.random.default_rng(1)
    codebook = rng.standard_normal((3, 4, 2)).astype(np.float32) * np.array([1.0, 0.5, 0.25])[:, None, None]
    quantizer = hrq_with(codebook, depth_dropout=0.4)
    out = quantizer.quantize(rng.standard_normal((50, 8, 8, 2)).astype(np.float32), training=True)
    quantized = out["quantized"].numpy()
    kept = []  # the depth each position was cut to: its value is the sum of the path's first levels
    for depth in range(4):
        partial = quantizer.lookup(out["codes"], depth=depth).numpy() if depth else np.zeros_like(quantized)
        kept.append(np.all(np.isclose(quantized, partial, atol=1e-6), -1))
    cut = np.argmax(np.stack(kept[::-1], -1), -1)  # the deepest match, in case two levels agree
    cut = 3 - cut
    assert np.all(np.any(np.stack(kept, -1), -1))  # every position is some truncation of its path
    # P(depth = d) = 0.6^d 0.4 for d < 3, 0.6^3 for the whole path.
    expected = [0.4, 0.6 * 0.4, 0.36 * 0.4, 0.216]
    np.testing.assert_allclose(np.bincount(cut.ravel(), minlength=4) / cut.size, expected, atol=0.03)


def test_initial_codebooks_have_norms_decaying_by_level():
    keras.utils.set_random_seed(0)
    quantizer = HierarchicalResidualQuantizer(codebook_size=5, code_dim=4, depth=3, init_scale=2.0, init_decay=0.5)
    np.testing.assert_allclose(np.linalg.norm(quantizer.codebook.numpy(), axis=-1),
                               [[2.0] * 5, [1.0] * 5, [0.5] * 5], rtol=1e-5)
    assert quantizer.codebook.trainable and quantizer.codebook.shape == (3, 5, 4)


def test_usage_of_paths_and_of_each_level_by_hand():
    quantizer = hrq_with()
    codes = np.array([[[0, 1], [0, 1]], [[0, 2], [2, 1]]])  # paths 1, 1, 2, 7
    found = quantizer.usage_of(codes)
    assert found["perplexity"] == pytest.approx(usage([0, 2, 1, 0, 0, 0, 0, 1, 0])["perplexity"])
    assert found["dead_codes"] == 6 and found["codes_used"] == 3
    assert found["levels"] == [usage([3, 0, 1]), usage([0, 3, 1])]
    assert found["levels"][0]["dead_codes"] == 1 and found["levels"][1]["dead_codes"] == 1
    assert quantizer.usage_figures(found) == {"test_level_perplexity": [found["levels"][0]["perplexity"],
                                                                        found["levels"][1]["perplexity"]],
                                              "test_level_dead_codes": [1, 1]}


def test_config_round_trip_and_one_line_refusals():
    again = assert_config_round_trip(HierarchicalResidualQuantizer(codebook_size=3, code_dim=2, depth=4, kl_weight=0.1,
                                                                   depth_dropout=0.2, temperature_steps=50))
    assert (again.depth, again.kl_weight, again.depth_dropout, again.temperature_steps) == (4, 0.1, 0.2, 50.0)
    for kwargs, field in (({"depth": 0}, "depth"), ({"depth_dropout": 1.0}, "depth_dropout"),
                          ({"init_decay": 0.0}, "init_decay"), ({"temperature": 0.0}, "temperature")):
        with pytest.raises(ConfigError, match=field):
            HierarchicalResidualQuantizer(**kwargs)
    quantizer = hrq_with()
    with pytest.raises(tf.errors.InvalidArgumentError, match="paths of 2 levels"):
        quantizer.lookup(tf.constant([[1, 0, 1]]))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"codes must lie in 0..2"):
        quantizer.lookup(tf.constant([[1, 3]]))


# In the VQ-VAE. -------------------------------------------------------------------------------

def tiny_hrq(depth=3, codebook_size=3, seed=0, **kwargs):
    """An HRQ-VAE of 8x8 images on a 2x2 grid of paths, each of one 4x4 patch (one convolution
    each way: quick to compile)."""
    keras.utils.set_random_seed(seed)
    encoder = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(16, 4, 4, activation="relu"),
                                keras.layers.Conv2D(3, 1)])
    decoder = keras.Sequential([keras.Input((2, 2, 3)), keras.layers.Conv2D(16, 1, activation="relu"),
                                keras.layers.Conv2DTranspose(1, 4, 4)])
    quantizer = HierarchicalResidualQuantizer(codebook_size, 3, depth=depth, **kwargs)
    return VQVAE(encoder, quantizer, decoder, Bernoulli(), PixelCNNPrior(filters=8, blocks=1))


@pytest.fixture(scope="module")
def trained_hrq():
    """A depth-3 HRQ-VAE trained on the compiled path (`zoo train`'s: XLA) for 12 epochs, the
    autoencoder's weights after its first step, then 6 epochs of the prior."""
    model = tiny_hrq(temperature_steps=100)
    x = binary_images(200)
    model.compile(keras.optimizers.Adam(1e-2), jit_compile=True)
    before = [w.numpy() for w in model.autoencoder_variables()]
    first = model.fit(x[:20], batch_size=20, epochs=1, verbose=0).history
    after_one_step = [w.numpy() for w in model.autoencoder_variables()]
    model.fit(x, batch_size=20, epochs=12, verbose=0)
    model.fit_prior(x, epochs=6, batch_size=20, learning_rate=1e-2, verbose=0)
    return model, x, (before, after_one_step, first["loss"][0])


def test_one_compiled_step_changes_the_weights_with_a_finite_loss(trained_hrq):
    model, _, (before, after, loss) = trained_hrq
    assert model.jit_compile and np.isfinite(loss)
    # Every autoencoder weight moved, the codebooks too: the reconstruction reaches them through the choices.
    assert all(not np.array_equal(b, a) for b, a in zip(before, after))


def test_reconstruction_gets_finer_with_every_level(trained_hrq):
    """Decoding the first 1, 2, 3 levels of each path: the reconstruction and the distance to
    the encoder's vectors fall with depth (depth dropout trained the decoder on all three)."""
    model, x, _ = trained_hrq
    codes, z_e = model.encode(x), model.encoder_output(x)
    reconstruction, distance = [], []
    for depth in (1, 2, 3):
        z_q = model.quantizer.lookup(codes, depth=depth)
        distance.append(float(tf.reduce_mean(tf.reduce_sum((z_e - z_q) ** 2, -1))))
        reconstruction.append(float(tf.reduce_mean(-model.likelihood(model._decoder_params(z_q)).log_prob(x))))
    assert reconstruction[0] > reconstruction[1] > reconstruction[2], reconstruction
    assert distance[0] > distance[1] > distance[2], distance
    np.testing.assert_allclose(reconstruction[2], -model.decode(codes).log_prob(x).numpy().mean(), rtol=1e-5)


def test_the_prior_models_paths_and_the_bound_is_its_two_terms(trained_hrq):
    model, x, _ = trained_hrq
    assert model.prior.codebook_size == model.code_count == 27 and model.code_shape == (2, 2, 3)
    codes = model.encode(x)
    assert codes.dtype == tf.int64 and codes.shape == (200, 2, 2, 3)
    reconstruction, kl = model.elbo_terms(x)
    np.testing.assert_allclose(kl, -model.prior.log_prob(model.quantizer.path_index(codes)), rtol=1e-6)
    np.testing.assert_allclose(model.elbo(x), -(reconstruction + kl), rtol=1e-6)
    assert float(tf.reduce_mean(kl)) < 4 * math.log(27) - 1.0  # it learned something over uniform paths
    evaluated = model.evaluate(x, batch_size=50, return_dict=True, verbose=0)
    assert evaluated["kl"] == pytest.approx(float(tf.reduce_mean(kl)), rel=1e-5)
    drawn = model.sample_codes(tf.constant([1, 2, 3], tf.int64))
    assert drawn.shape == (3, 2, 2, 3) and drawn.numpy().max() < 3
    assert model.sample(2, seed=0).shape == (2, 8, 8, 1)
    found = model.codebook_usage(x)
    assert found == model.quantizer.usage_of(codes.numpy()) and len(found["levels"]) == 3
    assert all(level["codes_used"] >= 2 for level in found["levels"]), found  # every level is used
    figures = model.kind_figures(x, {"test_neg_elbo": float(-tf.reduce_mean(model.elbo(x)))}, None, verbose=False)
    assert figures["test_level_perplexity"] == [level["perplexity"] for level in found["levels"]]
    assert figures["test_codebook_perplexity"] == found["perplexity"]


def test_recipe_builds_beside_the_vq_recipe_with_as_many_paths_as_its_codes():
    hrq, vq = RECIPES.get("mnist_conv_hrq"), RECIPES.get("mnist_conv_vq")
    model = build(hrq.model)
    assert type(model.quantizer) is HierarchicalResidualQuantizer and model.grid_shape == (7, 7)
    assert model.quantizer.paths == vq.model.quantizer["codebook_size"] == 64
    assert (hrq.model.network, hrq.model.likelihood, hrq.model.code_prior, hrq.train) == (
        vq.model.network, vq.model.likelihood, vq.model.code_prior, vq.train)
    smoke = hrq.with_overrides(hrq.smoke)
    assert smoke.model.quantizer["depth"] == 2 and smoke.model.quantizer["codebook_size"] == 2
