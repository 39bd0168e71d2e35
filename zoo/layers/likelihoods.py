"""Observation models p(x|z): decoder parameters in, a distribution over whole images out.

Each layer says how many parameters it needs per pixel (`params_per_pixel`), which
tensors describe it in an export (`export_parameters`), which data it models (`levels`)
and what realistic pixels look like for it (`example_pixels`).
"""

import math

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras as keras

from zoo.errors import ConfigError
from zoo.layers.distribution_layer import DistributionLayer
from zoo.layers.pixels import LEVELS, Categorical256Pixel, DiscretizedLogisticPixel, LogitBernoulli
from zoo.registry import Registry

tfd = tfp.distributions
LIKELIHOODS = Registry("likelihood")
serializable = keras.saving.register_keras_serializable(package="zoo")

IMAGE_EVENT_NDIMS = 3  # [height, width, channels] is one event


class ImageLikelihood(DistributionLayer):
    """Base: the tensor value of p(x|z) is its mean, never a hidden random sample.

    `discrete` says whether log_prob is a log-probability of discrete pixel values (so
    bits/dim follow from it directly) or a log-density of continuous ones.
    `levels` is the number of pixel values the dataset must have (None: any data scaled
    to [0, 1]); recipes check it, so an 8-bit model never trains on 17-level digits.
    `pixel_range` is where pixels must lie: `VAE.fit` refuses arrays outside it, since
    log_prob would still return numbers for them, just meaningless ones.
    """

    params_per_pixel = 1
    discrete = False
    levels = None
    pixel_range = (0.0, 1.0)  # the x its log_prob is defined for; None: any real number
    # log_prob is a normalized log-density (or log-probability) of the pixels. A reconstruction
    # cost that is not (MS-SSIM) sets False: its log_prob is minus the cost, and a model with it
    # has no likelihood (`VAE.has_likelihood`).
    is_density = True
    tensor_value = staticmethod(tfd.Distribution.mean)

    def params_shape(self, image_shape):
        """The decoder output this likelihood reads for images of `image_shape` (H, W, C)."""
        height, width, channels = image_shape
        return (height, width, channels * self.params_per_pixel)

    @staticmethod
    def example_pixels(rng, shape):
        """Pixels this model could have produced, for warm-up and example requests."""
        return rng.random(shape)

    def export_parameters(self, dist):
        raise NotImplementedError

    def marginal(self, train_images):
        """p(x) with no latent: each pixel's own distribution in this family, fitted to
        `train_images` [N, H, W, C] and smoothed, over whole images like the layer's. It is
        the trivial baseline an export must beat (`zoo.export.baseline`); None: no fair one."""
        return None


def pixel_moments(images, chunk=5000):
    """Each pixel's mean and variance over `images` [N, H, W, C], in float64, a chunk at a
    time (60,000 MNIST images are 188 MB as float32; a float64 copy would double that)."""
    total = squares = 0.0
    for first in range(0, len(images), chunk):
        part = np.asarray(images[first:first + chunk], np.float64)
        total, squares = total + part.sum(0), squares + np.square(part).sum(0)
    mean = total / len(images)
    return mean, np.maximum(squares / len(images) - np.square(mean), 0.0)


def image_distribution(pixels):
    return tfd.Independent(pixels, reinterpreted_batch_ndims=IMAGE_EVENT_NDIMS)


@serializable
@LIKELIHOODS.register("bernoulli")
class Bernoulli(ImageLikelihood):
    """Independent Bernoulli pixels with logits from the decoder, for binarized images.

    Example:
        p = Bernoulli()(logits); p.log_prob(x)  # sum over pixels of x log s + (1-x) log(1-s)
    """

    discrete = True

    @staticmethod
    def example_pixels(rng, shape):
        return rng.random(shape) < 0.3

    def distribution(self, params):
        return tfd.Independent(LogitBernoulli(logits=params, dtype=tf.float32),
                               reinterpreted_batch_ndims=IMAGE_EVENT_NDIMS)

    def export_parameters(self, dist):
        return {"x_logits": dist.distribution.logits}

    def marginal(self, train_images):
        """Each pixel on with its training frequency, Laplace-smoothed ((ones + 1) / (N + 2)),
        so a pixel never on in training is unlikely on a test image, not impossible."""
        mean, _ = pixel_moments(train_images)
        on = (mean * len(train_images) + 1) / (len(train_images) + 2)
        return image_distribution(LogitBernoulli(logits=np.float32(np.log(on) - np.log1p(-on)), dtype=tf.float32))


