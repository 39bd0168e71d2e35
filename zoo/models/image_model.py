"""What every zoo model of images shares: refusing unusable images before a step, and `fit`
on a `ResidentImages` (the compiled multi-step loop) as well as on arrays and datasets.

A subclass has `image_shape`, `build` and a `likelihood` with a `pixel_range`, and may add
label checks (`labels_required`, `_check_labels`).
"""

import math

import numpy as np
import tensorflow as tf
import tf_keras as keras

from zoo.data.resident import ResidentImages
from zoo.errors import DataError, ZooError
from zoo.training import compiled_loop
from zoo.training.schedules import EpochSchedules


class ImageModel(keras.Model):
    """A keras Model of images [B, H, W, C] that checks them and trains on resident ones."""

    KIND = "model"  # how messages name it: "this VAE takes ..."
    labels_required = False
    _resident = None  # the ResidentImages the train function was made for

    def fit(self, x=None, *args, callbacks=None, **kwargs):
        """keras `fit`, with the blocks' epoch schedules added (`EpochSchedules`) and the images
        checked (shape, dtype, pixel range for the likelihood) before any step.

        `x` may be a `zoo.data.ResidentImages`: the images then stay on the device and each
        call of the train function runs `steps_per_execution` steps (set in `compile`) as
        one XLA program (`zoo.training.compiled_loop`); an epoch is the set's `steps_per_epoch`.
        """
        callbacks = [EpochSchedules()] + list(callbacks or [])  # first: a backup sees this epoch's count
        resident = x if isinstance(x, ResidentImages) else None
        if resident is not None:
            self.check_images(resident.sample_batch(), "the ResidentImages")
            with self.distribute_strategy.scope():  # the strategy the model was built under
                distributed = tf.distribute.has_strategy()
            if distributed:
                raise ZooError("ResidentImages trains under the default strategy only; under a "
                               "tf.distribute strategy pass a tf.data.Dataset")
            if kwargs.setdefault("steps_per_epoch", resident.steps_per_epoch) != resident.steps_per_epoch:
                raise ZooError(f"steps_per_epoch must be {resident.steps_per_epoch} "
                               "(the ResidentImages' own) or left out")
            x = resident.placeholder()
        else:
            self.check_data(x)
            self._check_labels(x, args[0] if args else kwargs.get("y"))
        if resident is not self._resident:
            self._resident, self.train_function = resident, None
        return super().fit(x, *args, callbacks=callbacks, **kwargs)

    def evaluate(self, x=None, *args, **kwargs):
        self.check_data(x)
        self._check_labels(x, args[0] if args else kwargs.get("y"))
        return super().evaluate(x, *args, **kwargs)

    def make_train_function(self, force=False):
        if self._resident is None or (self.train_function is not None and not force):
            return super().make_train_function(force)
        self.train_function = compiled_loop.train_function(self, self._resident)
        return self.train_function

    def _check_labels(self, x, y):
        """The labels given beside arrays of images (none by default)."""

    def check_data(self, x):
        """Check what `fit`/`evaluate` get: arrays and tensors whole, a tf.data.Dataset by its
        element spec and its first batch (checking every batch would cost every step)."""
        if isinstance(x, tf.data.Dataset):
            spec = x.element_spec
            if self.labels_required and not (isinstance(spec, tuple) and len(spec) >= 2):
                raise DataError(f"this {self.KIND} is conditional ({type(self.condition).__name__}): the dataset's "
                                "elements must be (images, labels) pairs")
            spec = spec[0] if isinstance(spec, tuple) else spec
            if not isinstance(spec, tf.TensorSpec):
                raise DataError(f"the dataset's elements must be image batches (or (images, ...) tuples); "
                                f"got {spec}")
            first = next(iter(x.take(1)), None)
            if first is not None:
                self.check_images(first[0] if isinstance(first, tuple) else first, "the dataset's first batch")
        elif isinstance(x, (np.ndarray, tf.Tensor, list)):
            self.check_images(x, "the images")

    def check_images(self, x, what="the images"):
        """Refuse images this model cannot score, with one line: a shape other than the model's,
        uint8 or other non-float pixels, values outside the likelihood's `pixel_range` (0..255
        grey levels given to a Bernoulli would train without complaint), NaN or Inf."""
        x = np.asarray(x)
        if not self.built:
            self.build((None, *x.shape[1:]))
        if x.ndim != 4 or tuple(x.shape[1:]) != self.image_shape:
            raise DataError(f"{what}: shape {x.shape}; this {self.KIND} takes [batch, "
                            f"{', '.join(map(str, self.image_shape))}]"
                            + (" (add a channel axis: x[..., None])" if x.shape[1:] == self.image_shape[:2] else ""))
        if x.dtype == np.uint8:
            raise DataError(f"uint8 pixels (0..255) in {what}; this {self.KIND} takes float pixels in [0, 1]: "
                            "pass x.astype('float32') / 255")
        if not (np.issubdtype(x.dtype, np.floating) or x.dtype == bool):
            raise DataError(f"pixels of dtype {x.dtype} in {what}; this {self.KIND} takes float32 pixels in [0, 1]")
        if x.size == 0 or x.dtype == bool:
            return
        low, high = float(np.min(x)), float(np.max(x))
        if not (math.isfinite(low) and math.isfinite(high)):
            raise DataError(f"NaN or Inf values in {what}")
        pixel_range = self.likelihood.pixel_range
        if pixel_range is not None and not pixel_range[0] <= low <= high <= pixel_range[1]:
            raise DataError(f"{type(self.likelihood).__name__} models pixels in [{pixel_range[0]:g}, "
                            f"{pixel_range[1]:g}]; values in {what} run from {low:g} to {high:g} (scale them, e.g. x / 255)")

    def _checked(self, x):
        if isinstance(x, np.ndarray) or (isinstance(x, tf.Tensor) and tf.executing_eagerly()):
            self.check_images(x)
        return tf.convert_to_tensor(x, tf.float32)
