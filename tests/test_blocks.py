"""Shapes, dtypes and known log-densities of every block."""

import math

import numpy as np
import pytest
import tensorflow as tf

from zoo.config import VAEConfig
from zoo.layers.likelihoods import Bernoulli, Gaussian
from zoo.layers.networks import NETWORKS
from zoo.layers.posteriors import DiagonalNormal
from zoo.layers.priors import StandardNormal
from zoo.models.builder import build

TORSOS = {"mlp": {"hidden_units": (16,)}, "conv": {"conv_filters": (4, 8)}}


@pytest.mark.parametrize("network", NETWORKS.names())
@pytest.mark.parametrize("image_shape", [(28, 28, 1), (32, 32, 3), (8, 8, 1)])
def test_networks_map_images_to_params_and_back(network, image_shape):
    torso = NETWORKS.get(network)(**TORSOS[network])
    torso.check(image_shape)
    encoder, decoder = torso.encoder(image_shape, 10), torso.decoder(image_shape, (7,), image_shape[-1] * 2)
    params = encoder(tf.zeros([3, *image_shape]))
    assert params.shape == (3, 10) and params.dtype == tf.float32
    out = decoder(tf.zeros([3, 7]))
    assert out.shape == (3, *image_shape[:2], image_shape[-1] * 2) and out.dtype == tf.float32


def test_diagonal_normal_posterior():
    q = DiagonalNormal(3)(tf.constant([[0.5, -1.0, 2.0, 0.0, -30.0, 1.0]]))
    assert q.batch_shape == (1,) and q.event_shape == (3,)
    np.testing.assert_allclose(q.mean(), [[0.5, -1.0, 2.0]])
    softplus = np.log1p(np.exp([0.0, -30.0, 1.0]))
    np.testing.assert_allclose(q.stddev(), [softplus + 1e-5], rtol=1e-6)
    z = tf.convert_to_tensor(q)
    assert z.shape == (1, 3) and z.dtype == tf.float32


def test_posterior_sample_is_reparameterized():
    params = tf.Variable(tf.zeros([2, 4]))
    with tf.GradientTape() as tape:
        z = tf.convert_to_tensor(DiagonalNormal(2)(params))
        total = tf.reduce_sum(z)
    grad = tape.gradient(total, params)
    np.testing.assert_allclose(grad[:, :2], 1.0)  # dz/dloc = 1


def test_standard_normal_prior():
    prior = StandardNormal()
    prior.attach(DiagonalNormal(4))
    assert prior.latent_dim == 4 and prior.code_shape == (4,)
    p = prior.distribution()
    assert p.event_shape == (4,) and p.batch_shape == ()
    np.testing.assert_allclose(p.log_prob(tf.zeros([4])), -2 * math.log(2 * math.pi), rtol=1e-6)


def test_bernoulli_log_prob_by_hand():
    logits = np.array([[[[0.3], [-1.2]], [[2.0], [0.0]]]], np.float32)  # [1, 2, 2, 1]
    x = np.array([[[[1.0], [0.0]], [[0.0], [1.0]]]], np.float32)
    s = 1 / (1 + np.exp(-logits))
    expected = np.sum(x * np.log(s) + (1 - x) * np.log(1 - s))
    p = Bernoulli()(tf.constant(logits))
    assert p.event_shape == (2, 2, 1) and p.batch_shape == (1,)
    np.testing.assert_allclose(p.log_prob(x), [expected], rtol=1e-6)
    np.testing.assert_allclose(tf.convert_to_tensor(p), s, rtol=1e-6)  # its tensor is the mean


@pytest.mark.parametrize("sigma", [0.1, 2.0, "learned"])
def test_gaussian_log_prob_by_hand(sigma):
    loc = np.array([[[[0.2], [0.9]]]], np.float32)
    x = np.array([[[[0.0], [1.0]]]], np.float32)
    layer = Gaussian(sigma=sigma)
    p = layer(tf.constant(loc))
    scale = 1.0 if sigma == "learned" else sigma  # a learned sigma starts at 1
    expected = np.sum(-0.5 * ((x - loc) / scale) ** 2 - np.log(scale) - 0.5 * np.log(2 * np.pi))
    np.testing.assert_allclose(p.log_prob(x), [expected], rtol=1e-5)
    assert len(layer.trainable_weights) == (1 if sigma == "learned" else 0)


def test_learned_sigma_moves_toward_the_residual_scale():
    layer = Gaussian(sigma="learned")
    loc = tf.zeros([64, 2, 2, 1])
    x = tf.random.stateless_normal([64, 2, 2, 1], seed=[1, 2]) * 0.2
    layer(loc)
    for _ in range(300):
        with tf.GradientTape() as tape:
            loss = -tf.reduce_mean(layer(loc).log_prob(x))
        grad = tape.gradient(loss, layer.log_sigma)
        layer.log_sigma.assign_sub(0.05 * grad)
    assert abs(float(layer.scale()) - float(tf.math.reduce_std(x))) < 0.02


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
@pytest.mark.parametrize("network", ["mlp", "conv"])
def test_vae_outputs_are_distributions(network, likelihood):
    config = VAEConfig(network={"type": network, **TORSOS[network]}, likelihood=likelihood,
                       posterior={"type": "diagonal_normal", "latent_dim": 3})
    model = build(config)
    x = tf.zeros([2, 28, 28, 1])
    p, q = model(x), model.encode(x)
    assert p.event_shape == (28, 28, 1) and p.batch_shape == (2,)
    assert q.event_shape == (3,) and q.batch_shape == (2,)
    assert p.log_prob(x).shape == (2,) and p.mean().dtype == tf.float32
    assert model.decode(tf.zeros([4, 3])).batch_shape == (4,)
    assert model.losses == []  # nothing hidden in add_loss: the KL cannot be counted twice
