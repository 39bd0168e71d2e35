"""Issue 25, case 1 (first half): every batch is checked, not only the first one. A NaN, or
pixels outside the model's range, in a later `tf.data` batch stops `fit` before that step's
update, under XLA and with many steps per call, for every kind of model, with one line
naming the epoch and the step; `evaluate` likewise; resident images are checked whole."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

import toy_kinds
from driver_cases import CASES
from zoo.data import ResidentImages, Split
from zoo.errors import DataError

BATCH, BATCHES, BAD = 4, 6, 3  # the fourth of six batches is bad: the second call of 3 steps


def state(model):
    """Every variable a step may change: weights, optimizer slots and step count, metric totals
    (a CriticAutoencoder's second optimizer too)."""
    variables = list(model.variables) + list(model.optimizer.variables())
    variables += [v for metric in model.metrics for v in metric.variables]
    if hasattr(model, "critic_optimizer"):
        variables += list(model.critic_optimizer.variables())
    return [v.numpy().copy() for v in variables]


class Snapshots(keras.callbacks.Callback):
    """The model's state after each call of its train function."""

    def __init__(self):
        super().__init__()
        self.taken = []

    def on_train_batch_end(self, batch, logs=None):
        self.taken.append(state(self.model))


def images_for(model, count, seed=0):
    return model.example_pixels(np.random.default_rng(seed), (count, *model.image_shape)).astype(np.float32)


KINDS = ["vae_mlp_categorical_continuous_bernoulli", "m2_conv_classifier", "vq_vae", "toy_autoencoder",
         "toy_critic_autoencoder"]


# A NaN batch for every kind (each kind's own loss meets it); a pixel out of range is refused by the
# one check before any kind's loss, so the default tier sends it to the first kind only, `-m slow` to all.
@pytest.mark.parametrize("case, poison", [(case, "nan") for case in KINDS] + [
    pytest.param(case, "range", marks=() if case == KINDS[0] else pytest.mark.slow) for case in KINDS])
def test_a_bad_later_batch_changes_nothing_and_stops_fit_in_one_line(case, poison):
    model = CASES[case].build()
    model.compile(keras.optimizers.Adam(1e-3), jit_compile=True, steps_per_execution=3)
    x = images_for(model, BATCH * BATCHES)
    x[BAD * BATCH + 1, 0, 0, 0] = np.nan if poison == "nan" else 255.0
    snapshots = Snapshots()
    with pytest.raises(DataError) as refused:
        model.fit(tf.data.Dataset.from_tensor_slices(x).batch(BATCH), epochs=2, verbose=0, callbacks=[snapshots])
    message = str(refused.value)
    assert "\n" not in message
    assert f"epoch 1 at step {BAD + 1}:" in message
    assert ("NaN or Inf" if poison == "nan" else "values outside [") in message
    assert len(snapshots.taken) == 1  # the call holding the bad batch is seen by no other callback
    after = state(model)
    assert int(model.optimizer.iterations.numpy()) == BAD
    for before, now in zip(snapshots.taken[0], after):
        np.testing.assert_array_equal(before, now)  # the call's steps 4, 5 and 6 changed nothing


class NarrowAutoencoder(toy_kinds.Autoencoder):
    """An autoencoder that scores pixels in [0, 0.5] only: resident images (always in [0, 1])
    can then hold a bad batch."""

    def pixel_range(self):
        return (0.0, 0.5)


def narrow_split(bad_index=None):
    images = np.random.default_rng(1).integers(0, 2, (160, 8, 8, 1))  # levels 3: 0 and 0.5 only
    if bad_index is not None:
        images[bad_index, 3, 3, 0] = 2  # 1.0: outside [0, 0.5]
    return Split(images, None, levels=3)


def test_resident_images_are_checked_whole_before_the_compiled_loop_runs():
    """The compiled loop's batches come from the resident images: all of them are checked
    when `fit` begins (before: the first 64 only), so a bad image anywhere is refused before
    any step, in one line."""
    keras.utils.set_random_seed(0)
    model = NarrowAutoencoder()
    before = [v.numpy() for v in model.trainable_variables]
    model.compile(keras.optimizers.Adam(1e-2), jit_compile=True, steps_per_execution=7)
    with pytest.raises(DataError, match=r"^this autoencoder models pixels in \[0, 0.5\]; values in the "
                                        r"ResidentImages run from 0 to 1 "):
        model.fit(ResidentImages(narrow_split(100), 8, binarization="none", seed=0), epochs=1, verbose=0)
    assert int(model.optimizer.iterations.numpy()) == 0
    for old, now in zip(before, model.trainable_variables):
        np.testing.assert_array_equal(old, now.numpy())


def test_the_compiled_loop_trains_on_each_batch_of_an_epoch_once():
    """One call of many steps takes the epoch's batches in order (before: the loop re-read
    the step count at every iteration and took batches 0, 2, 4, ...): a model that records
    the sum of each batch it sees, at its step."""
    class Recording(NarrowAutoencoder):
        def update(self, x):
            self.sums.assign(tf.tensor_scatter_nd_update(self.sums, [[tf.cast(self.optimizer.iterations, tf.int32)]],
                                                         [tf.reduce_sum(x)]))
            return super().update(x)

    model = Recording()
    model.sums = tf.Variable(tf.zeros([20]), trainable=False)
    data = ResidentImages(narrow_split(), 8, binarization="none", seed=0)
    model.compile(keras.optimizers.Adam(1e-3), jit_compile=False, steps_per_execution=20)
    model.fit(data, epochs=1, verbose=0)
    expected = data.shuffled.numpy().reshape(20, -1).sum(axis=1) * 0.5
    np.testing.assert_allclose(model.sums.numpy(), expected, rtol=1e-6)


def test_evaluate_refuses_a_bad_later_batch_in_one_line():
    model = CASES["toy_autoencoder"].build()
    model.compile(keras.optimizers.Adam(1e-3))
    x = images_for(model, 12)
    x[9, 1, 1, 0] = np.inf
    with pytest.raises(DataError, match=r"^evaluate stopped at test batch 3: the batch holds NaN or Inf values$"):
        model.evaluate(tf.data.Dataset.from_tensor_slices(x).batch(4), verbose=0)
    assert np.isfinite(model.evaluate(tf.data.Dataset.from_tensor_slices(x[:8]).batch(4), verbose=0))


def test_the_check_can_be_switched_off_for_the_benchmark_only():
    model = CASES["toy_autoencoder"].build()
    model._check_batches = False
    model.compile(keras.optimizers.Adam(1e-3))
    x = images_for(model, 8)
    x[5, 0, 0, 0] = np.nan
    model.fit(tf.data.Dataset.from_tensor_slices(x).batch(4), epochs=1, verbose=0)  # trains on it: the old way
    assert not all(np.isfinite(v.numpy()).all() for v in model.trainable_variables)
