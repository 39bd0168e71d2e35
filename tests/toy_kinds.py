"""Two kinds of model defined only here, to prove that a new kind plugs into the zoo through
`zoo.models.base.ZooModel` alone (no edit to zoo/):

- `Autoencoder`: a deterministic autoencoder with no likelihood, scored by reconstruction error;
- `CriticAutoencoder`: an autoencoder whose codes a critic (a second network with its own
  optimizer and its own loss) tells from N(0, I) draws, as an adversarial autoencoder does.

Each has a config kind (`zoo.config.MODEL_CONFIGS`) and a builder (`zoo.models.builder.BUILDERS`),
so a `Recipe` holding it trains with `zoo.training.train.train` and evaluates with
`zoo.evaluation.evaluate.evaluate`.
"""

import dataclasses
import math

import numpy as np
import tensorflow as tf
import tf_keras as keras

from zoo.config import MODEL_CONFIGS, ModelConfig
from zoo.config.kinds import register_model_config
from zoo.models.base import Signature, ZooModel
from zoo.models.builder import BUILDERS


@keras.saving.register_keras_serializable(package="zoo_tests")
class Autoencoder(ZooModel):
    """x -> code (Dense) -> sigmoid(Dense) -> x: mean squared error, no likelihood."""

    KIND = "autoencoder"
    scoring = "reconstruction_error"
    loss_is = "the mean squared error per pixel (no likelihood, no bound)"
    picture_names = ("reconstructions", "interpolations")
    embeds = True
    draws = False
    slice_figure = ("reconstruction_error", "error", 1.0, "reconstruction_error")

    def __init__(self, image_shape=(8, 8, 1), code_dim=4, **kwargs):
        super().__init__(**kwargs)
        self.image_shape, self.code_dim = tuple(image_shape), code_dim
        self.encoder = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(code_dim)], name="encoder")
        self.decoder = keras.Sequential([keras.layers.Dense(math.prod(self.image_shape), activation="sigmoid"),
                                         keras.layers.Reshape(self.image_shape)], name="decoder")
        self.epochs_trained = self.epoch_counter()
        self.trackers = [keras.metrics.Mean("loss")]
        self.build((None, *self.image_shape))

    def build(self, input_shape):
        if self.built:
            return
        self.decoder(self.encoder(tf.zeros([1, *self.image_shape])))
        self.built = True

    @property
    def metrics(self):
        return self.trackers

    def call(self, x):
        return self.decoder(self.encoder(x))

    def errors(self, x):
        """Mean squared error per pixel of each image [B]."""
        return tf.reduce_mean(tf.reshape(tf.square(self(x) - x), [tf.shape(x)[0], -1]), axis=-1)

    def autoencoder_variables(self):
        return self.encoder.trainable_variables + self.decoder.trainable_variables

    def update(self, x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(self.errors(x))
        self.optimizer.minimize(loss, self.autoencoder_variables(), tape=tape)
        return self.record(loss=loss)

    def record(self, **values):
        for tracker in self.trackers:
            if tracker.name in values:
                tracker.update_state(values[tracker.name])
        return {tracker.name: tracker.result() for tracker in self.trackers}

    def train_step(self, data):
        return self.update(keras.utils.unpack_x_y_sample_weight(data)[0])

    def test_step(self, data):
        x = keras.utils.unpack_x_y_sample_weight(data)[0]
        return self.record(loss=tf.reduce_mean(self.errors(x)))

    def reconstruct(self, x):
        return self(self._checked(x))

    def codes(self, x, y=None):
        return self.encoder(x)

    def decode_mean(self, z, y=None):
        return self.decoder(z)

    def signatures(self, samples=5000):
        return {"serving_default": Signature(lambda x: {"x_mean": self(x)}, ("x",)),
                "encode": Signature(lambda x: {"code": self.encoder(x)}, ("x",)),
                "decode": Signature(lambda z: {"x_mean": self.decoder(z)}, ("z",)),
                "reconstruction_error": Signature(lambda x: {"error": self.errors(x)}, ("x",))}

    def serving_spec(self, name):
        if name == "z":
            return tf.TensorSpec([None, self.code_dim], tf.float32, name="z")
        return super().serving_spec(name)

    def test_figures(self, logs):
        return {"test_reconstruction_error": logs["loss"]}

    def get_config(self):
        return {"name": self.name, "image_shape": self.image_shape, "code_dim": self.code_dim}


@keras.saving.register_keras_serializable(package="zoo_tests")
class CriticAutoencoder(Autoencoder):
    """An `Autoencoder` with a critic on its codes: each step first trains the critic (its own
    optimizer, its own loss: tell N(0, I) draws from codes), then the autoencoder (the model's
    optimizer: reconstruction error plus `weight` times fooling the critic). Both losses are
    reported; each group of weights moves by its own loss only."""

    KIND = "critic autoencoder"
    draws = True  # the critic's N(0, I) draws come from the step's seed

    def __init__(self, image_shape=(8, 8, 1), code_dim=4, weight=0.1, critic_learning_rate=1e-3, **kwargs):
        self.weight, self.critic_learning_rate = weight, critic_learning_rate
        super().__init__(image_shape, code_dim, **kwargs)
        self.trackers.append(keras.metrics.Mean("critic_loss"))
        self.critic_optimizer = keras.optimizers.Adam(critic_learning_rate)
        self.critic_optimizer.build(self.critic.trainable_variables)  # no variable is made inside a compiled loop

    def build(self, input_shape):
        if self.built:
            return
        self.critic = keras.Sequential([keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)], name="critic")
        self.critic(self.encoder(tf.zeros([1, *self.image_shape])))
        super().build(input_shape)

    def update(self, x, seed=None, alg="auto_select"):
        with tf.init_scope():  # the model's optimizer keeps slots for every trainable weight, as a reloaded one makes them
            self.optimizer.build(self.trainable_variables)
        seed = tf.constant([0, 0], tf.int32) if seed is None else seed
        prior = tf.random.stateless_normal([tf.shape(x)[0], self.code_dim], seed, alg=alg)
        bce = keras.losses.BinaryCrossentropy(from_logits=True)
        with tf.GradientTape() as tape:
            codes = self.encoder(x)
            critic_loss = bce(tf.ones_like(codes[:, :1]), self.critic(prior)) + bce(
                tf.zeros_like(codes[:, :1]), self.critic(codes))
        self.critic_optimizer.minimize(critic_loss, self.critic.trainable_variables, tape=tape)
        with tf.GradientTape() as tape:
            codes = self.encoder(x)
            loss = tf.reduce_mean(self.errors(x)) + self.weight * bce(tf.ones_like(codes[:, :1]), self.critic(codes))
        self.optimizer.minimize(loss, self.autoencoder_variables(), tape=tape)
        return self.record(loss=loss, critic_loss=critic_loss)

    def get_config(self):
        return {**super().get_config(), "weight": self.weight, "critic_learning_rate": self.critic_learning_rate}


@dataclasses.dataclass(frozen=True)
class AutoencoderConfig(ModelConfig):
    """The config of both toy kinds: `critic` picks the CriticAutoencoder."""

    kind = "toy_autoencoder"
    image_shape: tuple = (8, 8, 1)
    code_dim: int = 4
    critic: bool = False


if AutoencoderConfig.kind not in MODEL_CONFIGS:  # a test module may be imported twice
    register_model_config(AutoencoderConfig)

    @BUILDERS.register(AutoencoderConfig.kind)
    def build_autoencoder(config, name=None):
        kind = CriticAutoencoder if config.critic else Autoencoder
        return kind(config.image_shape, config.code_dim, name=name)


def images(count=40, seed=0):
    return np.random.default_rng(seed).random((count, 8, 8, 1)).astype(np.float32)
