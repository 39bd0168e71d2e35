"""Encoder and decoder torsos. They map tensors to tensors; distributions come after them.

An encoder maps images [B, H, W, C] to the posterior's parameter vector [B, P]; a decoder
maps codes [B, D] (or [B, N, K] one-hot tables) to per-pixel likelihood parameters [B, H, W, C * K].
Under a mixed-precision policy the hidden layers compute in 16 bits; the layers that
produce distribution parameters stay float32 (`PARAMS_DTYPE`), as TFP needs.
"""

import math

import tf_keras as keras

from zoo.errors import ConfigError
from zoo.registry import Registry

NETWORKS = Registry("network")
PARAMS_DTYPE = "float32"


def layer(kind, config, *args, **kwargs):
    """keras.layers.`kind`(*args, **kwargs) with the config's kernel initializer, made
    fresh for each layer (an unseeded instance shared by layers would repeat its values)."""
    if config.initializer == "fan_in_uniform":  # PyTorch's default: limit sqrt(3 * 1/3 / fan_in)
        initializer = keras.initializers.VarianceScaling(1 / 3, mode="fan_in", distribution="uniform")
    else:
        initializer = keras.initializers.get(config.initializer)
    return getattr(keras.layers, kind)(*args, kernel_initializer=initializer, **kwargs)


@NETWORKS.register("mlp")
class MLP:
    """Fully connected torsos: `hidden_units` in the encoder, mirrored in the decoder."""

    @staticmethod
    def check(config):
        pass

    @staticmethod
    def encoder(config, output_size):
        layers = [keras.layers.Flatten()]
        layers += [layer("Dense", config, u, activation=config.activation) for u in config.hidden_units]
        layers.append(layer("Dense", config, output_size, name="posterior_params", dtype=PARAMS_DTYPE))
        return keras.Sequential(layers, name="encoder")

    @staticmethod
    def decoder(config, output_channels):
        height, width, _ = config.image_shape
        layers = [keras.layers.Flatten()]  # codes may be [N, K] one-hot tables
        layers += [layer("Dense", config, u, activation=config.activation)
                   for u in reversed(config.hidden_units)]
        layers += [layer("Dense", config, height * width * output_channels, name="likelihood_params",
                                      dtype=PARAMS_DTYPE),
                   keras.layers.Reshape((height, width, output_channels), dtype=PARAMS_DTYPE)]
        return keras.Sequential(layers, name="decoder")


@NETWORKS.register("conv")
class Conv:
    """Stride-2 3x3 convolutions with `conv_filters`, mirrored by transposed convolutions."""

    @staticmethod
    def check(config):
        factor = 2 ** len(config.conv_filters)
        height, width, _ = config.image_shape
        if height % factor or width % factor:
            raise ConfigError(
                "image_shape", config.image_shape,
                f"height and width divisible by {factor} (2 ** len(conv_filters)) for the conv network")

    @staticmethod
    def encoder(config, output_size):
        layers = [layer("Conv2D", config, f, 3, strides=2, padding="same", activation=config.activation)
                  for f in config.conv_filters]
        layers += [keras.layers.Flatten(),
                   layer("Dense", config, output_size, name="posterior_params", dtype=PARAMS_DTYPE)]
        return keras.Sequential(layers, name="encoder")

    @staticmethod
    def decoder(config, output_channels):
        height, width, _ = config.image_shape
        factor = 2 ** len(config.conv_filters)
        top = config.conv_filters[-1]
        layers = [keras.layers.Flatten(),
                  layer("Dense", config, math.prod((height // factor, width // factor, top)),
                        activation=config.activation),
                  keras.layers.Reshape((height // factor, width // factor, top))]
        layers += [layer("Conv2DTranspose", config, f, 3, strides=2, padding="same",
                                                activation=config.activation)
                   for f in reversed(config.conv_filters)]
        layers.append(layer("Conv2D", config, output_channels, 3, padding="same", name="likelihood_params",
                                          dtype=PARAMS_DTYPE))
        return keras.Sequential(layers, name="decoder")
