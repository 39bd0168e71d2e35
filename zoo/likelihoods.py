"""Observation models p(x|z): decoder parameters in, a distribution over whole images out.

Each layer says how many parameters it needs per pixel (`params_per_pixel`) and which
tensors describe it in an export (`export_parameters`).
"""

import math

import tensorflow as tf
import tensorflow_probability as tfp

from zoo.distribution_layer import DistributionLayer
from zoo.registry import Registry

tfd = tfp.distributions
LIKELIHOODS = Registry("likelihood")

IMAGE_EVENT_NDIMS = 3  # [height, width, channels] is one event


class ImageLikelihood(DistributionLayer):
    """Base: the tensor value of p(x|z) is its mean, never a hidden random sample.

    `discrete` says whether log_prob is a log-probability of discrete pixel values (so
    bits/dim follow from it directly) or a log-density of continuous ones.
    """

    params_per_pixel = 1
    discrete = False

    def __init__(self, **kwargs):
        super().__init__(convert_to_tensor_fn=tfd.Distribution.mean, **kwargs)

    @classmethod
    def for_variant(cls, variant):
        """The layer a `VAEConfig` asks for."""
        return cls(name="likelihood")

    def export_parameters(self, dist):
        raise NotImplementedError


@LIKELIHOODS.register("bernoulli")
class Bernoulli(ImageLikelihood):
    """Independent Bernoulli pixels with logits from the decoder, for binarized images.

    Example:
        p = Bernoulli()(logits); p.log_prob(x)  # sum over pixels of x log s + (1-x) log(1-s)
    """

    discrete = True

    def distribution(self, params):
        return tfd.Independent(tfd.Bernoulli(logits=params, dtype=tf.float32),
                               reinterpreted_batch_ndims=IMAGE_EVENT_NDIMS)

    def export_parameters(self, dist):
        return {"x_logits": dist.distribution.logits}


@LIKELIHOODS.register("gaussian")
class Gaussian(ImageLikelihood):
    """Independent Normal pixels around the decoder's output, with one scale for all pixels.

    Its `log_prob` is the full Gaussian log-density (with the -log(sigma) - log(2 pi)/2
    terms), so a learned sigma trades sharpness against fit instead of being a fixed
    multiple of the squared error.

    Args:
        sigma: a positive number (fixed scale) or "learned" (a trainable log-scale,
            started at 1 and kept above 1e-3).

    Example:
        Gaussian(sigma=0.1)(decoder_output)
    """

    MIN_SIGMA = 1e-3

    def __init__(self, sigma="learned", **kwargs):
        super().__init__(**kwargs)
        self.sigma = sigma

    @classmethod
    def for_variant(cls, variant):
        return cls(sigma=variant.sigma, name="likelihood")

    def build(self, input_shape):
        if self.sigma == "learned":
            self.log_sigma = self.add_weight(name="log_sigma", shape=(), initializer="zeros")
        super().build(input_shape)

    def scale(self):
        if self.sigma == "learned":
            return tf.exp(tf.maximum(self.log_sigma, math.log(self.MIN_SIGMA)))
        return tf.constant(float(self.sigma))

    def distribution(self, params):
        return tfd.Independent(tfd.Normal(loc=params, scale=self.scale()),
                               reinterpreted_batch_ndims=IMAGE_EVENT_NDIMS)

    def export_parameters(self, dist):
        loc = dist.distribution.loc
        return {"x_loc": loc, "x_scale": tf.broadcast_to(dist.distribution.scale, tf.shape(loc))}

    def get_config(self):
        return {**super().get_config(), "sigma": self.sigma}
