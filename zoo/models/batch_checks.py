"""Every training and test batch checked inside the compiled step, not only the first one.

`ZooModel.check_data` looks at a `tf.data` dataset's first batch; a NaN at image 700 or
pixels 0..255 after it would train without a word. So each step computes a problem code
of its own batch (`batch_problem`: NaN/Inf, or values outside the model's `pixel_range`)
and runs its update only when the code is 0. Under `jit_compile` TensorFlow drops
asserts, so the step cannot raise: it skips with a `tf.cond` and records the code in a
variable (`BatchState`) that every later step of the same call reads, so the weights and
the optimizer state stay those of before the bad batch, also with many steps per call.
The compiled multi-step loop on `ResidentImages` runs its steps `unchecked`: its batches are
made in the loop from the resident integer images, all of which `fit` checks once before
the first step (a per-step check there could find nothing more, and its reductions cost
about 5% of a step's CPU time on the MLP benchmark).
`StopAtBadBatch`, a callback `fit` and `evaluate` add, reads the variable after each call
and stops the run with one line naming the epoch, the step and the problem.
"""

import functools
import threading

import numpy as np
import tensorflow as tf
import tf_keras as keras

from zoo.errors import DataError

FINE, NOT_FINITE, OUT_OF_RANGE = 0, 1, 2
REFUSED = "zoo: bad batch "  # the assert message of a step under several replicas, then the problem code
_inside = threading.local()  # an update that calls another checked update (super().update) checks once


def batch_problem(x, pixel_range):
    """An int32 scalar: FINE, NOT_FINITE (a NaN or Inf) or OUT_OF_RANGE (finite values outside
    `pixel_range`, a (low, high) pair, or None for any float).

    For a range with low >= 0 one pass over the float32 bits as integers decides that a
    batch is fine (the integers of non-negative floats are in the floats' order, and NaN and
    Inf lie above every finite float); float reductions, which XLA's CPU backend ran 3.5
    times slower (360 vs 106 us a batch of 128 MNIST images), run only for a batch that
    pass finds suspect (-0.0 included)."""
    x = tf.cast(x, tf.float32)
    if pixel_range is None or pixel_range[0] < 0:
        return exact_problem(x, pixel_range)
    bits = tf.bitcast(x, tf.int32)
    low, high = (int(np.float32(bound).view(np.int32)) for bound in pixel_range)
    surely_fine = tf.logical_and(tf.reduce_min(bits) >= low, tf.reduce_max(bits) <= high)
    return tf.cond(surely_fine, lambda: tf.constant(FINE), lambda: exact_problem(x, pixel_range))


def exact_problem(x, pixel_range):
    problem = tf.where(tf.reduce_all(tf.math.is_finite(x)), FINE, NOT_FINITE)
    if pixel_range is not None:
        inside = tf.logical_and(tf.reduce_min(x) >= pixel_range[0], tf.reduce_max(x) <= pixel_range[1])
        problem = tf.where(tf.logical_or(problem != FINE, inside), problem, OUT_OF_RANGE)
    return problem


class unchecked:
    """`with unchecked():` updates traced inside run unchecked: for a caller that checks each
    batch itself (the compiled loop stops before a bad one, with no `tf.cond` in its step)."""

    def __enter__(self):
        self.was, _inside.active = getattr(_inside, "active", False), True

    def __exit__(self, *exc):
        _inside.active = self.was
        return False


