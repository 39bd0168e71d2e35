"""Reconstruction costs in a likelihood's place (MS-SSIM, log-cosh): the decoded image
sigmoid(logits) scored against x by a cost that is not a normalized density, so a model with
one has no likelihood (`is_density = False`; `VAE.has_likelihood`)."""

import tensorflow as tf
import tensorflow_probability as tfp

from zoo.layers.likelihoods import ImageLikelihood

tfd = tfp.distributions


class CostImage(tfd.Distribution):
    """Not a density: an image distribution whose mean and every sample are the decoded image
    sigmoid(logits), and whose `log_prob(x)` is minus a cost of x against that mean, one per
    image (`cost`, a subclass's). The event is one image [H, W, C]."""

    def __init__(self, logits, parameters, validate_args=False, allow_nan_stats=True, name="CostImage"):
        with tf.name_scope(name) as name:
            self._logits = tf.convert_to_tensor(logits, dtype_hint=tf.float32, name="logits")
        super().__init__(dtype=tf.float32, reparameterization_type=tfd.FULLY_REPARAMETERIZED,
                         validate_args=validate_args, allow_nan_stats=allow_nan_stats,
                         parameters=parameters, name=name)

    @classmethod
    def _parameter_properties(cls, dtype, num_classes=None):
        return {"logits": tfp.util.ParameterProperties(event_ndims=3)}

    @property
    def logits(self):
        return self._logits

    def _event_shape(self):
        return self._logits.shape[-3:]

    def _event_shape_tensor(self):
        return tf.shape(self._logits)[-3:]

    def _batch_shape(self):
        return self._logits.shape[:-3]

    def _batch_shape_tensor(self):
        return tf.shape(self._logits)[:-3]

    def _mean(self):
        return tf.sigmoid(self._logits)

    def _sample_n(self, n, seed=None):
        mean = self._mean()
        return tf.broadcast_to(mean, tf.concat([[n], tf.shape(mean)], 0))

    def _log_prob(self, x):
        return -self.cost(tf.convert_to_tensor(x, tf.float32), self._mean())

    def cost(self, x, mean):
        """The cost of images x [..., H, W, C] against the decoded images, one per image [...]."""
        raise NotImplementedError


class ReconstructionCost(ImageLikelihood):
    """Base of the likelihood blocks that are costs: the decoder gives logits, the block a
    `CostImage` of them (`distribution`, a subclass's), and an export serves the logits."""

    is_density = False
    cost_is = "a reconstruction cost per image"

    def export_parameters(self, dist):
        return {"x_logits": dist.logits}
