"""Pictures: shapes, what the tiles hold, determinism, PNG round trip, TensorBoard summaries."""

import glob
import re

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from zoo.config import VAEConfig
from zoo.errors import ConfigError, DataError
from zoo.evaluation import pictures
from zoo.models.builder import build
from zoo.training.callbacks import PICTURES_RUN, PictureLogger

GRIDS = {  # name -> (rows, columns) of tiles, for 16 input images
    "reconstructions": (4, 8),
    "samples": (pictures.SAMPLE_GRID,) * 2,
    "interpolations": (pictures.INTERPOLATION_ROWS, pictures.INTERPOLATION_STEPS),
    "latent_grid": (pictures.LATENT_GRID,) * 2,
}


def _model(network, image_shape, latent_dim):
    keras.utils.set_random_seed(0)
    torso = {"type": "mlp", "hidden_units": (16,)} if network == "mlp" else {"type": "conv", "conv_filters": (4, 8)}
    return build(VAEConfig(image_shape=image_shape, network=torso,
                           posterior={"type": "diagonal_normal", "latent_dim": latent_dim}))


@pytest.fixture(scope="module")
def mlp():
    return _model("mlp", (8, 8, 1), latent_dim=2)


@pytest.fixture(scope="module")
def conv():
    return _model("conv", (28, 28, 1), latent_dim=3)


def _images(model, count=16, seed=0):
    """Grey levels, not binary, so a tile holding the wrong image cannot pass by chance."""
    return np.random.default_rng(seed).random((count, *model.image_shape), dtype=np.float32)


def _labels(count=16):
    return np.arange(count) % 3


def _tile(picture, row, column, image_shape):
    """The tile at (row, column) of a `pictures.grid` picture, as laid out there."""
    height, width = (side * pictures.tile_scale(*image_shape[:2]) for side in image_shape[:2])
    top = pictures.GAP + row * (height + pictures.GAP)
    left = pictures.GAP + column * (width + pictures.GAP)
    return picture[top:top + height, left:left + width]


def _as_tile(image):
    """One image as `pictures.grid` draws it: uint8, enlarged by repeating pixels."""
    scale = pictures.tile_scale(*image.shape[:2])
    return pictures.to_uint8(image.repeat(scale, axis=0).repeat(scale, axis=1))


@pytest.mark.parametrize("name", ["mlp", "conv"])
def test_shapes_and_dtype_of_every_picture(name, request):
    model = request.getfixturevalue(name)
    made = pictures.make(model, _images(model), _labels())
    latent_2d = model.code_shape == (2,)
    expected = ["reconstructions", "samples", "interpolations", "latent_traversals"] + (
        ["latent_grid", "latent_scatter"] if latent_2d else [])
    assert list(made) == expected
    height, width, channels = model.image_shape
    scale = pictures.tile_scale(height, width)
    for key, picture in made.items():
        assert picture.dtype == np.uint8 and picture.ndim == 3, key
        if key == "latent_scatter":
            assert picture.shape[2] == 3 and min(picture.shape[:2]) >= 200
            continue
        rows, columns = (model.code_shape[0], pictures.TRAVERSAL_STEPS) if key == "latent_traversals" else GRIDS[key]
        assert picture.shape == (pictures.GAP + rows * (height * scale + pictures.GAP),
                                 pictures.GAP + columns * (width * scale + pictures.GAP), channels), key
    assert scale == (4 if height == 8 else 1)  # tiny images are enlarged, MNIST-sized ones not


def test_no_scatter_without_labels_and_no_latent_plane_beyond_two_dimensions(mlp, conv):
    assert "latent_scatter" not in pictures.make(mlp, _images(mlp))
    assert "latent_grid" in pictures.make(mlp, _images(mlp))
    assert not {"latent_grid", "latent_scatter"} & set(pictures.make(conv, _images(conv), _labels()))


def test_reconstructions_put_each_input_above_its_reconstruction(conv):
    images = _images(conv)
    picture = pictures.make(conv, images)["reconstructions"]
    x_mean = conv.decode(conv.encode(images).mean()).mean().numpy()
    shape = conv.image_shape
    for index in (0, 7, 8, 15):
        pair, column = divmod(index, 8)
        np.testing.assert_array_equal(_tile(picture, 2 * pair, column, shape), _as_tile(images[index]))
        np.testing.assert_allclose(_tile(picture, 2 * pair + 1, column, shape), _as_tile(x_mean[index]), atol=1)


def test_interpolation_rows_start_and_end_at_the_decoded_posterior_means(mlp):
    images = _images(mlp)
    picture = pictures.make(mlp, images)["interpolations"]
    starts, ends = pictures.interpolation_pairs(len(images))
    assert len(starts) == pictures.INTERPOLATION_ROWS and not np.any(starts == ends)
    decoded = mlp.decode(mlp.encode(images).mean()).mean().numpy()
    shape, last = mlp.image_shape, pictures.INTERPOLATION_STEPS - 1
    for row, (start, end) in enumerate(zip(starts, ends)):
        # a batched matmul may round the last bit differently: at most 1 grey level apart
        np.testing.assert_allclose(_tile(picture, row, 0, shape), _as_tile(decoded[start]), atol=1)
        np.testing.assert_allclose(_tile(picture, row, last, shape), _as_tile(decoded[end]), atol=1)
    assert not np.array_equal(_tile(picture, 0, 0, shape), _tile(picture, 0, last, shape))