def agreed(problem):
    """The problem of the global batch: under several replicas each sees part of it, and all
    skip when any part is bad (NOT_FINITE wins over OUT_OF_RANGE)."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return problem
    counts = context.all_reduce(tf.distribute.ReduceOp.SUM, tf.one_hot(problem, 3))
    return tf.where(counts[NOT_FINITE] > 0, NOT_FINITE, tf.where(counts[OUT_OF_RANGE] > 0, OUT_OF_RANGE, FINE))


class BatchState:
    """The problem code of the first bad batch of a run (FINE until one comes), in a variable
    that the model does not track (it is not saved with the weights)."""

    def __init__(self, model):
        with tf.init_scope(), model.distribute_strategy.scope():
            self.code = tf.Variable(FINE, dtype=tf.int32, trainable=False, name="batch_problem",
                                    aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)

    def clean(self):
        return tf.equal(self.code, FINE)

    def reset(self):
        self.code.assign(FINE)


def state_of(model):
    """The model's `BatchState`, made on first use (kept out of Keras' tracking: not a weight)."""
    if "_batch_state" not in model.__dict__:
        model.__dict__["_batch_state"] = BatchState(model)
    return model.__dict__["_batch_state"]


def checked_update(update):
    """`update(model, x, ...)` run only when x's batch is fine and no earlier batch of the run
    was bad; otherwise the step changes nothing (weights, optimizer state, metrics) and returns
    the metrics as they are. The optimizer is built first: no variable may be made in a branch."""

    @functools.wraps(update)
    def checked(model, x, *args, **kwargs):
        if getattr(_inside, "active", False) or not model._check_batches:
            return update(model, x, *args, **kwargs)
        state = state_of(model)
        with tf.init_scope():
            model.optimizer.build(model.trainable_variables)
        problem = agreed(batch_problem(x, model.pixel_range()))
        if several_replicas():  # a cond around a step that aggregates gradients cannot run there
            return update(model, refused_unless_fine(x, problem), *args, **kwargs)
        go = tf.logical_and(tf.equal(problem, FINE), state.clean())
        made = {}

        def step():
            with unchecked():
                made["logs"] = update(model, x, *args, **kwargs)
            return made["logs"]

        def skip():  # traced after `step` (tf.cond traces its true branch first): the same structure
            return kept(model, made["logs"])

        if tf.executing_eagerly():
            logs = step() if bool(go) else kept(model, {metric.name: metric.result() for metric in model.metrics})
        else:
            logs = tf.cond(go, step, skip)
        with tf.control_dependencies(tf.nest.flatten(logs)):
            state.code.assign(tf.where(state.clean(), problem, state.code))
        return logs

    return checked


def several_replicas():
    context = tf.distribute.get_replica_context()
    return context is not None and context.num_replicas_in_sync > 1


def refused_unless_fine(x, problem):
    """x, after an assert that its batch is fine: under several replicas `merge_call` (the
    optimizer's gradient sum) cannot run inside a `tf.cond`, so the step fails before its
    update instead (several replicas on CPU never run XLA, which would drop the assert;
    `ZooModel.fit` turns the error into `StopAtBadBatch`'s line)."""
    asserts = [tf.debugging.Assert(tf.not_equal(problem, code), [f"{REFUSED}{code}"])
               for code in (NOT_FINITE, OUT_OF_RANGE)]
    with tf.control_dependencies(asserts):
        return tf.identity(x)


def refused_code(error):
    """The problem code in an error raised by `refused_unless_fine`, else None."""
    text = str(error)
    return int(text[text.index(REFUSED) + len(REFUSED)]) if REFUSED in text else None


def kept(model, logs):
    """`logs`' structure holding the metrics as they are (zeros for anything else): a skipped step's."""
    results = {metric.name: metric.result() for metric in model.metrics}
    return {name: tf.cast(results[name], value.dtype) if name in results else tf.zeros_like(value)
            for name, value in logs.items()}


def checked_test_step(test_step):
    """`test_step(model, data)`, recording the problem of the batch's images for `StopAtBadBatch`."""

    @functools.wraps(test_step)
    def checked(model, data):
        if not model._check_batches:
            return test_step(model, data)
        state = state_of(model)
        x = keras.utils.unpack_x_y_sample_weight(data)[0]
        problem = agreed(batch_problem(x, model.pixel_range()))
        logs = test_step(model, data)
        state.code.assign(tf.where(state.clean(), problem, state.code))
        return logs

    return checked


def describe(model, code):
    if code == NOT_FINITE:
        return "the batch holds NaN or Inf values"
    low, high = model.pixel_range()
    return f"the batch holds values outside [{low:g}, {high:g}], the pixels {model.pixel_owner()} models"


class StopAtBadBatch(keras.callbacks.Callback):
    """Stops `fit` or `evaluate` after the call whose batch was bad, with one DataError line
    naming the epoch and step (fit) or the batch (evaluate). In `fit` the bad step is the
    optimizer's `iterations`: no update ran from that step on."""

    def __init__(self):
        super().__init__()
        self.epoch, self.first_step = 0, 0

    def _state(self):
        return state_of(self.model)

    def on_train_begin(self, logs=None):
        self._state().reset()

    def on_test_begin(self, logs=None):
        self._state().reset()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch, self.first_step = epoch, int(self.model.optimizer.iterations.numpy())

    def on_train_batch_begin(self, batch, logs=None):
        self.call_steps = (batch + 1, batch + self.model._steps_per_execution.numpy())

    def on_train_batch_end(self, batch, logs=None):
        code = int(self._state().code.numpy())
        if code != FINE:
            raise self.stopped(code)

    def stopped(self, code, refused=False):
        """The one-line error of a bad batch in `fit`. A skipped step is not counted by the
        optimizer, so `iterations` names it; a step refused under several replicas (the
        optimizer may have counted it) is named by its call's steps."""
        if refused:
            first, last = self.call_steps
            where = f"step {first}" if first == last else f"one of steps {first}-{last}"
        else:
            where = f"step {int(self.model.optimizer.iterations.numpy()) - self.first_step + 1}"
        return DataError(f"training stopped in epoch {self.epoch + 1} at {where}: {describe(self.model, code)}; "
                         "no update was made from that batch on")

    def on_test_batch_end(self, batch, logs=None):
        code = int(self._state().code.numpy())
        if code != FINE:
            raise DataError(f"evaluate stopped at test batch {batch + 1}: {describe(self.model, code)}")
