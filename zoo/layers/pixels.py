"""Per-pixel TFP distributions the likelihood layers are made of.

`LogitBernoulli` is a cheaper `tfd.Bernoulli`; the 8-bit pixels model integers 0..255 seen
as floats k / 255 (a free 256-way categorical, and the discretized logistic of PixelCNN++).
"""

import tensorflow as tf
import tensorflow_probability as tfp

tfd = tfp.distributions

class LogitBernoulli(tfd.Bernoulli):
    """`tfd.Bernoulli` whose log_prob is x * logits - softplus(logits): the same value as TFP's
    -(1 - x) softplus(logits) - x softplus(-logits) for every x, with one softplus per pixel
    instead of two (forward and backward), the largest elementwise cost of a decoder."""

    def _log_prob(self, event):
        logits = tf.convert_to_tensor(self._logits)
        return tf.cast(event, logits.dtype) * logits - tf.math.softplus(logits)


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