def test_same_inputs_and_seed_give_the_same_pictures(mlp):
    images, labels = _images(mlp), _labels()
    first, second = pictures.make(mlp, images, labels), pictures.make(mlp, images, labels, seed=0)
    for key in first:
        np.testing.assert_array_equal(first[key], second[key], err_msg=key)
    other = pictures.make(mlp, images, labels, seed=1)
    assert not np.array_equal(first["samples"], other["samples"])
    np.testing.assert_array_equal(first["reconstructions"], other["reconstructions"])


def test_png_files_decode_back_to_the_pictures(mlp, tmp_path):
    made = pictures.make(mlp, _images(mlp), _labels())
    paths = pictures.write_png(str(tmp_path / "new" / "folder"), made)
    assert [p.rsplit("/", 1)[-1] for p in paths] == [f"{key}.png" for key in made]
    for path, picture in zip(paths, made.values()):
        np.testing.assert_array_equal(tf.io.decode_png(tf.io.read_file(path)).numpy(), picture)


def _image_summaries(log_dir):
    """(tag, step) -> decoded picture, from the event files of the pictures run."""
    found = {}
    for path in sorted(glob.glob(f"{log_dir}/{PICTURES_RUN}/events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                assert value.metadata.plugin_data.plugin_name == "images"
                png = tf.make_ndarray(value.tensor)[2]  # [width, height, png bytes]
                found[value.tag, event.step] = tf.io.decode_png(png).numpy()
    return found


def test_callback_writes_every_picture_to_tensorboard_each_epoch(tmp_path):
    model = _model("mlp", (8, 8, 1), latent_dim=2)
    model.compile(keras.optimizers.Adam(1e-2))
    images, labels = _images(model), _labels()
    binary = (images < 0.3).astype(np.float32)
    logger = PictureLogger(str(tmp_path), images, labels)
    model.fit(binary, batch_size=8, epochs=2, verbose=0, callbacks=[logger])
    found = _image_summaries(tmp_path)
    final = pictures.make(model, images, labels)
    assert sorted(found) == sorted((key, step) for key in final for step in (0, 1))
    for key, picture in final.items():
        np.testing.assert_array_equal(found[key, 1], picture, err_msg=key)  # the trained model
    assert not np.array_equal(found["samples", 0], found["samples", 1])  # training moved it


def test_callback_logs_the_last_epoch_even_off_its_period(tmp_path):
    model = _model("mlp", (8, 8, 1), latent_dim=2)
    model.compile(keras.optimizers.Adam(1e-2))
    model.fit(_images(model) < 0.3, batch_size=8, epochs=3, verbose=0,
              callbacks=[PictureLogger(str(tmp_path), _images(model), every_n_epochs=2)])
    assert sorted({step for _, step in _image_summaries(tmp_path)}) == [1, 2]


@pytest.mark.parametrize("images, labels, message", [
    (np.zeros((4, 28, 28, 1), np.float32), None, "model takes [8, 8, 1]"),
    (np.zeros((0, 8, 8, 1), np.float32), None, "at least one image"),
    (np.zeros((4, 8, 8), np.float32), None, "[N, H, W, C]"),
    (np.full((4, 8, 8, 1), 255, np.float32), None, "pixels in [0, 1]"),
    (np.full((4, 8, 8, 1), np.nan, np.float32), None, "pixels in [0, 1]"),
    (np.zeros((4, 8, 8, 1), np.float32), np.arange(3), "one integer label per image"),
    (np.zeros((4, 8, 8, 1), np.float32), np.zeros(4), "one integer label per image"),
])
def test_bad_input_says_what_is_wrong(mlp, images, labels, message):
    with pytest.raises(DataError, match=re.escape(message)):
        pictures.make(mlp, images, labels)


def test_callback_rejects_bad_input_before_training(mlp, tmp_path):
    with pytest.raises(DataError, match="at least one image"):
        PictureLogger(str(tmp_path), np.zeros((0, 8, 8, 1)))
    with pytest.raises(ConfigError, match="every_n_epochs"):
        PictureLogger(str(tmp_path), _images(mlp), every_n_epochs=0)
    model = _model("mlp", (8, 8, 1), latent_dim=2)
    model.compile(keras.optimizers.Adam(1e-3))
    with pytest.raises(DataError, match="model takes"):
        model.fit(_images(model), epochs=1, verbose=0,
                  callbacks=[PictureLogger(str(tmp_path), np.zeros((2, 28, 28, 1)))])


@pytest.mark.parametrize("blocks", [
    dict(posterior={"type": "diagonal_normal", "latent_dim": 2}, prior={"type": "mixture", "components": 10}),
    dict(posterior={"type": "diagonal_normal", "latent_dim": 2}, prior={"type": "vamp", "components": 10}),
    dict(posterior={"type": "categorical", "latent_dim": 3, "categories": 2}, prior="uniform_categorical"),
], ids=["mixture_2d", "vamp_2d", "categorical_binary"])
def test_pictures_of_every_latent_and_prior(blocks):
    """Mixture priors have no closed-form stddev; one-hot codes are [N, K] tables (and a
    categorical with K = 2 is not a 2-D latent space)."""
    model = build(VAEConfig(image_shape=(8, 8, 1), network={"type": "mlp", "hidden_units": (16,)}, **blocks))
    x = (np.random.default_rng(0).random((20, 8, 8, 1)) < 0.3).astype(np.float32)
    made = pictures.make(model, x, np.arange(20) % 10)
    expected = {"reconstructions", "samples", "interpolations"}
    if blocks["posterior"]["type"] != "categorical":
        expected |= {"latent_traversals", "latent_grid", "latent_scatter"}
    assert set(made) == expected
    assert all(p.dtype == np.uint8 and p.ndim == 3 for p in made.values())


def _fixed_encoder_vae(means, raw_scales, ignored=None, prior=None):
    """A VAE on 8x8 images whose q(z|x) is the same for every image (zero kernel: loc `means`,
    scale softplus(`raw_scales`)), and whose linear decoder ignores latent `ignored`."""
    from zoo import VAE, Bernoulli, DiagonalNormal

    latent_dim = len(means)
    encoder = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(2 * latent_dim)])
    decoder = keras.Sequential([keras.Input((latent_dim,)), keras.layers.Dense(64), keras.layers.Reshape((8, 8, 1))])
    model = VAE(encoder, DiagonalNormal(latent_dim), decoder, Bernoulli(), prior=prior)
    encoder.layers[-1].set_weights([np.zeros((64, 2 * latent_dim), np.float32),
                                    np.array([*means, *raw_scales], np.float32)])
    kernel = np.random.default_rng(0).normal(0, 2, (latent_dim, 64)).astype(np.float32)
    if ignored is not None:
        kernel[ignored] = 0.0
    decoder.layers[0].set_weights([kernel, np.zeros(64, np.float32)])
    return model