@serializable
@LIKELIHOODS.register("gaussian")
class Gaussian(ImageLikelihood):
    """Independent Normal pixels around the decoder's output.

    Its `log_prob` is the full Gaussian log-density (with the -log(sigma) - log(2 pi)/2
    terms), so a learned sigma trades sharpness against fit instead of being a fixed
    multiple of the squared error.

    Args:
        sigma: a positive number (one fixed scale), "learned" (one trainable log-scale for
            all pixels) or "per_pixel" (one trainable log-scale per pixel and channel, so
            the always-black border of MNIST can be sharper than the strokes). Learned
            scales start at 1 and are kept above `MIN_SIGMA`.

    Example:
        Gaussian(sigma=0.1)(decoder_output)
    """

    MIN_SIGMA = 1e-3
    LEARNED = ("learned", "per_pixel")
    pixel_range = None

    def __init__(self, sigma="learned", **kwargs):
        super().__init__(**kwargs)
        if sigma not in self.LEARNED:
            valid = isinstance(sigma, (int, float)) and not isinstance(sigma, bool) and 0 < sigma < math.inf
            if not valid:
                raise ConfigError("sigma", sigma, 'a finite number > 0, "learned" or "per_pixel"')
            sigma = float(sigma)
        self.sigma = sigma

    def build(self, input_shape):
        if self.sigma in self.LEARNED:
            shape = tuple(input_shape[1:]) if self.sigma == "per_pixel" else ()
            self.log_sigma = self.add_weight(name="log_sigma", shape=shape, initializer="zeros")
        super().build(input_shape)

    def scale(self):
        if self.sigma in self.LEARNED:
            return tf.exp(tf.maximum(self.log_sigma, math.log(self.MIN_SIGMA)))
        return tf.constant(float(self.sigma))

    def distribution(self, params):
        return tfd.Independent(tfd.Normal(loc=params, scale=self.scale()),
                               reinterpreted_batch_ndims=IMAGE_EVENT_NDIMS)

    def export_parameters(self, dist):
        loc = dist.distribution.loc
        return {"x_loc": loc, "x_scale": tf.broadcast_to(dist.distribution.scale, tf.shape(loc))}

    def marginal(self, train_images):
        """Normal pixels at their training means, with the scale this layer would learn for
        them: its fixed sigma, one scale for all pixels ("learned": the root mean squared
        deviation) or one per pixel ("per_pixel"), floored at `MIN_SIGMA` as the layer's is."""
        mean, variance = pixel_moments(train_images)
        if self.sigma == "per_pixel":
            scale = np.sqrt(variance)
        else:
            scale = np.sqrt(variance.mean()) if self.sigma == "learned" else self.sigma
        scale = np.maximum(scale, self.MIN_SIGMA) * np.ones_like(mean)
        return image_distribution(tfd.Normal(loc=np.float32(mean), scale=np.float32(scale)))

    def get_config(self):
        return {**super().get_config(), "sigma": self.sigma}


@serializable
@LIKELIHOODS.register("continuous_bernoulli")
class ContinuousBernoulli(ImageLikelihood):
    """Continuous Bernoulli pixels (Loaiza-Ganem & Cunningham 2019) for grey levels in [0, 1].

    A Bernoulli likelihood on grey pixels is not a density (it misses the normalizing
    constant C(l) = 2 artanh(1 - 2l) / (1 - 2l)); this is the properly normalized one, so
    its ELBO is a bound on a real log-density and its mean is not sigmoid(logits).

    Example:
        p = ContinuousBernoulli()(logits); p.log_prob(grey_images)
    """

    def distribution(self, params):
        return tfd.Independent(tfd.ContinuousBernoulli(logits=params),
                               reinterpreted_batch_ndims=IMAGE_EVENT_NDIMS)

    def export_parameters(self, dist):
        return {"x_logits": dist.distribution.logits}

    def marginal(self, train_images):
        """Each pixel's maximum-likelihood continuous Bernoulli: the logits whose mean
        1 / (1 - exp(-logits)) - 1 / logits is the pixel's training mean, smoothed as by
        half an image of grey (mean * N + 0.5) / (N + 1), so no pixel is certain."""
        mean, _ = pixel_moments(train_images)
        target = (mean * len(train_images) + 0.5) / (len(train_images) + 1)
        low, high = np.full_like(target, -1e6), np.full_like(target, 1e6)
        for _ in range(100):  # bisection: the mean rises with the logits
            middle = (low + high) / 2
            below = continuous_bernoulli_mean(middle) < target
            low, high = np.where(below, middle, low), np.where(below, high, middle)
        return image_distribution(tfd.ContinuousBernoulli(logits=np.float32((low + high) / 2)))


