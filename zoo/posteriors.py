"""Posterior layers q(z|x): encoder parameters in, a TFP distribution over z out."""

import tensorflow as tf
import tensorflow_probability as tfp

from zoo.distribution_layer import DistributionLayer
from zoo.registry import Registry

tfd = tfp.distributions
POSTERIORS = Registry("latent")

MIN_STDDEV = 1e-5


@POSTERIORS.register("diagonal_normal")
class DiagonalNormal(DistributionLayer):
    """q(z|x) = N(loc, diag(scale^2)) with scale = softplus(raw) + 1e-5.

    Its tensor value is one reparameterized sample, so `tf.convert_to_tensor(q)` is the z
    that gradients flow through.

    Args:
        latent_dim: number of latent variables D; the layer takes [B, 2D] parameters.

    Example:
        q = DiagonalNormal(20)(encoder(x)); z = tf.convert_to_tensor(q)
    """

    def __init__(self, latent_dim, **kwargs):
        super().__init__(convert_to_tensor_fn=tfd.Distribution.sample, **kwargs)
        self.latent_dim = latent_dim

    @staticmethod
    def params_size(latent_dim):
        return 2 * latent_dim

    def distribution(self, params):
        loc, raw_scale = tf.split(params, 2, axis=-1)
        return tfd.Independent(tfd.Normal(loc, tf.nn.softplus(raw_scale) + MIN_STDDEV),
                               reinterpreted_batch_ndims=1)

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim}
