"""The two-stage VAE sampler (Dai and Wipf 2019, "Diagnosing and enhancing VAE models"): a
second, small VAE fitted to the first one's codes, whose own prior N(0, I) does match its
aggregate posterior where the first's does not. Sampling: u ~ N(0, I), then the second
decoder's mean is the code z."""

import math

import tensorflow as tf
import tf_keras as keras

from zoo.checks import check_count
from zoo.layers.samplers.base import SAMPLERS, NoiseSampler
from zoo.layers.samplers.fitting import fit_by_steps

# gamma starts small: at gamma = 1 on standardized codes, ignoring u (the decoder's mean 0, KL
# 0) is a stationary point the fit did not leave on MNIST codes; from a small gamma it first
# learns to reconstruct, then gamma rises to the residual.
INITIAL_LOG_GAMMA = -3.0


@SAMPLERS.register("two_stage")
@keras.saving.register_keras_serializable(package="zoo")
class TwoStageVAE(NoiseSampler):
    """A second VAE over the (standardized) codes z: an MLP encoder q(u|z) (diagonal normal),
    u ~ N(0, I) with as many dimensions as z, and an MLP decoder p(z|u) = N(mu(u), gamma I)
    with one learned scalar gamma, as in the paper; trained on the codes by Adam with early
    stopping on a held-out tenth.

    Args:
        hidden_units: the widths of both MLPs.
        epochs, batch_size, learning_rate: its training; it stops earlier when the held-out
            loss has not fallen for `patience` epochs, and keeps its best epoch.

    Example:
        VAE(..., samplers=[TwoStageVAE()]); vae.fit_samplers(images); vae.sample(16, sampler="two_stage")
    """

    def __init__(self, hidden_units=(256, 256), epochs=60, batch_size=256, learning_rate=1e-3, patience=5,
                 **kwargs):
        super().__init__(**kwargs)
        for name, value in (("epochs", epochs), ("batch_size", batch_size), ("patience", patience),
                            *((f"hidden_units[{i}]", units) for i, units in enumerate(hidden_units))):
            check_count(name, value)
        self.hidden_units, self.epochs, self.batch_size = tuple(hidden_units), epochs, batch_size
        self.learning_rate, self.patience = learning_rate, patience

    def make_networks(self, latent_dim):
        def mlp(name, outputs):
            layers = [keras.layers.Dense(units, activation="relu") for units in self.hidden_units]
            return keras.Sequential([keras.Input((latent_dim,)), *layers, keras.layers.Dense(outputs)], name=name)

        self.encoder = mlp("encoder", 2 * latent_dim)
        self.decoder = mlp("decoder", latent_dim)
        self.log_gamma = self.add_weight(name="log_gamma", shape=(), trainable=False,
                                         initializer=keras.initializers.Constant(INITIAL_LOG_GAMMA))

    def transform(self, u):
        return self.decoder(u)

    def loss(self, z, seed):
        """The negative ELBO of standardized codes z [B, D] (nats per code), one draw of u."""
        mean, log_variance = tf.split(self.encoder(z), 2, axis=-1)
        u = mean + tf.exp(0.5 * log_variance) * tf.random.stateless_normal(tf.shape(mean), seed=seed)
        dimensions = tf.cast(tf.shape(z)[-1], tf.float32)
        gamma = tf.exp(self.log_gamma)
        reconstruction = (tf.reduce_sum(tf.square(z - self.decoder(u)), -1) / (2.0 * gamma)
                          + 0.5 * dimensions * (self.log_gamma + math.log(2 * math.pi)))
        kl = 0.5 * tf.reduce_sum(tf.square(mean) + tf.exp(log_variance) - log_variance - 1.0, -1)
        return reconstruction + kl

    def fit(self, codes, seed=0, verbose=False):
        """Train the second VAE on `codes` [N, latent_dim]; returns what the fit took."""
        variables = [*self.encoder.variables, *self.decoder.variables, self.log_gamma]
        taken = fit_by_steps(self.loss, variables, self.standardize(codes), seed, self.epochs, self.batch_size,
                             self.learning_rate, self.patience, 0.1, "two_stage", verbose)
        return {**taken, "gamma": float(tf.exp(self.log_gamma))}

    def get_config(self):
        return {**super().get_config(), "hidden_units": self.hidden_units, "epochs": self.epochs,
                "batch_size": self.batch_size, "learning_rate": self.learning_rate, "patience": self.patience}
