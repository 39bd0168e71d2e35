"""Priors p(z): layers whose `distribution()` is the prior over one code z, and `kl(q, z)`.

A prior learns its shapes from the model it belongs to: `VAE` calls `attach(posterior,
image_shape, encode)` when it is built, so `VampPrior(components=200)` needs no sizes.
The KL term is analytic where TFP knows it and otherwise the Monte Carlo estimate
log q(z) - log p(z) at the same draws z the reconstruction term uses.
"""

import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras as keras

from zoo.checks import check_count
from zoo.errors import ZooError
from zoo.registry import Registry

tfd = tfp.distributions
PRIORS = Registry("prior")
serializable = keras.saving.register_keras_serializable(package="zoo")


def unwrap(q):
    """The distribution inside a distribution layer's output (a tensor-coercible wrapper that
    `isinstance` checks and KL registrations do not see through)."""
    return getattr(q, "tensor_distribution", q)


class Prior(keras.layers.Layer):
    """Base. `continuous` says which latents it fits: Gaussian codes or one-hot codes;
    `conditional` whether it is p(z|y), which needs the model's condition (`given`)."""

    continuous = True
    conditional = False

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.code_shape = None

    def attach(self, posterior, image_shape=None, encode=None, condition_size=None):
        """Take the shape of one code from `posterior` (and make the weights that depend on it).
        `encode(x)` is the model's q(z|x), for priors defined through the encoder;
        `condition_size` the size of the model's condition vector (None: unconditional)."""
        if self.code_shape is not None and self.code_shape != tuple(posterior.code_shape):
            raise ZooError(f"{self.name} is attached to codes of shape {self.code_shape} already")
        self.code_shape = tuple(posterior.code_shape)

    @property
    def latent_dim(self):
        if self.code_shape is None:
            raise ZooError(f"the prior {self.name} is not attached to a model yet: pass it to zoo.VAE "
                           "(or call prior.attach(posterior))")
        return self.code_shape[0]

    def given(self, condition):
        """The prior for examples with condition vectors `condition` [B, size] (None: no
        condition): itself, unless it is a conditional prior p(z|y)."""
        return self

    def distribution(self):
        raise NotImplementedError

    def sample(self, n, seed=None):
        """`n` codes z ~ p(z), [n, *code_shape]."""
        return self.distribution().sample(n, seed=seed)

    def kl(self, q, z):
        """KL(q || p) per example [B]; `z` [S, B, ...] are draws from q for the estimate."""
        q = unwrap(q)
        p = self.distribution()
        try:
            return tfd.kl_divergence(q, p)
        except NotImplementedError:
            return tf.reduce_mean(q.log_prob(z) - p.log_prob(z), axis=0)

    def kl_per_layer(self, q, z):
        """KL per example and stochastic layer [B, L], summing to `kl`; L = 1 but for a ladder."""
        return self.kl(q, z)[..., None]

    def log_ratio_per_layer(self, q, z):
        """log q(z|x) - log p(z) at the draws z [S, B, ...], per stochastic layer: [S, B, L]."""
        return (unwrap(q).log_prob(z) - self.distribution().log_prob(z))[..., None]

    def kl_per_variable(self, q):
        """Analytic KL per latent variable [B, latent_dim] when q and p both factorize, else None."""
        return None


@serializable
@PRIORS.register("standard_normal")
class StandardNormal(Prior):
    """p(z) = N(0, I).

    Example:
        prior = StandardNormal(); prior.attach(DiagonalNormal(20)); prior.sample(5)  # [5, 20]
    """

    def distribution(self):
        return tfd.Independent(tfd.Normal(tf.zeros([self.latent_dim]), 1.0), reinterpreted_batch_ndims=1)

    def kl(self, q, z):
        q = unwrap(q)
        if isinstance(q, tfd.MultivariateNormalLinearOperator):  # full covariance: still analytic
            return tfd.kl_divergence(q, tfd.MultivariateNormalDiag(tf.zeros([self.latent_dim])))
        return super().kl(q, z)

    def kl_per_variable(self, q):
        q = unwrap(q)
        if isinstance(q, tfd.Independent) and isinstance(q.distribution, tfd.Normal):
            return tfd.kl_divergence(q.distribution, tfd.Normal(0.0, 1.0))
        return None


@serializable
@PRIORS.register("mixture")
class MixtureOfGaussians(Prior):
    """A learned mixture of `components` diagonal Gaussians (weights, means, scales).

    Example:
        VAE(..., prior=MixtureOfGaussians(components=10))
    """

    def __init__(self, components=10, **kwargs):
        super().__init__(**kwargs)
        check_count("components", components)
        self.components = components

    def attach(self, posterior, image_shape=None, encode=None, condition_size=None):
        fresh = self.code_shape is None
        super().attach(posterior, image_shape, encode)
        if fresh:
            self.logits = self.add_weight(name="logits", shape=(self.components,), initializer="zeros")
            self.loc = self.add_weight(name="loc", shape=(self.components, self.latent_dim),
                                       initializer=keras.initializers.RandomNormal(stddev=1.0))
            self.log_scale = self.add_weight(name="log_scale", shape=(self.components, self.latent_dim),
                                             initializer="zeros")

    def distribution(self):
        return tfd.MixtureSameFamily(
            tfd.Categorical(logits=self.logits),
            tfd.Independent(tfd.Normal(self.loc, tf.exp(self.log_scale)), reinterpreted_batch_ndims=1))

    def get_config(self):
        return {**super().get_config(), "components": self.components}


