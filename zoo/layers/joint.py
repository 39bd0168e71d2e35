"""JointVAE's latents (Dupont 2018, "Learning disentangled joint continuous and discrete
representations"): `latent_dim` Gaussian variables and one K-way categorical, independent
given x, in one code z = [z_continuous, one-hot c] of latent_dim + K numbers. q and p are
TFP `Blockwise` distributions of the two parts, so the KL, log q and the draws are those of
the parts, summed or joined; the parts' own KLs (`kl_per_part`) are what the capacity
objective `joint_capacity` pushes towards their own capacities.
"""

import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras as keras

from zoo.layers.posteriors import POSTERIORS, RelaxedCategoricalLatents, diagonal_normal
from zoo.layers.priors import PRIORS, Prior, unwrap

tfd = tfp.distributions
serializable = keras.saving.register_keras_serializable(package="zoo")
PART_NAMES = ("continuous", "discrete")


@serializable
@POSTERIORS.register("joint")
class JointPosterior(RelaxedCategoricalLatents):
    """q(z, c|x) = N(z; loc, diag(scale^2)) x Cat(c; softmax(logits)): the encoder gives 2 *
    latent_dim + categories numbers. While training c is a relaxed one-hot draw
    (Gumbel-softmax at `temperature`, Dupont's 0.67 by default, lowered by the schedule of
    `RelaxedCategorical` when `temperature_decay` > 0); to score and encode it is the discrete
    categorical, so codes hold a hard one-hot c.

    Args:
        latent_dim: the Gaussian variables.
        categories: K, the values of the categorical variable.
        temperature, min_temperature, temperature_decay: the relaxation's schedule,
            max(min, temperature * exp(-decay * epochs)).

    Example:
        VAE(..., posterior=JointPosterior(10, categories=10), prior=JointPrior(),
            objective=JointCapacity())
    """

    continuous = False  # relaxed draws: importance weights need q's density at them (IWAE refuses)
    prior_type = "joint"
    part_names = PART_NAMES

    def __init__(self, latent_dim, categories=10, temperature=0.67, min_temperature=0.5, temperature_decay=0.0,
                 **kwargs):
        super().__init__(latent_dim, categories, temperature, min_temperature, temperature_decay, **kwargs)

    @property
    def params_size(self):
        return 2 * self.latent_dim + self.categories

    @property
    def code_shape(self):
        return (self.latent_dim + self.categories,)

    def normal_part(self, params):
        return diagonal_normal(params[..., :2 * self.latent_dim])

    def logits(self, params):
        return params[..., 2 * self.latent_dim:]

    def distribution(self, params):
        relaxed = tfd.RelaxedOneHotCategorical(self.temperature, logits=self.logits(params))
        return tfd.Blockwise([self.normal_part(params), relaxed])

    def inference(self, params):
        discrete = tfd.OneHotCategorical(logits=self.logits(params), dtype=tf.float32)
        return tfd.Blockwise([self.normal_part(params), discrete])

    def code(self, q):
        """The Gaussian's mean and the most probable category, one-hot."""
        gaussian, categorical = unwrap(q).distributions
        return tf.concat([gaussian.mean(), categorical.mode()], axis=-1)

    def location(self, q):
        gaussian, categorical = unwrap(q).distributions
        return tf.concat([gaussian.mean(), categorical.probs_parameter()], axis=-1)

    def summary(self, q):
        gaussian, categorical = unwrap(q).distributions
        return {"z_mean": gaussian.mean(), "z_stddev": gaussian.stddev(), "z_probs": categorical.probs_parameter()}


@serializable
@PRIORS.register("joint")
class JointPrior(Prior):
    """p(z, c) = N(0, I) x uniform over the K one-hot values, for `JointPosterior`'s codes.

    Example:
        VAE(..., posterior=JointPosterior(10, categories=10), prior=JointPrior())
    """

    continuous = False
    posterior_type = "joint"

    def attach(self, posterior, image_shape=None, encode=None, condition_size=None):
        super().attach(posterior, image_shape, encode, condition_size)
        self.parts = (posterior.latent_dim, posterior.categories)

    def distribution(self):
        latent_dim, categories = self.parts
        return tfd.Blockwise([tfd.Independent(tfd.Normal(tf.zeros([latent_dim]), 1.0), reinterpreted_batch_ndims=1),
                              tfd.OneHotCategorical(logits=tf.zeros([categories]), dtype=tf.float32)])

    def kl_per_part(self, q, z):
        """KL(q || p) of each part per example [B, 2], continuous then discrete (they sum to `kl`)."""
        return tf.stack([tfd.kl_divergence(a, b) for a, b in zip(unwrap(q).distributions,
                                                                 self.distribution().distributions)], axis=-1)
