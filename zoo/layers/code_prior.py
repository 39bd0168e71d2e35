"""Priors over a grid of discrete codes, so that a VQ-VAE can generate: draw a grid of codes
k ~ p(k), then decode it.

p(k) = prod_i p(k_i | k_<i) over the grid positions in raster order (row by row, left to
right), a K-way categorical at each position. TFP's `tfd.PixelCNN` (checked with TFP 0.25 and
tf_keras: it runs) models ordinal pixel intensities with discretized logistic mixtures, which
would treat code 7 as close to code 8; codes are unordered categories, hence this network.
"""

import numpy as np
import tensorflow as tf
import tf_keras as keras

from zoo.checks import check_count
from zoo.errors import ConfigError, ZooError
from zoo.registry import Registry

CODE_PRIORS = Registry("code_prior")
serializable = keras.saving.register_keras_serializable(package="zoo")


@serializable
@CODE_PRIORS.register("pixelcnn")
class PixelCNNPrior(keras.layers.Layer):
    """A gated PixelCNN (van den Oord et al. 2016, "Conditional Image Generation with PixelCNN
    Decoders") over grids of code indices [B, H, W] in 0..K-1.

    A vertical stack carries what lies in the rows above a position, a horizontal stack what
    lies to its left in its row. Their inputs are the code embeddings shifted once, down and
    right, so later layers may look at their own position (3-high-by-3-wide and 1-by-2
    convolutions, no masks) and no output ever sees its own code or a later one; the vertical
    stack feeds the horizontal one, so nothing above is out of reach (no blind spot). Every
    layer is gated, tanh(a) * sigmoid(b), and the horizontal stack is residual. The final
    1x1 convolution starts at zero: an untrained prior is uniform, p(k) = K^-(H W), the prior
    a VQ-VAE's autoencoder is trained under.

    `attach(codebook_size, grid_shape)` makes the weights (a `VQVAE` calls it); `log_prob(codes)`
    scores, `sample(seeds)` draws; `PriorTrainer(prior).fit(codes)` trains it (`VQVAE.fit_prior`
    encodes the images first).

    Args:
        filters: channels of each stack.
        blocks: gated layers after the first.
        kernel_size: odd width of the convolutions (the vertical ones are kernel_size // 2 + 1
            high); each layer widens what a position sees by kernel_size // 2 columns.

    Example:
        prior = PixelCNNPrior(filters=32, blocks=4)
        prior.attach(codebook_size=64, grid_shape=(7, 7))
        trainer = PriorTrainer(prior); trainer.compile(keras.optimizers.Adam(1e-3))
        trainer.fit(codes, epochs=10)                     # codes: int [N, 7, 7]
        prior.sample(tf.constant([[0, 1], [0, 2]]))   # two grids [2, 7, 7], one stateless seed each
    """

    def __init__(self, filters=64, blocks=5, kernel_size=3, **kwargs):
        super().__init__(**kwargs)
        check_count("filters", filters)
        check_count("blocks", blocks, minimum=0)
        check_count("kernel_size", kernel_size)
        if kernel_size % 2 == 0:
            raise ConfigError("kernel_size", kernel_size, "an odd integer >= 1")
        self.filters, self.blocks, self.kernel_size = filters, blocks, kernel_size
        self.codebook_size = self.grid_shape = None

    def attach(self, codebook_size, grid_shape):
        """Make the weights for K = `codebook_size` codes on a `grid_shape` (H, W) grid."""
        check_count("codebook_size", codebook_size, minimum=2)
        grid_shape = tuple(int(d) for d in grid_shape)
        if self.codebook_size is not None:
            if (self.codebook_size, self.grid_shape) != (codebook_size, grid_shape):
                raise ZooError(f"this prior models {self.codebook_size} codes on a {self.grid_shape} grid already, "
                               f"not {codebook_size} on {grid_shape}")
            return
        self.codebook_size, self.grid_shape = codebook_size, grid_shape
        size, width, layers = self.filters, self.kernel_size, range(self.blocks + 1)
        conv = keras.layers.Conv2D
        self.embedding = keras.layers.Embedding(codebook_size, size, name="embedding")
        self.vertical = [conv(2 * size, (width // 2 + 1, width), name=f"vertical_{i}") for i in layers]
        self.horizontal = [conv(2 * size, (1, width // 2 + 1), name=f"horizontal_{i}") for i in layers]
        self.vertical_to_horizontal = [conv(2 * size, 1, name=f"vertical_to_horizontal_{i}") for i in layers]
        self.horizontal_out = [conv(size, 1, name=f"horizontal_out_{i}") for i in layers]
        self.hidden = conv(size, 1, activation="relu", name="hidden")
        self.output_logits = conv(codebook_size, 1, kernel_initializer="zeros", name="logits", dtype="float32")
        self.logits(tf.zeros([1, *grid_shape], tf.int64))  # makes every weight
        self.built = True

    def _attached(self):
        if self.codebook_size is None:
            raise ZooError("the prior is not attached to a codebook yet: pass it to zoo.VQVAE "
                           "(or call prior.attach(codebook_size, grid_shape))")

    def logits(self, codes, training=None):
        """Logits [B, H, W, K] of p(k_i | k_<i) at every position i of codes [B, H, W]."""
        self._attached()
        half = self.kernel_size // 2
        embedded = self.embedding(tf.cast(codes, tf.int32), training=training)
        vertical = tf.pad(embedded, [[0, 0], [1, 0], [0, 0], [0, 0]])[:, :-1]  # row i sees rows < i
        horizontal = tf.pad(embedded, [[0, 0], [0, 0], [1, 0], [0, 0]])[:, :, :-1]  # (i, j) sees (i, < j)
        for i in range(self.blocks + 1):
            vertical = self.vertical[i](tf.pad(vertical, [[0, 0], [half, 0], [half, half], [0, 0]]))
            joined = self.horizontal[i](tf.pad(horizontal, [[0, 0], [0, 0], [half, 0], [0, 0]]))
            joined += self.vertical_to_horizontal[i](vertical)
            update = self.horizontal_out[i](_gate(joined))
            horizontal = update if i == 0 else horizontal + update
            vertical = _gate(vertical)
        return self.output_logits(self.hidden(tf.nn.relu(horizontal)))  # float32 under mixed precision too

    def call(self, codes, training=None):
        return self.logits(codes, training)

    def log_prob(self, codes, training=None):
        """log p(k) [B] in nats of code grids [B, H, W]."""
        codes = tf.cast(codes, tf.int64)
        per_position = -tf.nn.sparse_softmax_cross_entropy_with_logits(labels=codes,
                                                                        logits=self.logits(codes, training))
        return tf.reduce_sum(per_position, axis=[1, 2])

    def sample(self, seeds):
        """Code grids [B, H, W] (int64), drawn position by position in raster order.

        Row b uses only `seeds[b]` (a stateless seed, int32 [B, 2]): its Gumbel noise is drawn
        once, and each position takes argmax(logits + noise), an exact draw from the softmax
        (the Gumbel-max trick). Costs H * W passes of the network."""
        self._attached()
        height, width = self.grid_shape
        positions, size = height * width, self.codebook_size
        tiny = float(np.finfo(np.float32).tiny)
        noise = tf.map_fn(lambda seed: -tf.math.log(-tf.math.log(tf.random.stateless_uniform(
            [positions, size], seed, minval=tiny, maxval=1.0))), tf.cast(seeds, tf.int32), fn_output_signature=tf.float32)
        batch = tf.shape(noise)[0]

        def draw(position, codes):
            logits = tf.reshape(self.logits(codes), [batch, positions, size])
            chosen = tf.argmax(tf.gather(logits, position, axis=1) + tf.gather(noise, position, axis=1), axis=-1)
            at = tf.reshape(tf.one_hot(position, positions, dtype=tf.int64), [1, height, width])
            return position + 1, codes + at * chosen[:, None, None]

        codes = tf.zeros(tf.stack([batch, height, width]), tf.int64)
        return tf.while_loop(lambda position, _: position < positions, draw, (tf.constant(0), codes))[1]

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "blocks": self.blocks,
                "kernel_size": self.kernel_size}


class PriorTrainer(keras.Model):
    """A Keras model that trains a code prior with `fit(codes)`: loss -log p(k), in nats per
    code grid. Kept apart from the VQ-VAE, so the VQ-VAE's file holds no second optimizer.

    Example:
        trainer = PriorTrainer(vq.prior); trainer.compile(keras.optimizers.Adam(1e-3))
        trainer.fit(vq.codes_of(images), batch_size=100, epochs=10)
    """

    def __init__(self, prior, **kwargs):
        super().__init__(**kwargs)
        self.prior = prior
        self.tracker = keras.metrics.Mean("loss")

    @property
    def metrics(self):
        return [self.tracker]

    def call(self, codes, training=None):
        return self.prior.logits(codes, training)

    def train_step(self, data):
        codes, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            negative = -self.prior.log_prob(codes, training=True)
            loss = tf.reduce_mean(negative) / tf.distribute.get_strategy().num_replicas_in_sync
        self.optimizer.minimize(loss, self.prior.trainable_variables, tape=tape)
        self.tracker.update_state(negative)
        return {"loss": self.tracker.result()}

    def test_step(self, data):
        codes, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        self.tracker.update_state(-self.prior.log_prob(codes))
        return {"loss": self.tracker.result()}


def _gate(x):
    """tanh(a) * sigmoid(b) of the two halves of the channels."""
    a, b = tf.split(x, 2, axis=-1)
    return tf.tanh(a) * tf.sigmoid(b)
