"""Observation models p(x|z): decoder parameters in, a distribution over whole images out.

Each layer says how many parameters it needs per pixel (`params_per_pixel`), which
tensors describe it in an export (`export_parameters`), which data it models (`levels`)
and what realistic pixels look like for it (`example_pixels`).
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
    `levels` is the number of pixel values the dataset must have (None: any data scaled
    to [0, 1]); recipes check it, so an 8-bit model never trains on 17-level digits.
    `pixel_range` is where pixels must lie: `VAE.fit` refuses arrays outside it, since
    log_prob would still return numbers for them, just meaningless ones.
    """

    params_per_pixel = 1
    discrete = False
    levels = None
    pixel_range = (0.0, 1.0)  # the x its log_prob is defined for; None: any real number

    def __init__(self, **kwargs):
        super().__init__(convert_to_tensor_fn=tfd.Distribution.mean, **kwargs)

    @classmethod
    def for_variant(cls, variant):
        """The layer a `VAEConfig` asks for."""
        return cls(name="likelihood")

    @staticmethod
    def example_pixels(rng, shape):
        """Pixels this model could have produced, for warm-up and example requests."""
        return rng.random(shape)

    def export_parameters(self, dist):
        raise NotImplementedError


class LogitBernoulli(tfd.Bernoulli):
    """`tfd.Bernoulli` whose log_prob is x * logits - softplus(logits): the same value as TFP's
    -(1 - x) softplus(logits) - x softplus(-logits) for every x, with one softplus per pixel
    instead of two (forward and backward), the largest elementwise cost of a decoder."""

    def _log_prob(self, event):
        logits = tf.convert_to_tensor(self._logits)
        return tf.cast(event, logits.dtype) * logits - tf.math.softplus(logits)


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
        self.sigma = sigma

    @classmethod
    def for_variant(cls, variant):
        return cls(sigma=variant.sigma, name="likelihood")

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

    def get_config(self):
        return {**super().get_config(), "sigma": self.sigma}


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


LEVELS = 256  # pixel values 0..255, fed to the model as k / 255


class EightBitPixel(tfd.AutoCompositeTensorDistribution):
    """One pixel stored as an integer k in 0..255 and seen as the float x = k / 255.

    `log_prob(x)` rounds x * 255 to k (float32 k / 255 is rarely exact) and clips it to
    0..255; `sample` returns k / 255; `mean` is sum_k p(k) k / 255. Subclasses give the
    log-probabilities of all 256 values (`_level_log_probs`, [..., 256], for sampling and
    the mean) and may give a cheaper log p(k) of one value (`_log_prob_level`).
    """

    def _event_shape(self):
        return tf.TensorShape([])

    def _event_shape_tensor(self):
        return tf.constant([], tf.int32)

    def _level_log_probs(self):
        raise NotImplementedError

    def _log_prob_level(self, k):
        return tfd.Categorical(logits=self._level_log_probs()).log_prob(k)

    def _log_prob(self, x):
        k = tf.clip_by_value(tf.round(x * (LEVELS - 1)), 0, LEVELS - 1)
        return self._log_prob_level(tf.cast(k, tf.int32))

    def _sample_n(self, n, seed=None):
        k = tfd.Categorical(logits=self._level_log_probs()).sample(n, seed=seed)
        return tf.cast(k, self.dtype) / (LEVELS - 1)

    def _mean(self):
        values = tf.range(LEVELS, dtype=self.dtype) / (LEVELS - 1)
        return tf.reduce_sum(tf.exp(self._level_log_probs()) * values, axis=-1)


class Categorical256Pixel(EightBitPixel):
    """A free 256-way categorical over a pixel's values, from `logits` [..., 256]."""

    def __init__(self, logits, validate_args=False, allow_nan_stats=True, name="Categorical256Pixel"):
        parameters = dict(locals())
        with tf.name_scope(name) as name:
            self._logits = tf.convert_to_tensor(logits, dtype_hint=tf.float32, name="logits")
        super().__init__(dtype=tf.float32, reparameterization_type=tfd.NOT_REPARAMETERIZED,
                         validate_args=validate_args, allow_nan_stats=allow_nan_stats,
                         parameters=parameters, name=name)

    @classmethod
    def _parameter_properties(cls, dtype, num_classes=None):
        return {"logits": tfp.util.ParameterProperties(event_ndims=1)}

    @property
    def logits(self):
        return self._logits

    def _level_log_probs(self):
        return tf.nn.log_softmax(self._logits)

    def _log_prob_level(self, k):
        return tfd.Categorical(logits=self._logits).log_prob(k)


class DiscretizedLogisticPixel(EightBitPixel):
    """A logistic(loc, exp(log_scale)) on [0, 1] binned into 256 bins of width 1/255 around
    each k / 255, the first and last bins taking the tails (Salimans et al. 2017, PixelCNN++).

    log p(k) needs the logistic CDF at the bin's two edges only, not all 256 bins.
    """

    def __init__(self, loc, log_scale, validate_args=False, allow_nan_stats=True,
                 name="DiscretizedLogisticPixel"):
        parameters = dict(locals())
        with tf.name_scope(name) as name:
            self._loc = tf.convert_to_tensor(loc, dtype_hint=tf.float32, name="loc")
            self._log_scale = tf.convert_to_tensor(log_scale, dtype_hint=tf.float32, name="log_scale")
        super().__init__(dtype=tf.float32, reparameterization_type=tfd.NOT_REPARAMETERIZED,
                         validate_args=validate_args, allow_nan_stats=allow_nan_stats,
                         parameters=parameters, name=name)

    @classmethod
    def _parameter_properties(cls, dtype, num_classes=None):
        return {"loc": tfp.util.ParameterProperties(), "log_scale": tfp.util.ParameterProperties()}

    @property
    def loc(self):
        return self._loc

    @property
    def log_scale(self):
        return self._log_scale

    def _level_log_probs(self):
        return self._log_prob_level(tf.range(LEVELS), self._loc[..., None], self._log_scale[..., None])

    def _log_prob_level(self, k, loc=None, log_scale=None):
        """log(sigmoid(upper) - sigmoid(lower)), upper and lower the standardized bin edges,
        as log sigmoid(upper) + log sigmoid(-lower) + log(1 - exp(lower - upper)): exact and
        finite in float32 far in the tails; the edge bins keep only the first or second term."""
        loc = self._loc if loc is None else loc
        log_scale = self._log_scale if log_scale is None else log_scale
        centred = tf.cast(k, loc.dtype) / (LEVELS - 1) - loc
        half_bin = 0.5 / (LEVELS - 1)
        inv_scale = tf.exp(-log_scale)
        upper, lower = inv_scale * (centred + half_bin), inv_scale * (centred - half_bin)
        log_below_upper = -tf.math.softplus(-upper)  # log CDF(upper edge)
        log_above_lower = -tf.math.softplus(lower)  # log (1 - CDF(lower edge))
        log_width = tfp.math.log1mexp(2 * half_bin * inv_scale)  # log(1 - exp(lower - upper))
        return tf.where(k == 0, log_below_upper, tf.where(
            k == LEVELS - 1, log_above_lower, log_below_upper + log_above_lower + log_width))


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

    def per_channel(self, params):
        """[B, H, W, C * K] -> [B, H, W, C, K]: channel c owns entries c*K .. c*K + K - 1."""
        channels = params.shape[-1] // self.params_per_pixel
        return tf.reshape(params, tf.concat([tf.shape(params)[:-1], [channels, self.params_per_pixel]], 0))


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
