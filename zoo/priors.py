"""Priors p(z): layers whose `distribution()` is the prior over a batch-free latent vector."""

import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras as keras

from zoo.registry import Registry

tfd = tfp.distributions
PRIORS = Registry("prior")


@PRIORS.register("standard_normal")
class StandardNormal(keras.layers.Layer):
    """p(z) = N(0, I).

    Args:
        latent_dim: number of latent variables D.

    Example:
        StandardNormal(20).distribution().sample(5)  # [5, 20]
    """

    def __init__(self, latent_dim, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = latent_dim

    def distribution(self):
        return tfd.Independent(tfd.Normal(tf.zeros([self.latent_dim]), 1.0), reinterpreted_batch_ndims=1)

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim}
