"""The zoo's own encoder and decoder torsos, for the config path (`zoo.build`).

A network here is a small factory named in configs (`{"type": "mlp", "hidden_units": [400]}`)
that makes a plain `keras.Sequential` for each side; `zoo.VAE` takes any Keras layer or model
in their place. An encoder maps images [B, H, W, C] to the posterior's parameters [B, P]; a
decoder maps codes [B, D] (or [B, N, K] one-hot tables) to per-pixel likelihood parameters
[B, H, W, C * K]. For a conditional VAE (`condition_size` > 0) each side takes a second
input, the condition vector [B, size], concatenated after the flattening. Under a mixed-precision policy the hidden layers compute in 16 bits; the
layers that produce distribution parameters stay float32 (`PARAMS_DTYPE`), as TFP needs.
"""

import math

import tf_keras as keras

from zoo.errors import ConfigError
from zoo.registry import Registry

NETWORKS = Registry("network")
PARAMS_DTYPE = "float32"
ACTIVATIONS = ("relu", "elu", "gelu", "swish", "tanh", "softplus", "leaky_relu")
INITIALIZERS = ("glorot_uniform", "fan_in_uniform")


def check_activation(activation):
    """`activation` if it is one of ACTIVATIONS, else a one-line ConfigError listing them."""
    if activation not in ACTIVATIONS:
        raise ConfigError("activation", activation, ", ".join(ACTIVATIONS))
    return activation


def check_widths(field, value):
    if not isinstance(value, (tuple, list)) or not value or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value):
        raise ConfigError(field, value, "a list of one or more positive integers")
    return tuple(value)


class Network:
    """Base: the hidden layers' activation and kernel initializer.

    Args:
        activation: nonlinearity of every hidden layer.
        initializer: "glorot_uniform" (Keras' default) or "fan_in_uniform" (U(+-1/sqrt(fan_in)),
            PyTorch's default for Linear and Conv; it trains the MNIST MLP ~2 nats further in
            2 epochs, benchmarks/README.md).
    """

    def __init__(self, activation="relu", initializer="glorot_uniform"):
        check_activation(activation)
        if initializer not in INITIALIZERS:
            raise ConfigError("initializer", initializer, ", ".join(INITIALIZERS))
        self.activation, self.initializer = activation, initializer

    def check(self, image_shape):
        """Refuse image shapes this torso cannot take, before anything is built."""

    def layer(self, kind, *args, **kwargs):
        """keras.layers.`kind`(*args, **kwargs) with the kernel initializer, made fresh for each
        layer (an unseeded instance shared by layers would repeat its values)."""
        if self.initializer == "fan_in_uniform":  # PyTorch's default: limit sqrt(3 * 1/3 / fan_in)
            initializer = keras.initializers.VarianceScaling(1 / 3, mode="fan_in", distribution="uniform")
        else:
            initializer = keras.initializers.get(self.initializer)
        return getattr(keras.layers, kind)(*args, kernel_initializer=initializer, **kwargs)

    @staticmethod
    def assemble(name, input_shape, first, rest, condition_size=0):
        """`first` then `rest` as a model of one input, or, with a condition, of two inputs
        [input, condition] with the condition vector concatenated between `first` and `rest`."""
        if not condition_size:
            return keras.Sequential([keras.Input(input_shape), *first, *rest], name=name)
        inputs = [keras.Input(input_shape), keras.Input((condition_size,), name=f"{name}_condition")]
        hidden = inputs[0]
        for layer in first:
            hidden = layer(hidden)
        hidden = keras.layers.Concatenate()([hidden, inputs[1]])
        for layer in rest:
            hidden = layer(hidden)
        return keras.Model(inputs, hidden, name=name)