def test_traversal_rows_follow_the_kl_and_move_only_their_latent():
    """KL(N(m, s^2) || N(0, 1)) grows with |m| at a fixed s: latents 1 (m = 2), 2 (m = 1), then
    0 (m = 0.5); the decoder ignores latent 2, so its row (the second) is one image repeated."""
    model = _fixed_encoder_vae(means=[0.5, 2.0, 1.0], raw_scales=[0.0, 0.0, 0.0], ignored=2)
    images = _images(model)
    np.testing.assert_array_equal(pictures.latent_order(model, images), [1, 2, 0])
    picture = pictures.make(model, images)["latent_traversals"]
    steps, shape = pictures.TRAVERSAL_STEPS, model.image_shape
    tiles = [[_tile(picture, row, column, shape) for column in range(steps)] for row in range(3)]
    assert picture.shape[:2] == tuple(pictures.GAP + n * (8 * pictures.tile_scale(8, 8) + pictures.GAP)
                                      for n in (3, steps))
    assert all(np.array_equal(tile, tiles[1][0]) for tile in tiles[1])  # latent 2: ignored, constant
    for row in (0, 2):
        assert len({tile.tobytes() for tile in tiles[row]}) > steps // 2  # latents 1 and 0 move the image
    span = pictures.TRAVERSAL_SPAN
    for row, latent in ((0, 1), (2, 0)):
        for column, value in ((0, -span), (steps // 2, 0.0), (steps - 1, span)):  # prior N(0, 1): mean 0, stddev 1
            z = np.array([[0.5, 2.0, 1.0]], np.float32)
            z[0, latent] = value
            np.testing.assert_allclose(tiles[row][column], _as_tile(model.decode(z).mean().numpy()[0]), atol=1)


def test_traversals_rank_by_activity_where_the_kl_does_not_factorize():
    """A mixture prior has no KL per latent: the variance of the posterior means ranks them."""
    from zoo import MixtureOfGaussians

    model = _fixed_encoder_vae(means=[0.0, 0.0, 0.0], raw_scales=[0.0, 0.0, 0.0], prior=MixtureOfGaussians(3))
    assert model.prior.kl_per_variable(model.encode(_images(model))) is None
    kernel = np.zeros((64, 6), np.float32)
    kernel[:, :3] = [0.1, 0.01, 1.0]  # loc_j = c_j * sum(x): variances in the order 2, 0, 1
    model.encoder.layers[-1].set_weights([kernel, np.zeros(6, np.float32)])
    np.testing.assert_array_equal(pictures.latent_order(model, _images(model)), [2, 0, 1])
    assert pictures.make(model, _images(model))["latent_traversals"].shape[0] == pictures.GAP + 3 * (
        32 + pictures.GAP)


def test_traversals_show_at_most_the_most_informative_latents():
    model = _model("mlp", (8, 8, 1), latent_dim=pictures.TRAVERSAL_ROWS + 5)
    picture = pictures.latent_traversals(model, _images(model))
    assert picture.shape[0] == pictures.GAP + pictures.TRAVERSAL_ROWS * (32 + pictures.GAP)
