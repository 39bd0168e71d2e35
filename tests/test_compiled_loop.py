"""`model.fit(ResidentImages)`: the multi-step XLA loop sees every image once per epoch, is
repeatable, resumes from a checkpoint at the same data position, and binarizes correctly."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras
from scipy import stats

from zoo.config import VAEConfig
from zoo.data import ResidentImages, Split
from zoo.errors import ZooError
from zoo.layers.posteriors import DiagonalNormal
from zoo.models.builder import build
from zoo.models import compiled_loop

SHAPE = (4, 4, 1)


def numbered_split(count=50):
    """Images whose first pixel holds their index, so batches can be traced back."""
    images = np.zeros((count, *SHAPE), np.uint8)
    images[:, 0, 0, 0] = np.arange(count)
    return Split(images, None, levels=256)


def random_split(count=64, seed=0):
    return Split((np.random.default_rng(seed).random((count, *SHAPE)) * 256).astype(np.uint8), None, 256)


def small_model(jit_compile=True, steps_per_execution=3):
    keras.utils.set_random_seed(0)
    model = build(VAEConfig(image_shape=SHAPE, network={"type": "mlp", "hidden_units": (8,)},
                            posterior={"type": "diagonal_normal", "latent_dim": 2}))
    model.compile(keras.optimizers.Adam(1e-2), jit_compile=jit_compile, steps_per_execution=steps_per_execution)
    return model


def epoch_indices(data, epoch):
    data.shuffle_for(tf.constant(epoch * data.steps_per_epoch, tf.int64))
    return np.concatenate([np.round(data.batch(tf.constant(epoch * data.steps_per_epoch + s, tf.int64))
                                    .numpy()[:, 0, 0, 0] * 255).astype(int) for s in range(data.steps_per_epoch)])


def test_each_epoch_is_a_fresh_permutation_of_full_batches():
    data = ResidentImages(numbered_split(50), batch_size=8, binarization="none", seed=1)
    assert data.steps_per_epoch == 6 and len(data) == 48
    first, second = epoch_indices(data, 0), epoch_indices(data, 1)
    for indices in (first, second):
        assert len(set(indices)) == 48 and set(indices) <= set(range(50))
    assert not np.array_equal(first, second)
    assert np.array_equal(first, epoch_indices(ResidentImages(numbered_split(50), 8, "none", seed=1), 0))


@pytest.mark.parametrize("alg,jit", [("auto_select", False), ("threefry", True)])
def test_dynamic_binarization_draws_each_pixel_with_its_grey_level(alg, jit):
    grey = np.full((64, *SHAPE), 77, np.uint8)  # probability 77/255 = 0.302
    data = ResidentImages(Split(grey, None, 256), batch_size=64, binarization="dynamic", seed=0)
    data.shuffle_for(tf.constant(0, tf.int64))
    batch = tf.function(lambda step: data.batch(step, alg), jit_compile=jit)
    draws = np.stack([batch(tf.constant(s, tf.int64)).numpy() for s in range(20)])
    assert set(np.unique(draws)) == {0.0, 1.0}
    assert abs(draws.mean() - 77 / 255) < 0.01  # 20,480 draws: standard error 0.003
    assert not np.array_equal(draws[0], draws[1])


@pytest.mark.slow
def test_same_seed_gives_identical_losses():
    histories = [small_model().fit(ResidentImages(random_split(), 16, "dynamic", seed=3), epochs=3, verbose=0)
                 .history["loss"] for _ in range(2)]
    assert histories[0] == histories[1]
    assert histories[0][-1] < histories[0][0]


def test_resuming_from_a_checkpoint_continues_at_the_same_data_position(tmp_path):
    """1 epoch, checkpoint, restore into a new model, 1 more epoch == 2 epochs straight:
    the data position is the optimizer's step count, which the checkpoint holds."""
    split = random_split()
    straight = small_model()
    straight.fit(ResidentImages(split, 16, "dynamic", seed=3), epochs=2, verbose=0)

    first = small_model()
    first.fit(ResidentImages(split, 16, "dynamic", seed=3), epochs=1, verbose=0)
    path = tf.train.Checkpoint(model=first, optimizer=first.optimizer).write(str(tmp_path / "ckpt"))
    resumed = small_model()
    resumed.optimizer.build(resumed.trainable_variables)
    tf.train.Checkpoint(model=resumed, optimizer=resumed.optimizer).read(path).assert_consumed()
    resumed.fit(ResidentImages(split, 16, "dynamic", seed=3), epochs=1, verbose=0)

    assert int(resumed.optimizer.iterations) == int(straight.optimizer.iterations) == 8
    assert float(resumed.epochs_trained) == float(straight.epochs_trained) == 2.0  # the checkpoint holds the count
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_fit_refuses_another_steps_per_epoch():
    with pytest.raises(ZooError, match="steps_per_epoch must be 4"):
        small_model().fit(ResidentImages(random_split(), 16, "none"), steps_per_epoch=3, epochs=1, verbose=0)


def test_fit_refuses_a_model_built_under_a_distribution_strategy():
    with tf.distribute.MirroredStrategy(["/cpu:0"]).scope():
        model = small_model()
    with pytest.raises(ZooError, match="default strategy only"):
        model.fit(ResidentImages(random_split(), 16, "none"), epochs=1, verbose=0)


def test_without_xla_the_loop_trains_too():
    history = small_model(jit_compile=False).fit(ResidentImages(random_split(), 16, "dynamic"), epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))


def test_gaussian_latents_are_tfps_draws_and_threefry_draws_under_xla():
    posterior = DiagonalNormal(4)
    params = tf.constant(np.random.default_rng(0).standard_normal((500, 8)), tf.float32)
    q = posterior.inference(params).distribution
    seed = tf.constant([3, 4], tf.int32)
    np.testing.assert_array_equal(posterior.sample(params, 2, seed), q.sample(2, seed=seed))
    fast = tf.function(lambda s: posterior.sample(params, 2, s, alg="threefry"), jit_compile=True)(seed)
    eps = ((fast - q.loc) / q.scale).numpy()  # 4,000 standard normal draws
    assert abs(eps.mean()) < 0.07 and abs(eps.std() - 1) < 0.05 and stats.kstest(eps.ravel(), "norm").pvalue > 1e-3
    assert not np.allclose(fast, q.sample(2, seed=seed), atol=1e-3)


def test_conv_networks_on_cpu_loop_without_xla_and_still_train():
    keras.utils.set_random_seed(0)
    conv = build(VAEConfig(image_shape=(8, 8, 1), network={"type": "conv", "conv_filters": (4,)},
                           posterior={"type": "diagonal_normal", "latent_dim": 2}))
    conv.compile(keras.optimizers.Adam(1e-2), jit_compile=True, steps_per_execution=3)
    assert not compiled_loop.xla_pays(conv)  # XLA runs convolutions in a loop body ~25x slower on CPU
    assert compiled_loop.xla_pays(small_model(jit_compile=True))
    assert not compiled_loop.xla_pays(small_model(jit_compile=False))
    split = Split((np.random.default_rng(0).random((64, 8, 8, 1)) * 256).astype(np.uint8), None, 256)
    history = conv.fit(ResidentImages(split, 16, "dynamic"), epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
