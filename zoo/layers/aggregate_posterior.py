"""Generation from the aggregate posterior: a Gaussian mixture fitted to the encoded
training set, sampled instead of the prior.

A VAE's prior and the aggregate posterior q(z) = E_x q(z|x) rarely match, so prior samples
can land where no training image was encoded; sampling z from a mixture fitted to the
training codes (the "posterior as new prior" view, as in Ghosh et al. 2020) gives sharper,
more typical samples. The mixture's parameters are non-trainable weights of the model, so
the export carries them and serves `sample_aggregate_posterior`.
"""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras as keras

from zoo.checks import check_count
from zoo.errors import ZooError

tfd = tfp.distributions
ENCODE_BATCH = 1000


@keras.saving.register_keras_serializable(package="zoo")
class AggregatePosterior(keras.layers.Layer):
    """A `components`-Gaussian full-covariance mixture over the model's continuous codes.

    Starts as the standard normal in every component; `fit(codes)` sets it from data.

    Example:
        VAE(..., aggregate_posterior=AggregatePosterior(10)); ...; fit_to_training_set(vae, images)
    """

    def __init__(self, components=10, **kwargs):
        kwargs["trainable"] = False
        super().__init__(**kwargs)
        check_count("components", components)
        self.components, self.latent_dim = components, None

    def attach(self, posterior):
        """Make the mixture's weights for `posterior`'s codes (continuous vectors only)."""
        if not posterior.continuous or len(posterior.code_shape) != 1:
            raise ZooError(f"an aggregate-posterior sampler needs continuous vector codes; "
                           f"{type(posterior).__name__} has other codes")
        if self.latent_dim is not None:
            return
        components = self.components
        latent_dim = self.latent_dim = posterior.code_shape[0]
        self.logits = self.add_weight(name="logits", shape=(components,), initializer="zeros",
                                      trainable=False)
        self.loc = self.add_weight(name="loc", shape=(components, latent_dim), initializer="zeros",
                                   trainable=False)
        self.scale_tril = self.add_weight(
            name="scale_tril", shape=(components, latent_dim, latent_dim), trainable=False,
            initializer=lambda shape, dtype: tf.eye(latent_dim, batch_shape=[components], dtype=dtype))

    def distribution(self):
        return tfd.MixtureSameFamily(tfd.Categorical(logits=self.logits),
                                     tfd.MultivariateNormalTriL(self.loc, self.scale_tril))

    def fit(self, codes, seed=0):
        """Fit the mixture to `codes` [N, latent_dim] by EM (scikit-learn); returns self."""
        from sklearn.mixture import GaussianMixture

        codes = np.asarray(codes, np.float64)
        if len(codes) < self.components:
            raise ValueError(f"{len(codes)} codes cannot fit {self.components} mixture components")
        mixture = GaussianMixture(self.components, covariance_type="full", reg_covar=1e-5,
                                  random_state=seed).fit(codes)
        self.logits.assign(np.log(mixture.weights_).astype(np.float32))
        self.loc.assign(mixture.means_.astype(np.float32))
        self.scale_tril.assign(np.linalg.cholesky(mixture.covariances_).astype(np.float32))
        return self

    def get_config(self):
        config = super().get_config()
        config.pop("trainable", None)
        return {**config, "components": self.components}


def fit_to_training_set(model, images, seed=0):
    """Fit `model.aggregate_posterior` to the posterior means of `images` (float32 array)."""
    codes = np.concatenate([model.posterior.code(model.encode(images[i:i + ENCODE_BATCH])).numpy()
                            for i in range(0, len(images), ENCODE_BATCH)])
    return model.aggregate_posterior.fit(codes, seed)
