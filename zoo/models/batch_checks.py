"""Every batch `fit` and `evaluate` take from a `tf.data` dataset is checked, not only the first.

`ZooModel.check_data` looks at a dataset's first batch before any step; a NaN at image 700
or pixels 0..255 after it would train without a word. So `checked_dataset` adds to the
dataset an assert on each batch (`batch_problem`: NaN/Inf, or values outside the model's
`pixel_range`). It runs in the input pipeline, in TensorFlow's own kernels, where asserts
hold (under `jit_compile` XLA drops them inside the step) and where it costs little: a
`tf.cond` around an XLA-compiled step with the check inside cost 7-15% of the MLP
benchmark's CPU time per image (benchmarks/check_cost.py --tf-data). The step that would
take a bad batch fails when it asks for it, before its update: the weights and the optimizer
state stay those of the step before, also with many steps per call and under several
replicas. `StopAtBadBatch` turns that failure into one line naming the epoch and the step.

Arrays and tensors are checked whole before `fit`, and `ResidentImages` (whose batches the
compiled loop makes from the resident integer images) all at once, so no path has an
unchecked batch.
"""

import numpy as np
import tensorflow as tf
import tf_keras as keras

from zoo.errors import DataError

FINE, NOT_FINITE, OUT_OF_RANGE = 0, 1, 2
REFUSED = "zoo: bad batch "  # the assert's message, then the problem code


def batch_problem(x, pixel_range):
    """An int32 scalar: FINE, NOT_FINITE (a NaN or Inf) or OUT_OF_RANGE (finite values outside
    `pixel_range`, a (low, high) pair, or None for any float). A fine batch costs one fused
    pass (NaN fails every comparison); which problem it is is worked out only for a bad one."""
    x = tf.cast(x, tf.float32)
    if pixel_range is None:
        return tf.where(tf.reduce_all(tf.math.is_finite(x)), FINE, NOT_FINITE)
    inside = tf.reduce_all(tf.logical_and(x >= pixel_range[0], x <= pixel_range[1]))
    return tf.cond(inside, lambda: tf.constant(FINE),
                   lambda: tf.where(tf.reduce_all(tf.math.is_finite(x)), OUT_OF_RANGE, NOT_FINITE))


def checked_dataset(model, dataset):
    """`dataset` whose every element fails (an InvalidArgumentError naming the problem) when
    its images are not ones `model` can score; elements are images or (images, ...) tuples."""
    pixel_range = model.pixel_range()

    def checked(*element):
        images = element[0]
        if not images.dtype.is_floating:
            return element if len(element) > 1 else element[0]
        problem = batch_problem(images, pixel_range)
        asserts = [tf.debugging.Assert(tf.not_equal(problem, code), [f"{REFUSED}{code}"])
                   for code in (NOT_FINITE, OUT_OF_RANGE)]
        with tf.control_dependencies(asserts):
            element = tuple(tf.nest.map_structure(tf.identity, part) for part in element)
        return element if len(element) > 1 else element[0]

    # In parallel and prefetched: run in the consumer's thread, the check would undo the
    # prefetching of the dataset it wraps.
    return dataset.map(checked, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(tf.data.AUTOTUNE)


def refused_code(error):
    """The problem code in an error raised by a `checked_dataset`, else None."""
    text = str(error)
    return int(text[text.index(REFUSED) + len(REFUSED)]) if REFUSED in text else None


def describe(model, code):
    if code == NOT_FINITE:
        return "the batch holds NaN or Inf values"
    low, high = model.pixel_range()
    return f"the batch holds values outside [{low:g}, {high:g}], the pixels {model.pixel_owner()} models"


class StopAtBadBatch(keras.callbacks.Callback):
    """Knows where `fit` or `evaluate` is, to name the bad batch a `checked_dataset` refused:
    in `fit` its step is the optimizer's `iterations` (no update ran from it on)."""

    def __init__(self):
        super().__init__()
        self.epoch, self.first_step, self.test_batch = 0, 0, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch, self.first_step = epoch, int(self.model.optimizer.iterations.numpy())

    def on_test_begin(self, logs=None):
        self.test_batch = 0

    def on_test_batch_end(self, batch, logs=None):
        self.test_batch = batch + 1

    def stopped(self, code):
        """The one-line error of a bad batch in `fit`."""
        return DataError(f"training stopped in epoch {self.epoch + 1} at {self.where()}: {describe(self.model, code)}; "
                         "no update was made from that batch on")

    def where(self):
        step = int(self.model.optimizer.iterations.numpy()) - self.first_step + 1
        return f"step {step}"

    def stopped_evaluating(self, code):
        """The one-line error of a bad batch in `evaluate` (batches counted from the last call)."""
        return DataError(f"evaluate stopped at test batch {self.test_batch + 1}: {describe(self.model, code)}")


class StopAtBadBatchReplicated(StopAtBadBatch):
    """`StopAtBadBatch` under several replicas, where the optimizer may count the step that
    failed (its step counter does not wait for the gradients): the bad step is named from the
    steps done when the last call ended (exact with one step per call). Weights and moments
    are those before the bad step."""

    def on_epoch_begin(self, epoch, logs=None):
        super().on_epoch_begin(epoch, logs)
        self.done = self.first_step

    def on_train_batch_end(self, batch, logs=None):
        self.done = int(self.model.optimizer.iterations.numpy())

    def where(self):
        first = self.done - self.first_step + 1
        last = first + int(self.model._steps_per_execution.numpy()) - 1
        return f"step {first}" if first == last else f"one of steps {first}-{last}"
