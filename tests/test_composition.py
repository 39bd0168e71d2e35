"""A VAE composed from a user's own Keras networks (tests/user_networks.py): the life of such
a model (fit, .keras save, reload in a fresh process, more fit; its export served without
zoo is the driver's case `vae_user_networks_32x32x3`), the contract checks between the
parts, and the checks on what `fit` is given."""

import pathlib

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

import zoo
import user_networks as user_networks_module
from harness import reload_keras_in_fresh_process
from zoo.errors import DataError, ZooError



@pytest.fixture(scope="module")
def user_networks():
    """A user's own networks module (tests/user_networks.py), imported from its folder as a
    user's would be."""
    return pathlib.Path(user_networks_module.__file__).parent, user_networks_module


def _images(n=64, seed=0):
    rng = np.random.default_rng(seed)
    smooth = rng.random((n, 8, 8, 3)).repeat(4, axis=1).repeat(4, axis=2)  # blocky, learnable images
    return (smooth * 0.8 + 0.1 * rng.random((n, 32, 32, 3))).astype(np.float32)


@pytest.mark.heavy  # a fresh process reloads the .keras file
def test_own_networks_fit_save_reload_fit(user_networks, tmp_path):
    folder, nets = user_networks
    keras.utils.set_random_seed(0)
    posterior = zoo.DiagonalNormal(latent_dim=8)
    vae = zoo.VAE(nets.encoder(posterior.params_size), posterior, nets.decoder(8, 3), zoo.Gaussian(sigma="learned"),
                  prior=zoo.StandardNormal(), objective=zoo.ELBO(warmup_epochs=4))
    assert vae.image_shape == (32, 32, 3)  # read from the encoder's Input
    x = _images()
    vae.compile(keras.optimizers.Adam(1e-3))
    history = vae.fit(x, batch_size=16, epochs=2, verbose=0).history
    assert np.all(np.isfinite(history["loss"])) and history["kl_weight"] == [0.0, 0.25]

    path = tmp_path / "mine.keras"
    vae.save(path)
    report, elbo_there, after = reload_keras_in_fresh_process(path, x[:8], tmp_path, folder, "user_networks")
    np.testing.assert_array_equal(elbo_there, vae.elbo(x[:8]).numpy())  # identical at the fixed seed
    assert np.isfinite(report["loss"][0]) and report["epochs_trained"] == 3.0  # it continued from 2
    assert not np.allclose(after, elbo_there)  # the reloaded model trained

    reloaded = keras.models.load_model(path)  # in this process too: the warm-up goes on at 0.5
    reloaded.compile(keras.optimizers.Adam(1e-3))
    assert reloaded.fit(x, batch_size=16, epochs=1, verbose=0).history["kl_weight"] == [0.5]
    # Exported and served without zoo or TFP: the driver's case of these networks,
    # tests/test_driver_coverage.py::test_model[vae_user_networks_32x32x3].


def test_python_generation_and_scoring_api(user_networks):
    _, nets = user_networks
    posterior = zoo.DiagonalNormal(8)
    vae = zoo.VAE(nets.encoder(posterior.params_size), posterior, nets.decoder(8, 3), zoo.Gaussian(sigma=0.1))
    x = _images(4)
    assert vae.sample(3, seed=5).shape == (3, 32, 32, 3)
    np.testing.assert_array_equal(vae.sample(3, seed=5), vae.sample(3, seed=5))
    assert vae.sample(2, seed=1, mean=False).shape == (2, 32, 32, 3)
    assert vae.encode(x).event_shape == (8,) and vae.decode(tf.zeros([2, 8])).event_shape == (32, 32, 3)
    assert vae.reconstruct(x).shape == (4, 32, 32, 3)
    elbo = vae.elbo(x).numpy()
    np.testing.assert_array_equal(elbo, vae.elbo(x).numpy())  # a fixed seed: repeatable
    log_px = vae.log_likelihood(x, samples=64).numpy()
    assert log_px.shape == (4,) and np.all(np.isfinite(log_px))
    assert log_px.mean() > elbo.mean()  # 64 importance samples: a tighter bound than one draw


def _dense_encoder(outputs, shape=(28, 28, 1)):
    return keras.Sequential([keras.Input(shape), keras.layers.Flatten(), keras.layers.Dense(outputs)])


def _dense_decoder(latent_dim, shape=(28, 28, 1)):
    return keras.Sequential([keras.Input((latent_dim,)), keras.layers.Dense(int(np.prod(shape))),
                             keras.layers.Reshape(shape)])


