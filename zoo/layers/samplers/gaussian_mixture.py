"""The Gaussian mixture sampler: a full-covariance mixture fitted by EM to the encoded
training set (the "posterior as new prior" view of Ghosh et al. 2020, their GMM ex-post
density estimation)."""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras as keras

from zoo.checks import check_count
from zoo.layers.samplers.base import SAMPLERS, Sampler
from zoo.seeds import PRIOR_STREAM, stream

tfd = tfp.distributions


@SAMPLERS.register("gaussian_mixture")
@keras.saving.register_keras_serializable(package="zoo")
class GaussianMixture(Sampler):
    """A `components`-Gaussian full-covariance mixture over the model's continuous codes.

    Starts as the standard normal in every component; `fit(codes)` sets it by EM
    (scikit-learn). It serves the export signature `sample_aggregate_posterior`, the name
    exports have served it under since it was the zoo's only sampler.

    Args:
        components: the number of Gaussians.

    Example:
        VAE(..., samplers=[GaussianMixture(10)]); vae.fit(x); vae.fit_samplers(x); vae.sample(16, sampler="gaussian_mixture")
    """

    SIGNATURE = "sample_aggregate_posterior"

    def __init__(self, components=10, **kwargs):
        super().__init__(**kwargs)
        check_count("components", components)
        self.components = components

    def make_weights(self, latent_dim):
        components = self.components
        self.logits = self.add_weight(name="logits", shape=(components,), initializer="zeros", trainable=False)
        self.loc = self.add_weight(name="loc", shape=(components, latent_dim), initializer="zeros",
                                   trainable=False)
        self.scale_tril = self.add_weight(
            name="scale_tril", shape=(components, latent_dim, latent_dim), trainable=False,
            initializer=lambda shape, dtype: tf.eye(latent_dim, batch_shape=[components], dtype=dtype))

    def distribution(self):
        return tfd.MixtureSameFamily(tfd.Categorical(logits=self.logits),
                                     tfd.MultivariateNormalTriL(self.loc, self.scale_tril))

    def log_prob(self, codes):
        return self.distribution().log_prob(codes)

    def sample(self, seed):
        latent = self.distribution()
        return tf.map_fn(lambda s: latent.sample(seed=stream(s, PRIOR_STREAM)), tf.cast(seed, tf.int64),
                         fn_output_signature=tf.TensorSpec([self.latent_dim], tf.float32))

    def fit(self, codes, seed=0, verbose=False):
        """Fit the mixture to `codes` [N, latent_dim] by EM; returns what the fit took."""
        from sklearn.mixture import GaussianMixture as EM

        codes = np.asarray(codes, np.float64)
        if len(codes) < self.components:
            raise ValueError(f"{len(codes)} codes cannot fit {self.components} mixture components")
        mixture = EM(self.components, covariance_type="full", reg_covar=1e-5, random_state=seed).fit(codes)
        self.logits.assign(np.log(mixture.weights_).astype(np.float32))
        self.loc.assign(mixture.means_.astype(np.float32))
        self.scale_tril.assign(np.linalg.cholesky(mixture.covariances_).astype(np.float32))
        return {"iterations": int(mixture.n_iter_), "converged": bool(mixture.converged_)}

    def get_config(self):
        return {**super().get_config(), "components": self.components}


# Models saved before the sampler slot name the class "zoo>AggregatePosterior".
AggregatePosterior = GaussianMixture
keras.saving.get_custom_objects()["zoo>AggregatePosterior"] = GaussianMixture
