"""`Sampler`: what a VAE draws its codes z from when it generates, fitted after training.

A VAE's prior p(z) and its aggregate posterior q(z) = E_x q(z|x) rarely match, so prior
draws can land where no training image was encoded. A post-hoc sampler is a density fitted
to the codes of the encoded training set (Ghosh et al. 2020; Dai and Wipf 2019), drawn from
instead of the prior. Its fitted state is non-trainable weights of the model, so `.keras`
files, presets and the export carry it; `sample(seed)` is stateless (row i depends only on
seed[i]), so Python and every export draw the same codes.
"""

import numpy as np
import tensorflow as tf
import tf_keras as keras

from zoo.errors import ZooError
from zoo.registry import Registry
from zoo.seeds import PRIOR_STREAM, stream

SAMPLERS = Registry("samplers")


def signature_name(kind):
    """The export signature that draws from a sampler of kind `kind`: `sample_<kind>`, unless
    its class names another (`SIGNATURE`)."""
    return SAMPLERS.get(kind).SIGNATURE or f"sample_{kind}"


class Sampler(keras.layers.Layer):
    """A density over a VAE's continuous vector codes that generation draws z from.

    Subclasses make their weights in `make_weights(latent_dim)`, fit them in
    `fit(codes, seed, verbose)` and draw with `sample(seed)`. The layer is not trainable: the
    VAE's `fit` leaves it alone, and `fit` here sets it from the encoded training set.
    """

    SIGNATURE = None  # the export signature's name, if not sample_<kind>

    def __init__(self, **kwargs):
        kwargs["trainable"] = False
        super().__init__(**kwargs)
        self.latent_dim = None

    @property
    def kind(self):
        """Its registered name ("gaussian_mixture", "two_stage", "flow", ...)."""
        return SAMPLERS.name_of(self)

    @property
    def signature(self):
        """The export signature that draws from it."""
        return signature_name(self.kind)

    def attach(self, posterior):
        """Make the weights for `posterior`'s codes: continuous vectors only."""
        if not posterior.continuous or len(posterior.code_shape) != 1:
            raise ZooError(f"a {self.kind} sampler needs continuous vector codes; "
                           f"{type(posterior).__name__} has other codes")
        if self.latent_dim is None:
            self.latent_dim = int(posterior.code_shape[0])
            self.make_weights(self.latent_dim)

    def make_weights(self, latent_dim):
        raise NotImplementedError

    def fit(self, codes, seed=0, verbose=False):
        """Fit to `codes` [N, latent_dim] (the encoded training set); returns self."""
        raise NotImplementedError

    def sample(self, seed):
        """Codes z [B, latent_dim], one per seed of the int64 [B] `seed`; row i depends only on seed[i]."""
        raise NotImplementedError

    def get_config(self):
        config = super().get_config()
        config.pop("trainable", None)
        return config


class NoiseSampler(Sampler):
    """A sampler whose networks map standard normal noise u [B, latent_dim] to standardized
    codes in one batched, deterministic `transform(u)`: only the noise is drawn row by row.

    The networks model the codes standardized by their training mean and deviation (weights
    `shift` and `scale`), so their defaults suit codes of any spread.
    """

    def make_weights(self, latent_dim):
        self.shift = self.add_weight(name="shift", shape=(latent_dim,), initializer="zeros", trainable=False)
        self.scale = self.add_weight(name="scale", shape=(latent_dim,), initializer="ones", trainable=False)
        self.make_networks(latent_dim)

    def make_networks(self, latent_dim):
        raise NotImplementedError

    def transform(self, u):
        """Standardized codes [B, latent_dim] from noise u [B, latent_dim]."""
        raise NotImplementedError

    def standardize(self, codes):
        """Set `shift` and `scale` from `codes` [N, latent_dim]; returns them standardized."""
        codes = np.asarray(codes, np.float32)
        mean, deviation = codes.mean(axis=0), np.maximum(codes.std(axis=0), 1e-6)
        self.shift.assign(mean)
        self.scale.assign(deviation)
        return (codes - mean) / deviation

    def sample(self, seed):
        width = self.latent_dim
        u = tf.map_fn(lambda s: tf.random.stateless_normal([width], seed=stream(s, PRIOR_STREAM)),
                      tf.cast(seed, tf.int64), fn_output_signature=tf.TensorSpec([width], tf.float32))
        return self.shift + self.scale * self.transform(u)
