"""The VAE: encoder -> q(z|x) -> z -> decoder -> p(x|z), with a prior p(z), as a keras.Model."""

import dataclasses

import tensorflow as tf
import tf_keras as keras

from zoo import signatures
from zoo.config import VAEConfig
from zoo.likelihoods import LIKELIHOODS
from zoo.networks import NETWORKS
from zoo.objectives import OBJECTIVES
from zoo.posteriors import POSTERIORS
from zoo.priors import PRIORS

METRIC_NAMES = ("loss", "reconstruction", "kl")


@keras.saving.register_keras_serializable(package="zoo")
class VAE(keras.Model):
    """A variational autoencoder assembled from the blocks a `VAEConfig` names.

    `call(x)` returns the decoder distribution p(x|z) (a TFP distribution, z one sample
    from q(z|x)); `encode(x)` returns q(z|x) and `decode(z)` returns p(x|z). `fit` and
    `evaluate` minimise and report the config's objective (by default the negative ELBO in
    nats per example) with its reconstruction and KL terms; nothing is added through
    `add_loss`, so the KL is counted exactly once.

    Args:
        variant: a `VAEConfig` (or its dict form).

    Example:
        model = VAE(VAEConfig(latent_dim=2))
        model.compile(keras.optimizers.Adam(1e-3))
        model.fit(images, epochs=5)
        p = model(images[:8]); p.mean()
    """

    def __init__(self, variant, **kwargs):
        super().__init__(**kwargs)
        if isinstance(variant, dict):
            variant = VAEConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in variant.items()})
        self.variant = variant
        posterior = POSTERIORS.get(variant.latent)
        likelihood = LIKELIHOODS.get(variant.likelihood)
        network = NETWORKS.get(variant.network)
        channels = variant.image_shape[-1]
        self.encoder = network.encoder(variant, posterior.params_size(variant.latent_dim))
        self.posterior = posterior(variant.latent_dim, name="posterior")
        self.decoder = network.decoder(variant, channels * likelihood.params_per_pixel)
        self.likelihood = likelihood.for_variant(variant)
        self.prior = PRIORS.get(variant.prior)(variant.latent_dim, name="prior")
        self.objective = OBJECTIVES.get(variant.objective)
        self.trackers = [keras.metrics.Mean(name) for name in METRIC_NAMES]
        self.build((None, *variant.image_shape))

    def encode(self, x, training=None):
        """q(z|x)."""
        return self.posterior(self.encoder(x, training=training))

    def decode(self, z, training=None):
        """p(x|z)."""
        return self.likelihood(self.decoder(z, training=training))

    def call(self, x, training=None):
        return self.decode(tf.convert_to_tensor(self.encode(x, training=training)), training=training)

    @property
    def metrics(self):
        return self.trackers

    def train_step(self, data):
        x = keras.utils.unpack_x_y_sample_weight(data)[0]
        with tf.GradientTape() as tape:
            terms = self.objective(self, x, training=True)
            loss = tf.reduce_mean(terms["loss"])
            if self.losses:
                loss += tf.add_n(self.losses)
        self.optimizer.minimize(loss, self.trainable_variables, tape=tape)
        return self._record(terms)

    def test_step(self, data):
        x = keras.utils.unpack_x_y_sample_weight(data)[0]
        return self._record(self.objective(self, x, training=False))

    def predict_step(self, data):
        return signatures.reconstruct(self, keras.utils.unpack_x_y_sample_weight(data)[0])

    def _record(self, terms):
        for tracker in self.trackers:
            tracker.update_state(terms[tracker.name])
        return {tracker.name: tracker.result() for tracker in self.trackers}

    def get_config(self):
        return {"variant": dataclasses.asdict(self.variant), "name": self.name}