@pytest.mark.parametrize("make, fragments", [
    (lambda: zoo.VAE(_dense_encoder(10), zoo.DiagonalNormal(4), _dense_decoder(4), zoo.Bernoulli()),
     ["encoder outputs (10,)", "needs (8,)", "Dense(8)"]),
    (lambda: zoo.VAE(_dense_encoder(8), zoo.DiagonalNormal(4), keras.Sequential([
        keras.Input((4,)), keras.layers.Dense(784)]), zoo.Bernoulli()),
     ["decoder outputs (784,)", "needs (28, 28, 1)", "Reshape"]),
    (lambda: zoo.VAE(_dense_encoder(8), zoo.DiagonalNormal(4), _dense_decoder(4), zoo.DiscretizedLogistic()),
     ["decoder outputs (28, 28, 1)", "needs (28, 28, 2)"]),
    (lambda: zoo.VAE(_dense_encoder(8), zoo.DiagonalNormal(4), _dense_decoder(4), zoo.Bernoulli(),
                     prior=zoo.UniformCategorical()),
     ["got 'uniform_categorical'", "a prior for posterior 'diagonal_normal'", "standard_normal"]),
    (lambda: zoo.VAE(_dense_encoder(30), zoo.RelaxedCategorical(3, categories=10), _dense_decoder(30),
                     zoo.Bernoulli(), prior=zoo.UniformCategorical(), objective=zoo.IWAE(samples=2)),
     ["iwae", "elbo"]),
    (lambda: zoo.VAE(_dense_encoder(8), zoo.Bernoulli(), _dense_decoder(4), zoo.Bernoulli()),
     ["VAE posterior", "Posterior", "Bernoulli"]),
    (lambda: zoo.VAE(lambda x: x, zoo.DiagonalNormal(4), _dense_decoder(4), zoo.Bernoulli()),
     ["VAE encoder", "Layer"]),
    (lambda: zoo.VAE(_dense_encoder(8, (28, 28, 1)), zoo.DiagonalNormal(4), _dense_decoder(4), zoo.Bernoulli(),
                     image_shape=(32, 32, 1)),
     ["encoder cannot take images of shape (32, 32, 1)"]),
])
def test_parts_that_do_not_fit_are_refused_in_one_line(make, fragments):
    with pytest.raises(ZooError) as error:
        make()
    message = str(error.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message


def _small_bernoulli_vae():
    return zoo.VAE(_dense_encoder(8), zoo.DiagonalNormal(4), _dense_decoder(4), zoo.Bernoulli())


@pytest.mark.parametrize("data, fragments", [
    (lambda x: tf.data.Dataset.from_tensor_slices(x * 255).batch(8), ["first batch", "run from 0.0", "to 254.9", "x / 255"]),
    (lambda x: (x * 255).astype(np.uint8), ["uint8", "/ 255"]),
    (lambda x: tf.data.Dataset.from_tensor_slices((x * 255).astype(np.uint8)).batch(8), ["uint8"]),
    (lambda x: x[..., 0], ["shape (16, 28, 28)", "x[..., None]"]),
    (lambda x: tf.data.Dataset.from_tensor_slices(x[:, :27, :27]).batch(8), ["(8, 27, 27, 1)", "28, 28, 1"]),
    (lambda x: np.where(x > 0.5, np.nan, x), ["NaN"]),
    (lambda x: x.astype(np.int32), ["dtype int32"]),
])
def test_fit_refuses_bad_images_alike_from_numpy_tensors_and_tf_data(data, fragments):
    vae = _small_bernoulli_vae()
    vae.compile(keras.optimizers.Adam(1e-3))
    x = np.random.default_rng(0).random((16, 28, 28, 1)).astype(np.float32)
    with pytest.raises(DataError) as error:
        vae.fit(data(x), epochs=1, verbose=0)
    message = str(error.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    before = vae.get_weights()
    vae.fit(tf.data.Dataset.from_tensor_slices(x).batch(8), epochs=1, verbose=0)  # [0, 1] floats train
    assert any(not np.array_equal(a, b) for a, b in zip(before, vae.get_weights()))


def test_a_model_without_an_input_shape_builds_from_its_first_data():
    class Encoder(keras.Model):  # subclassed, no Input: the image shape comes from the data
        def __init__(self):
            super().__init__()
            self.flatten, self.dense = keras.layers.Flatten(), keras.layers.Dense(8)

        def call(self, x):
            return self.dense(self.flatten(x))

    vae = zoo.VAE(Encoder(), zoo.DiagonalNormal(4), _dense_decoder(4), zoo.Bernoulli())
    assert not vae.built
    vae.compile(keras.optimizers.Adam(1e-3))
    x = (np.random.default_rng(0).random((16, 28, 28, 1)) < 0.5).astype(np.float32)
    vae.fit(x, batch_size=8, epochs=1, verbose=0)
    assert vae.built and vae.image_shape == (28, 28, 1)
