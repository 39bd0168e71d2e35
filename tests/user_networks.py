"""A user's own networks: conv torsos with BatchNorm and a residual block, for 32x32x3 images."""
import tf_keras as keras


@keras.saving.register_keras_serializable(package="user")
class ResidualBlock(keras.layers.Layer):
    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.conv1 = keras.layers.Conv2D(filters, 3, padding="same")
        self.norm = keras.layers.BatchNormalization()
        self.conv2 = keras.layers.Conv2D(filters, 3, padding="same")

    def call(self, x, training=None):
        h = keras.activations.relu(self.norm(self.conv1(x), training=training))
        return keras.activations.relu(x + self.conv2(h))

    def get_config(self):
        return {**super().get_config(), "filters": self.filters}


def encoder(params_size):
    return keras.Sequential([
        keras.Input((32, 32, 3)),
        keras.layers.Conv2D(8, 3, strides=2, padding="same"),
        keras.layers.BatchNormalization(), keras.layers.ReLU(),
        ResidualBlock(8),
        keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu"),
        keras.layers.Flatten(), keras.layers.Dense(params_size)], name="my_encoder")


def decoder(latent_dim, channels):
    return keras.Sequential([
        keras.Input((latent_dim,)),
        keras.layers.Dense(8 * 8 * 16, activation="relu"), keras.layers.Reshape((8, 8, 16)),
        keras.layers.Conv2DTranspose(8, 3, strides=2, padding="same"),
        keras.layers.BatchNormalization(), keras.layers.ReLU(),
        ResidualBlock(8),
        keras.layers.Conv2DTranspose(channels, 3, strides=2, padding="same")], name="my_decoder")
