"""The training function `VAE.fit` runs on `ResidentImages`: many steps per call, one XLA program.

Keras calls its train function once per `steps_per_execution` steps. Here that call shuffles
the resident images if a new epoch began (outside XLA, where gathers are fast), then runs
a `tf.while_loop` of training steps compiled as one XLA program: each step takes its batch
from the shuffled images, binarizes it and updates the weights, with no Python and no data
transfer in between. Seeds come from the step number, so a run is repeatable and a resumed
run sees the data it would have seen.
"""

import tensorflow as tf
import tf_keras as keras

Z_STREAM = 3  # `ResidentImages.seed_for` stream of the latent draws (the data uses 1 and 2)


def train_function(model, data):
    """A Keras train function for `model` on `data` (a `ResidentImages`)."""
    model.optimizer.build(model.trainable_variables)  # no variables may be created in the loop
    jit_compile = xla_pays(model)
    alg = "threefry" if jit_compile else "auto_select"  # threefry is fast under XLA, absent outside

    # No arguments, and batches taken by gather, not slice: XLA treats an integer that
    # reaches a slice's offsets as a compile-time constant and would compile the loop again
    # for every new step number.
    # autograph=False: the loop builds its own while_loop; AutoGraph would only rewrite the
    # source of every function the step calls, which took longer than XLA's compilation.
    @tf.function(jit_compile=jit_compile, autograph=False)
    def run_steps():
        first_step = tf.cast(model.optimizer.iterations, tf.int64)
        steps = tf.cast(model._steps_per_execution, tf.int64)

        def body(i, step, batch, logs):  # batch: images, or (images, labels)
            x, y = batch if isinstance(batch, tuple) else (batch, None)
            given = {} if y is None else {"y": y}
            if model.draws:  # the step's random draws come from the step number
                given.update(seed=data.seed_for(Z_STREAM, step, tf.int32), alg=alg)
            logs = model.update(x, **given)  # every resident image was checked when `fit` began
            return i + 1, step + 1, data.batch(step + 1, alg), logs  # carried: XLA makes it once

        # The step number is carried, not `first_step + i`: the loop captures the read of
        # `iterations`, which it read again at every iteration (steps 0, 2, 4, ... in one call).
        logs = {name: tf.zeros([]) for name in model.metrics_names}
        return tf.while_loop(lambda i, *_: i < steps, body,
                             (tf.constant(0, tf.int64), first_step, data.batch(first_step, alg), logs))[3]

    @tf.function(autograph=False)
    def train(iterator):
        del iterator  # the loop reads the resident images itself
        with tf.control_dependencies([data.shuffle_for(tf.cast(model.optimizer.iterations, tf.int64))]):
            return run_steps()

    return train


def xla_pays(model):
    """Whether to compile the loop with XLA: as `compile(jit_compile=...)` asks, except for
    networks with convolutions on a CPU, where XLA runs convolutions inside a loop body about
    25x slower than outside one (a 2-layer conv step: 162 vs 7 ms; jax-ml/jax#12868), and
    per-step XLA is no faster than TensorFlow's own kernels (2,004 vs 2,005 images/s)."""
    if not model._jit_compile:
        return False
    on_cpu = not tf.config.list_logical_devices("GPU")
    convolutions = any(isinstance(layer, keras.layers.Conv2D) for layer in model._flatten_layers())
    return not (on_cpu and convolutions)