@NETWORKS.register("mlp")
class MLP(Network):
    """Fully connected torsos: `hidden_units` in the encoder, mirrored in the decoder."""

    def __init__(self, hidden_units=(400,), **kwargs):
        super().__init__(**kwargs)
        self.hidden_units = check_widths("hidden_units", hidden_units)

    def encoder(self, image_shape, output_size, condition_size=0, name="encoder"):
        layers = [self.layer("Dense", u, activation=self.activation) for u in self.hidden_units]
        layers.append(self.layer("Dense", output_size, name=_params_name(name), dtype=PARAMS_DTYPE))
        return self.assemble(name, image_shape, [keras.layers.Flatten()], layers, condition_size)

    def decoder(self, image_shape, code_shape, output_channels, condition_size=0):
        height, width, _ = image_shape
        layers = [self.layer("Dense", u, activation=self.activation) for u in reversed(self.hidden_units)]
        layers += [self.layer("Dense", height * width * output_channels, name="likelihood_params",
                              dtype=PARAMS_DTYPE),
                   keras.layers.Reshape((height, width, output_channels), dtype=PARAMS_DTYPE)]
        # codes may be [N, K] one-hot tables
        return self.assemble("decoder", code_shape, [keras.layers.Flatten()], layers, condition_size)


@NETWORKS.register("conv")
class Conv(Network):
    """Stride-2 3x3 convolutions with `conv_filters`, mirrored by transposed convolutions."""

    def __init__(self, conv_filters=(32, 64), **kwargs):
        super().__init__(**kwargs)
        self.conv_filters = check_widths("conv_filters", conv_filters)

    def check(self, image_shape):
        factor = 2 ** len(self.conv_filters)
        height, width, _ = image_shape
        if height % factor or width % factor:
            raise ConfigError("image_shape", tuple(image_shape),
                              f"height and width divisible by {factor} (2 ** len(conv_filters)) for the conv network")

    def encoder(self, image_shape, output_size, condition_size=0, name="encoder"):
        layers = [self.layer("Conv2D", f, 3, strides=2, padding="same", activation=self.activation)
                  for f in self.conv_filters]
        layers.append(keras.layers.Flatten())
        return self.assemble(name, image_shape, layers,
                             [self.layer("Dense", output_size, name=_params_name(name), dtype=PARAMS_DTYPE)],
                             condition_size)

    def decoder(self, image_shape, code_shape, output_channels, condition_size=0):
        height, width, _ = image_shape
        factor = 2 ** len(self.conv_filters)
        top = self.conv_filters[-1]
        layers = [self.layer("Dense", math.prod((height // factor, width // factor, top)), activation=self.activation),
                  keras.layers.Reshape((height // factor, width // factor, top))]
        layers += [self.layer("Conv2DTranspose", f, 3, strides=2, padding="same", activation=self.activation)
                   for f in reversed(self.conv_filters)]
        layers.append(self.layer("Conv2D", output_channels, 3, padding="same", name="likelihood_params",
                                 dtype=PARAMS_DTYPE))
        return self.assemble("decoder", code_shape, [keras.layers.Flatten()], layers, condition_size)

    def grid_encoder(self, image_shape, code_dim, name="encoder"):
        """A VQ-VAE's encoder: the same stride-2 convolutions, then a 3x3 convolution and a
        linear 1x1 one to `code_dim` values at each position of the [H / 2^L, W / 2^L] grid."""
        layers = [self.layer("Conv2D", f, 3, strides=2, padding="same", activation=self.activation)
                  for f in self.conv_filters]
        layers += [self.layer("Conv2D", self.conv_filters[-1], 3, padding="same", activation=self.activation),
                   self.layer("Conv2D", code_dim, 1, name="codes", dtype=PARAMS_DTYPE)]
        return keras.Sequential([keras.Input(image_shape), *layers], name=name)

    def grid_decoder(self, image_shape, code_dim, output_channels):
        """A VQ-VAE's decoder: a 3x3 convolution over the grid of `code_dim` vectors, then the
        transposed convolutions back to the image size and the likelihood's parameters."""
        height, width, _ = image_shape
        factor = 2 ** len(self.conv_filters)
        layers = [self.layer("Conv2D", self.conv_filters[-1], 3, padding="same", activation=self.activation)]
        layers += [self.layer("Conv2DTranspose", f, 3, strides=2, padding="same", activation=self.activation)
                   for f in reversed(self.conv_filters)]
        layers.append(self.layer("Conv2D", output_channels, 3, padding="same", name="likelihood_params",
                                 dtype=PARAMS_DTYPE))
        return keras.Sequential([keras.Input((height // factor, width // factor, code_dim)), *layers],
                                name="decoder")


def _params_name(network_name):
    """The output layer's name: "posterior_params" for the encoder (as in shipped models)."""
    return "posterior_params" if network_name == "encoder" else f"{network_name}_params"
