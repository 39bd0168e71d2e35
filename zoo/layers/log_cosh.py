"""The log-cosh reconstruction cost (Chen et al. 2019, "Log hyperbolic cosine loss improves
variational auto-encoder"; PyTorch-VAE's LogCoshVAE): per pixel log(cosh(a t)) / a of the
error t = x - sigmoid(logits), about a t^2 / 2 for small errors (a squared error) and
|t| - log(2) / a for large ones (an absolute error), summed over the image.

log cosh(u) = |u| + log(1 + exp(-2|u|)) - log 2 = |u| + softplus(-2|u|) - log 2: cosh(u) itself
overflows float32 past |u| = 89 (a = 100 and an error of 0.9 reach it), this form never does.
"""

import math

import tensorflow as tf
import tf_keras as keras

from zoo.checks import check_number
from zoo.layers.likelihoods import IMAGE_EVENT_NDIMS, LIKELIHOODS
from zoo.layers.reconstruction_cost import CostImage, ReconstructionCost

serializable = keras.saving.register_keras_serializable(package="zoo")


def log_cosh(u):
    """log(cosh(u)) elementwise, finite for every finite u."""
    magnitude = tf.abs(u)
    return magnitude + tf.nn.softplus(-2.0 * magnitude) - math.log(2.0)


def log_cosh_cost(x, mean, alpha):
    """sum over the pixels [H, W, C] of log(cosh(alpha (x - mean))) / alpha, per image [...]."""
    pixels = log_cosh(alpha * (tf.convert_to_tensor(x, tf.float32) - mean)) / alpha
    return tf.reduce_sum(pixels, axis=list(range(-IMAGE_EVENT_NDIMS, 0)))


class LogCoshImage(CostImage):
    """Not a density: the decoded image sigmoid(logits), whose `log_prob(x)` is minus the
    log-cosh cost of x against it."""

    def __init__(self, logits, alpha, validate_args=False, allow_nan_stats=True, name="LogCoshImage"):
        self._alpha = float(alpha)
        super().__init__(logits, dict(locals()), validate_args, allow_nan_stats, name)

    @property
    def alpha(self):
        return self._alpha

    def cost(self, x, mean):
        return log_cosh_cost(x, mean, self._alpha)


@serializable
@LIKELIHOODS.register("log_cosh")
class LogCosh(ReconstructionCost):
    """The decoded image sigmoid(logits) scored by sum_pixels log(cosh(alpha (x - x_hat))) / alpha
    (Chen et al. 2019): a reconstruction cost, not a density (`is_density = False`), so the
    model has no likelihood and is judged by its reconstructions and samples.

    Args:
        alpha: the sharpness a: errors much below 1 / a cost about a t^2 / 2, larger ones
            about |t| (10: PyTorch-VAE's configs/logcosh_vae.yaml; its class default is 100).

    Example:
        LogCosh(alpha=10.0)(logits).log_prob(x)  # -sum log(cosh(10 (x - sigmoid(logits)))) / 10 per image
    """

    def __init__(self, alpha=10.0, **kwargs):
        super().__init__(**kwargs)
        check_number("alpha", alpha, positive=True)
        self.alpha = float(alpha)

    @property
    def cost_is(self):
        return f"sum over pixels of log(cosh({self.alpha:g} (x - sigmoid(logits)))) / {self.alpha:g} per image"

    def distribution(self, params):
        return LogCoshImage(logits=params, alpha=self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}