@serializable
@PRIORS.register("vamp")
class VampPrior(Prior):
    """The VampPrior (Tomczak & Welling 2018): p(z) = (1/C) sum_c q(z|u_c), the model's own
    posterior at C learned pseudo-inputs u_c, clipped to [0, 1] like pixels. It is trained
    with the encoder, so the prior follows the aggregate posterior.

    The model's encoder is not one of this layer's attributes (the VAE owns and saves it);
    `attach` gives the prior the model's q(z|x), so the config holds `components` only.

    Args:
        components: the number C of pseudo-inputs.

    Example:
        VAE(encoder, DiagonalNormal(40), decoder, Bernoulli(), prior=VampPrior(components=200))
    """

    PSEUDO_INPUT_MEAN, PSEUDO_INPUT_STDDEV = 0.05, 0.01  # the paper's MNIST initialization

    def __init__(self, components=200, **kwargs):
        super().__init__(**kwargs)
        check_count("components", components)
        self.components = components
        self._encode = []  # a list: Keras must not track (and save) the model's encoder twice

    def attach(self, posterior, image_shape=None, encode=None, condition_size=None):
        if image_shape is None or encode is None:
            raise ZooError("VampPrior needs the model's image shape and encoder: pass it to zoo.VAE")
        fresh = self.code_shape is None
        super().attach(posterior, image_shape, encode)
        self._encode[:] = [encode]
        if fresh:
            self.pseudo_inputs = self.add_weight(
                name="pseudo_inputs", shape=(self.components, *image_shape),
                initializer=keras.initializers.RandomNormal(self.PSEUDO_INPUT_MEAN, self.PSEUDO_INPUT_STDDEV))

    def distribution(self):
        if not self._encode:
            raise ZooError("this VampPrior is not attached to a model: pass it to zoo.VAE")
        components = self._encode[0](tf.clip_by_value(self.pseudo_inputs, 0.0, 1.0))
        return tfd.MixtureSameFamily(tfd.Categorical(logits=tf.zeros([self.components])), components)

    def get_config(self):
        return {**super().get_config(), "components": self.components}


@serializable
@PRIORS.register("conditional_normal")
class ConditionalNormal(Prior):
    """A learned p(z|y) = N(mu(y), diag(sigma(y)^2)), one affine map of the condition vector
    for each (for class labels: a learned mean and scale per class). Needs a model with a
    condition (`VAE(..., condition=ClassLabel(10))`).

    Example:
        VAE(..., prior=ConditionalNormal(), condition=ClassLabel(10))
    """

    conditional = True

    def attach(self, posterior, image_shape=None, encode=None, condition_size=None):
        fresh = self.code_shape is None
        super().attach(posterior, image_shape, encode)
        if fresh:
            self.loc_kernel = self.add_weight(name="loc_kernel", shape=(condition_size, self.latent_dim),
                                              initializer="zeros")
            self.log_scale_kernel = self.add_weight(name="log_scale_kernel", shape=(condition_size, self.latent_dim),
                                                    initializer="zeros")

    def given(self, condition):
        if condition is None:
            raise ZooError("ConditionalNormal is p(z|y): pass y")
        return GivenCondition(self, condition)

    def distribution_given(self, condition):
        loc = tf.matmul(condition, self.loc_kernel)
        scale = tf.exp(tf.matmul(condition, self.log_scale_kernel))
        return tfd.Independent(tfd.Normal(loc, scale), reinterpreted_batch_ndims=1)

    def distribution(self):
        raise ZooError("ConditionalNormal is p(z|y): use prior.given(condition).distribution()")


class GivenCondition:
    """A conditional prior at the condition vectors [B, size] of a batch: the same interface
    as an unconditional prior (distribution, sample, the KL methods), so the objectives
    are written once for both."""

    def __init__(self, prior, condition):
        self.prior, self.condition = prior, condition
        self.latent_dim, self.code_shape = prior.latent_dim, prior.code_shape

    def distribution(self):
        return self.prior.distribution_given(self.condition)

    def sample(self, n=None, seed=None):
        """One code per condition row, [B, *code_shape] (`n` must be B or None)."""
        return self.distribution().sample(seed=seed)

    kl = Prior.kl  # analytic where TFP knows it, else the Monte Carlo estimate
    kl_per_layer = Prior.kl_per_layer
    log_ratio_per_layer = Prior.log_ratio_per_layer

    def kl_per_variable(self, q):
        q = unwrap(q)
        if isinstance(q, tfd.Independent) and isinstance(q.distribution, tfd.Normal):
            return tfd.kl_divergence(q.distribution, self.distribution().distribution)
        return None


@serializable
@PRIORS.register("uniform_categorical")
class UniformCategorical(Prior):
    """Each K-way latent uniform over its K one-hot values (shapes from the posterior).

    Example:
        VAE(..., posterior=RelaxedCategorical(30, categories=10), prior=UniformCategorical())
    """

    continuous = False

    def distribution(self):
        return tfd.Independent(tfd.OneHotCategorical(logits=tf.zeros(self.code_shape), dtype=tf.float32),
                               reinterpreted_batch_ndims=1)

    def kl_per_variable(self, q):
        return tfd.kl_divergence(unwrap(q).distribution, self.distribution().distribution)
