"""Conditions y of a conditional VAE, p(x|z,y) q(z|x,y): what y is and how it enters the networks.

A condition turns what a user passes as `y` (class labels, or any vector) into the float
vector [B, size] that is concatenated into the encoder's and decoder's inputs and that a
conditional prior p(z|y) reads. It also says what an export's signatures take as `y` (its
`spec`), and refuses bad values with one line: a label outside 0..classes-1 would otherwise
index an all-zero one-hot row and be scored as no class at all.
"""

import numpy as np
import tensorflow as tf
import tf_keras as keras

from zoo.checks import check_count
from zoo.errors import DataError
from zoo.registry import Registry

CONDITIONS = Registry("condition")
serializable = keras.saving.register_keras_serializable(package="zoo")


class Condition(keras.layers.Layer):
    """Base: `vector(y)` is the float [B, size] the networks and the prior take."""

    size = None

    def vector(self, y):
        raise NotImplementedError

    def spec(self):
        """The batched TensorSpec of `y` in an export's signatures."""
        raise NotImplementedError

    def check(self, y, what="y"):
        """Refuse (one-line DataError) a `y` this condition cannot take; returns it as an array."""
        raise NotImplementedError

    def example(self, rng, batch):
        """A realistic `y` for warm-up requests and tests."""
        raise NotImplementedError

    def call(self, y):
        return self.vector(y)


@serializable
@CONDITIONS.register("class_label")
class ClassLabel(Condition):
    """y: an integer class label in 0..classes-1 per example, one-hot coded for the networks.

    In Python `y` may also be given one-hot ([B, classes] floats); exports take int64 labels
    [B] (a REST body `{"x": ..., "y": [7, 3]}`), and answer a label out of range with an
    InvalidArgumentError that says the range.

    Example:
        vae = VAE(encoder, DiagonalNormal(16), decoder, Bernoulli(), condition=ClassLabel(10))
        vae.sample(10, y=[7] * 10)
    """

    def __init__(self, classes=10, **kwargs):
        super().__init__(**kwargs)
        check_count("classes", classes, minimum=2)
        self.classes = classes

    @property
    def size(self):
        return self.classes

    def vector(self, y):
        y = tf.convert_to_tensor(y)
        if y.dtype.is_floating and y.shape.rank == 2:  # already one-hot (or class probabilities)
            return tf.cast(y, tf.float32)
        y = tf.cast(y, tf.int64)
        checked = tf.debugging.assert_less(
            y, tf.constant(self.classes, tf.int64),
            message=f"y holds a label outside 0..{self.classes - 1} (this model has {self.classes} classes)")
        with tf.control_dependencies([checked, tf.debugging.assert_non_negative(
                y, message=f"y holds a negative label; labels run over 0..{self.classes - 1}")]):
            return tf.one_hot(y, self.classes, dtype=tf.float32)

    def spec(self):
        return tf.TensorSpec([None], tf.int64, name="y")

    def check(self, y, what="y"):
        y = np.asarray(y)
        if y.ndim == 2 and np.issubdtype(y.dtype, np.floating) and y.shape[1] == self.classes:
            return y
        if y.ndim != 1 or not (np.issubdtype(y.dtype, np.integer) or
                               (np.issubdtype(y.dtype, np.floating) and np.all(y == np.round(y)))):
            raise DataError(f"{what}: expected integer class labels [batch] (or one-hot [batch, {self.classes}]); "
                            f"got {y.dtype} of shape {y.shape}")
        if y.size and (y.min() < 0 or y.max() >= self.classes):
            raise DataError(f"{what}: labels run from {int(y.min())} to {int(y.max())}; this model has "
                            f"{self.classes} classes (0..{self.classes - 1})")
        return y.astype(np.int64)

    def example(self, rng, batch):
        return rng.integers(0, self.classes, batch).astype(np.int64)

    def get_config(self):
        return {**super().get_config(), "classes": self.classes}


@serializable
@CONDITIONS.register("vector")
class ConditionVector(Condition):
    """y: any float vector of `size` values per example (attributes, an embedding, ...).

    Example:
        VAE(..., condition=ConditionVector(size=40))  # e.g. 40 binary face attributes
    """

    def __init__(self, size=1, **kwargs):
        super().__init__(**kwargs)
        check_count("size", size)
        self._size = size

    @property
    def size(self):
        return self._size

    def vector(self, y):
        return tf.cast(tf.convert_to_tensor(y), tf.float32)

    def spec(self):
        return tf.TensorSpec([None, self.size], tf.float32, name="y")

    def check(self, y, what="y"):
        y = np.asarray(y)
        if y.ndim != 2 or y.shape[1] != self.size or not np.issubdtype(y.dtype, np.number):
            raise DataError(f"{what}: expected numbers of shape [batch, {self.size}]; got {y.dtype} of shape {y.shape}")
        if not np.all(np.isfinite(y)):
            raise DataError(f"NaN or Inf values in {what}")
        return y.astype(np.float32)

    def example(self, rng, batch):
        return rng.standard_normal([batch, self.size]).astype(np.float32)

    def get_config(self):
        return {**super().get_config(), "size": self.size}