def continuous_bernoulli_mean(logits):
    """The mean of a continuous Bernoulli, 1 / (1 - exp(-logits)) - 1 / logits (1/2 at 0)."""
    small = np.abs(logits) < 1e-4
    safe = np.where(small, 1.0, logits)
    with np.errstate(over="ignore"):
        mean = 1 / (1 - np.exp(-safe)) - 1 / safe
    return np.where(small, 0.5 + logits / 12, mean)


class EightBit(ImageLikelihood):
    """Base of the 8-bit likelihoods: images stored as integers 0..255, fed as k / 255.

    Their log_prob is a probability of the 256 values, so bits/dim come straight from
    it and no dequantization noise is needed.
    """

    discrete = True
    levels = LEVELS

    @staticmethod
    def example_pixels(rng, shape):
        return rng.integers(0, LEVELS, shape) / (LEVELS - 1)

    def distribution(self, params):
        return tfd.Independent(self.pixels(params), reinterpreted_batch_ndims=IMAGE_EVENT_NDIMS)

    def pixels(self, params):
        """The per-pixel `EightBitPixel` for decoder outputs [B, H, W, C * params_per_pixel]."""
        raise NotImplementedError

    def marginal(self, train_images, chunk=2000):
        """Each pixel's histogram of its 256 values in training, add-one smoothed, as a free
        categorical: the per-pixel marginal over the data's levels (for either 8-bit layer)."""
        counts = 0
        offsets = np.arange(np.prod(train_images.shape[1:])) * LEVELS
        for first in range(0, len(train_images), chunk):
            levels = np.rint(np.asarray(train_images[first:first + chunk], np.float32) * (LEVELS - 1))
            flat = np.clip(levels, 0, LEVELS - 1).astype(np.int64).reshape(len(levels), -1) + offsets
            counts = counts + np.bincount(flat.ravel(), minlength=len(offsets) * LEVELS)
        counts = (counts + 1.0).reshape(*train_images.shape[1:], LEVELS)
        return image_distribution(Categorical256Pixel(logits=np.float32(np.log(counts))))

    def per_channel(self, params):
        """[B, H, W, C * K] -> [B, H, W, C, K]: channel c owns entries c*K .. c*K + K - 1."""
        channels = params.shape[-1] // self.params_per_pixel
        return tf.reshape(params, tf.concat([tf.shape(params)[:-1], [channels, self.params_per_pixel]], 0))


@serializable
@LIKELIHOODS.register("categorical256")
class Categorical256(EightBit):
    """A free 256-way categorical per pixel and channel (as in PixelRNN's softmax output).

    Example:
        Categorical256()(decoder_output)  # decoder_output [B, H, W, C * 256]
    """

    params_per_pixel = LEVELS

    def pixels(self, params):
        return Categorical256Pixel(logits=self.per_channel(params))

    def export_parameters(self, dist):
        return {"x_logits": dist.distribution.logits}


@serializable
@LIKELIHOODS.register("discretized_logistic")
class DiscretizedLogistic(EightBit):
    """One discretized logistic per pixel and channel (PixelCNN++ without the mixture):
    two parameters where the categorical needs 256, and neighbouring values share mass.

    The log-scale is floored at `MIN_LOG_SCALE` as in PixelCNN++: a scale of about a
    quarter bin, below which sharper pixels gain little but gradients grow steep.

    Example:
        DiscretizedLogistic()(decoder_output)  # decoder_output [B, H, W, C * 2]: loc, log-scale
    """

    params_per_pixel = 2
    MIN_LOG_SCALE = -7.0

    def pixels(self, params):
        params = self.per_channel(params)
        return DiscretizedLogisticPixel(loc=params[..., 0],
                                        log_scale=tf.maximum(params[..., 1], self.MIN_LOG_SCALE))

    def export_parameters(self, dist):
        return {"x_loc": dist.distribution.loc, "x_log_scale": dist.distribution.log_scale}
