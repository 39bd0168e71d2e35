"""The VAE: encoder -> q(z|x) -> z -> decoder -> p(x|z), with a prior p(z), as a keras.Model."""

import dataclasses

import numpy as np
import tensorflow as tf
import tf_keras as keras

from zoo import compiled_loop, schedules, signatures
from zoo.aggregate_posterior import AggregatePosterior
from zoo.config import VAEConfig
from zoo.data.resident import ResidentImages
from zoo.errors import DataError, ZooError
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
    nats per example) with its reconstruction and KL terms (`evaluate` draws z with a fixed
    seed, so it gives the same numbers every time); nothing is added through
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
        self.code_shape = posterior.code_shape(variant)
        self.encoder = network.encoder(variant, posterior.params_size(variant))
        self.posterior = posterior.for_variant(variant)
        self.decoder = network.decoder(variant, channels * likelihood.params_per_pixel)
        self.likelihood = likelihood.for_variant(variant)
        self.prior = PRIORS.get(variant.prior).for_variant(variant, self.posterior_of)
        self.objective = OBJECTIVES.get(variant.objective).terms
        # The KL weight is a variable only when a warm-up callback has to change it.
        self.kl_weight = (self.add_weight(name="kl_weight", shape=(), trainable=False,
                                          initializer=tf.constant_initializer(0.0))
                          if variant.kl_warmup_epochs else variant.beta)
        if variant.aggregate_posterior_components:
            self.aggregate_posterior = AggregatePosterior(
                variant.aggregate_posterior_components, variant.latent_dim, name="aggregate_posterior")
        self.trackers = [keras.metrics.Mean(name) for name in METRIC_NAMES]
        self._resident = None
        self.build((None, *variant.image_shape))

    def encode(self, x, training=None):
        """q(z|x): while training, the posterior layer's output (relaxed for categorical
        latents); otherwise its inference form (hard one-hot codes for categorical latents)."""
        params = self.encoder(x, training=training)
        return self.posterior(params) if training else self.posterior.inference(params)

    def posterior_of(self, x):
        """q(z|x) in inference form, as the VampPrior needs it at its pseudo-inputs."""
        return self.posterior.inference(self.encoder(x))

    def decode(self, z, training=None):
        """p(x|z)."""
        return self.likelihood(self.decoder(z, training=training))

    def call(self, x, training=None):
        q = self.posterior(self.encoder(x, training=training))
        return self.decode(tf.convert_to_tensor(q), training=training)

    def fit(self, x=None, *args, callbacks=None, **kwargs):
        """keras `fit`, with the schedules the variant needs (KL warm-up, temperature) added.

        `x` may be a `zoo.data.ResidentImages`: the images then stay on the device and each
        call of the train function runs `steps_per_execution` steps (set in `compile`) as
        one XLA program (`zoo.compiled_loop`); an epoch is the set's `steps_per_epoch`.
        """
        callbacks = list(callbacks or []) + schedules.for_model(self)
        if isinstance(x, (np.ndarray, tf.Tensor)):
            self.check_pixels(x)
        resident = x if isinstance(x, ResidentImages) else None
        if resident is not None:
            with self.distribute_strategy.scope():  # the strategy the model was built under
                distributed = tf.distribute.has_strategy()
            if distributed:
                raise ZooError("ResidentImages trains under the default strategy only; under a "
                               "tf.distribute strategy pass a tf.data.Dataset")
            if kwargs.setdefault("steps_per_epoch", resident.steps_per_epoch) != resident.steps_per_epoch:
                raise ZooError(f"steps_per_epoch must be {resident.steps_per_epoch} "
                               "(the ResidentImages' own) or left out")
            x = resident.placeholder()
        if resident is not self._resident:
            self._resident, self.train_function = resident, None
        return super().fit(x, *args, callbacks=callbacks, **kwargs)

    def check_pixels(self, x):
        """Refuse images outside the likelihood's `pixel_range`, e.g. 0..255 grey levels
        given to a Bernoulli: its loss would train on them without complaint."""
        pixel_range = self.likelihood.pixel_range
        x = np.asarray(x)
        if pixel_range is None or x.dtype == bool or x.size == 0:
            return
        low, high = float(x.min()), float(x.max())
        if not pixel_range[0] <= low <= high <= pixel_range[1]:
            raise DataError(f"likelihood '{self.variant.likelihood}' models pixels in "
                            f"[{pixel_range[0]:g}, {pixel_range[1]:g}]; the images hold values from "
                            f"{low:g} to {high:g} (scale them, e.g. x / 255)")

    def make_train_function(self, force=False):
        if self._resident is None or (self.train_function is not None and not force):
            return super().make_train_function(force)
        self.train_function = compiled_loop.train_function(self, self._resident)
        return self.train_function

    @property
    def metrics(self):
        return self.trackers

    def train_step(self, data):
        return self.update(keras.utils.unpack_x_y_sample_weight(data)[0])

    def update(self, x, seed=None, alg="auto_select"):
        """One optimizer step on the batch `x` (z drawn with the stateless `seed` and RNG
        algorithm `alg` if given).

        The loss is divided by the number of replicas: the optimizer sums the replicas'
        gradients, so the step follows the mean over the global batch.
        """
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        with tf.GradientTape() as tape:
            terms = self.objective(self, x, training=True, seed=seed, alg=alg)
            loss = tf.reduce_mean(terms["loss"])
            if self.losses:
                loss += tf.add_n(self.losses)
            loss /= replicas
        self.optimizer.minimize(loss, self.trainable_variables, tape=tape)
        return self._record(terms)

    def test_step(self, data):
        x = keras.utils.unpack_x_y_sample_weight(data)[0]
        return self._record(self.objective(self, x, training=False, seed=signatures.ELBO_SEED))

    def predict_step(self, data):
        return signatures.reconstruct(self, keras.utils.unpack_x_y_sample_weight(data)[0])

    def _record(self, terms):
        for tracker in self.trackers:
            tracker.update_state(terms[tracker.name])
        return {tracker.name: tracker.result() for tracker in self.trackers}

    def get_config(self):
        return {"variant": dataclasses.asdict(self.variant), "name": self.name}
