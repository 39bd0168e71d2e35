"""Priors p(z): layers whose `distribution()` is the prior over one code z, and `kl(q, z)`.

The KL term is analytic where TFP knows it and otherwise the Monte Carlo estimate
log q(z) - log p(z) at the same draws z the reconstruction term uses.
"""

import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras as keras

from zoo.errors import ConfigError
from zoo.registry import Registry

tfd = tfp.distributions
PRIORS = Registry("prior")


def unwrap(q):
    """The distribution inside a distribution layer's output (a tensor-coercible wrapper that
    `isinstance` checks and KL registrations do not see through)."""
    return getattr(q, "tensor_distribution", q)


class Prior(keras.layers.Layer):
    """Base. `continuous` says which latents it fits: Gaussian codes or one-hot codes."""

    continuous = True

    def __init__(self, latent_dim, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = latent_dim

    @classmethod
    def for_variant(cls, variant, posterior_of):
        """The prior a `VAEConfig` asks for; `posterior_of(x)` is the model's q(z|x)."""
        return cls(variant.latent_dim, name="prior")

    @classmethod
    def check(cls, variant):
        from zoo.posteriors import POSTERIORS

        if POSTERIORS.get(variant.latent).continuous != cls.continuous:
            fits = "continuous latents" if cls.continuous else "categorical latents"
            allowed = [name for name in PRIORS.names() if PRIORS.get(name).continuous != cls.continuous]
            raise ConfigError("prior", variant.prior, f"a prior for latent '{variant.latent}' "
                              f"({', '.join(allowed)}); '{variant.prior}' fits {fits}")

    def distribution(self):
        raise NotImplementedError

    def kl(self, q, z):
        """KL(q || p) per example [B]; `z` [S, B, ...] are draws from q for the estimate."""
        q = unwrap(q)
        p = self.distribution()
        try:
            return tfd.kl_divergence(q, p)
        except NotImplementedError:
            return tf.reduce_mean(q.log_prob(z) - p.log_prob(z), axis=0)

    def kl_per_variable(self, q):
        """Analytic KL per latent variable [B, latent_dim] when q and p both factorize, else None."""
        return None

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim}


@PRIORS.register("standard_normal")
class StandardNormal(Prior):
    """p(z) = N(0, I).

    Example:
        StandardNormal(20).distribution().sample(5)  # [5, 20]
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


@PRIORS.register("mixture")
class MixtureOfGaussians(Prior):
    """A learned mixture of `prior_components` diagonal Gaussians (weights, means, scales).

    Example:
        MixtureOfGaussians(2, components=10).distribution().log_prob(z)
    """

    def __init__(self, latent_dim, components, **kwargs):
        super().__init__(latent_dim, **kwargs)
        self.components = components
        self.logits = self.add_weight(name="logits", shape=(components,), initializer="zeros")
        self.loc = self.add_weight(name="loc", shape=(components, latent_dim),
                                   initializer=keras.initializers.RandomNormal(stddev=1.0))
        self.log_scale = self.add_weight(name="log_scale", shape=(components, latent_dim),
                                         initializer="zeros")

    @classmethod
    def for_variant(cls, variant, posterior_of):
        return cls(variant.latent_dim, variant.prior_components, name="prior")

    def distribution(self):
        return tfd.MixtureSameFamily(
            tfd.Categorical(logits=self.logits),
            tfd.Independent(tfd.Normal(self.loc, tf.exp(self.log_scale)), reinterpreted_batch_ndims=1))

    def get_config(self):
        return {**super().get_config(), "components": self.components}


@PRIORS.register("vamp")
class VampPrior(Prior):
    """The VampPrior (Tomczak & Welling 2018): p(z) = (1/C) sum_c q(z|u_c), the model's own
    posterior at C learned pseudo-inputs u_c, clipped to [0, 1] like pixels. It is trained
    with the encoder, so the prior follows the aggregate posterior.

    Args:
        posterior_of: the model's x -> q(z|x) (inference form); not tracked as a sublayer.
        image_shape: the shape of one pseudo-input.

    Example:
        VampPrior(40, 500, (28, 28, 1), posterior_of=model.posterior_of)
    """

    PSEUDO_INPUT_MEAN, PSEUDO_INPUT_STDDEV = 0.05, 0.01  # the paper's MNIST initialization

    def __init__(self, latent_dim, components, image_shape, posterior_of, **kwargs):
        super().__init__(latent_dim, **kwargs)
        self.components = components
        self.image_shape = tuple(image_shape)
        self._posterior_of = [posterior_of]  # a list: Keras must not track the model's layers twice
        self.pseudo_inputs = self.add_weight(
            name="pseudo_inputs", shape=(components, *self.image_shape),
            initializer=keras.initializers.RandomNormal(self.PSEUDO_INPUT_MEAN, self.PSEUDO_INPUT_STDDEV))

    @classmethod
    def for_variant(cls, variant, posterior_of):
        return cls(variant.latent_dim, variant.prior_components, variant.image_shape, posterior_of,
                   name="prior")

    def distribution(self):
        components = self._posterior_of[0](tf.clip_by_value(self.pseudo_inputs, 0.0, 1.0))
        return tfd.MixtureSameFamily(tfd.Categorical(logits=tf.zeros([self.components])), components)

    def get_config(self):
        return {**super().get_config(), "components": self.components, "image_shape": self.image_shape}


@PRIORS.register("uniform_categorical")
class UniformCategorical(Prior):
    """Each of the `latent_dim` K-way latents uniform over its K one-hot values.

    Example:
        UniformCategorical(30, 10).distribution().sample()  # [30, 10] one-hot rows
    """

    continuous = False

    def __init__(self, latent_dim, categories, **kwargs):
        super().__init__(latent_dim, **kwargs)
        self.categories = categories

    @classmethod
    def for_variant(cls, variant, posterior_of):
        return cls(variant.latent_dim, variant.categories, name="prior")

    def distribution(self):
        return tfd.Independent(tfd.OneHotCategorical(logits=tf.zeros([self.latent_dim, self.categories]),
                                                     dtype=tf.float32), reinterpreted_batch_ndims=1)

    def kl_per_variable(self, q):
        return tfd.kl_divergence(unwrap(q).distribution, self.distribution().distribution)

    def get_config(self):
        return {**super().get_config(), "categories": self.categories}
