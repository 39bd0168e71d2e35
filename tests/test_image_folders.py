"""The user's own images: folders of image files (resident and streamed), .npz arrays, any
TFDS dataset by name, and `resolve` from a --dataset value to its source. All data is
made here, tiny, in tmp_path."""

import os
import struct

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from zoo.data import DATASETS, ImageFolder, NpzArrays, TfdsImages, memory_budget, resolve
from zoo.data import folders as folders_module
from zoo.errors import ConfigError, DataError

HEIGHT, WIDTH = 30, 40  # the class-folder images: 40 wide, 30 high


def _pixels(seed, height=HEIGHT, width=WIDTH, channels=3):
    return np.random.default_rng(seed).integers(0, 256, (height, width, channels), dtype=np.uint8)


def _png(path, pixels):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(tf.io.encode_png(pixels).numpy())
    return path


def _jpeg(path, pixels):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(tf.io.encode_jpeg(pixels).numpy())
    return path


def _bmp(path, rgb):
    """An uncompressed 24-bit BMP, written by hand (TensorFlow encodes none)."""
    height, width, _ = rgb.shape
    row = (3 * width + 3) // 4 * 4
    pixels = b"".join(rgb[y, :, ::-1].tobytes().ljust(row, b"\0") for y in reversed(range(height)))
    header = b"BM" + struct.pack("<I4xI", 54 + len(pixels), 54)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    path.write_bytes(header + info + pixels)
    return path


@pytest.fixture(scope="module")
def class_folder(tmp_path_factory):
    """200 RGB PNGs of 40x30 pixels in two class subfolders (named so sorting matters)."""
    root = tmp_path_factory.mktemp("classes")
    for i in range(200):
        _png(root / ("dogs" if i % 2 else "cats") / f"img{i:03d}.png", _pixels(i))
    return root


def _one_line_naming(error, *names):
    message = str(error.value)
    assert "\n" not in message, message
    for name in names:
        assert str(name) in message, message
    return message


def test_class_folders_load_resized(class_folder):
    folder = ImageFolder(class_folder, image_size=(32, 32))
    assert folder.image_shape == (32, 32, 3) and folder.levels == 256
    assert folder.classes == ("cats", "dogs")
    train, test = folder.load("train"), folder.load("test")
    assert train.images.shape == (180, 32, 32, 3) and test.images.shape == (20, 32, 32, 3)
    assert train.images.dtype == np.uint8 and train.levels == 256
    assert set(np.unique(train.labels)) == {0, 1} and train.labels.dtype == np.int64
    train_paths, test_paths = folder.paths("train"), folder.paths("test")
    assert not set(train_paths) & set(test_paths) and len(set(train_paths + test_paths)) == 200
    for path, label in zip(test_paths, test.labels):
        assert label == ("dogs" in path)
    # decoded and resized (bilinear, antialiased) and rounded, exactly as asked
    index = int(os.path.basename(test_paths[0])[3:6])
    expected = tf.image.resize(_pixels(index), (32, 32), antialias=True)
    np.testing.assert_array_equal(test.images[0], np.round(expected.numpy()).astype(np.uint8))


def test_split_does_not_depend_on_listing_order(class_folder, monkeypatch):
    first = ImageFolder(class_folder, image_size=(32, 32)).paths("test")
    walk = os.walk

    def reversed_walk(*args, **kwargs):
        for folder, subfolders, names in walk(*args, **kwargs):
            subfolders.reverse()
            yield folder, subfolders, names[::-1]

    monkeypatch.setattr(folders_module.os, "walk", reversed_walk)
    assert ImageFolder(class_folder, image_size=(32, 32)).paths("test") == first
    assert ImageFolder(class_folder, image_size=(32, 32), seed=1).paths("test") != first


def test_streamed_images_equal_the_resident_ones(class_folder, monkeypatch):
    monkeypatch.setenv("ZOO_MEMORY_BUDGET", "100K")
    folder = ImageFolder(class_folder, image_size=(32, 32))
    assert memory_budget() == 100 * 1024
    assert folder.estimated_bytes("train") == 180 * 32 * 32 * 3 * 4
    assert not folder.fits_in_memory(memory_budget()) and folder.fits_in_memory(10**9)

    resident = folder.load("train").scaled()
    one_pass = list(folder.stream("train", 50, shuffle=False, repeat=False))
    assert [len(batch) for batch in one_pass] == [50, 50, 50, 30]
    streamed = np.concatenate([batch.numpy() for batch in one_pass])
    assert streamed.dtype == np.float32 and 0 <= streamed.min() and streamed.max() <= 1
    assert np.abs(streamed - resident).max() <= 1 / 255

    training = folder.stream("train", 64, seed=3)
    assert training.element_spec.shape == (64, 32, 32, 3)
    batches = [batch.numpy() for batch in training.take(3)]  # 192 images: across the epoch's end
    assert all(batch.shape == (64, 32, 32, 3) for batch in batches)
    # shuffled, and reshuffled for a second pass over the same images
    passes = folder.stream("train", 90, seed=3, repeat=False)
    first, second = (np.concatenate(list(passes)) for _ in range(2))
    assert not np.array_equal(first, resident) and not np.array_equal(first, second)
    np.testing.assert_array_equal(np.sort(first.sum(axis=(1, 2, 3))), np.sort(second.sum(axis=(1, 2, 3))))


@pytest.mark.parametrize("value, expected", [("2G", 2 * 2**30), ("500M", 500 * 2**20), ("123456", 123456),
                                             ("1.5k", 1536)])
def test_memory_budget_from_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv("ZOO_MEMORY_BUDGET", value)
    assert memory_budget() == expected


def test_memory_budget_default_and_bad_value(monkeypatch):
    monkeypatch.delenv("ZOO_MEMORY_BUDGET", raising=False)
    assert memory_budget() == os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    monkeypatch.setenv("ZOO_MEMORY_BUDGET", "lots")
    with pytest.raises(ConfigError, match="ZOO_MEMORY_BUDGET"):
        memory_budget()


def test_flat_folder_of_every_format_without_labels(tmp_path):
    rows, columns = np.mgrid[0:8, 0:12]
    rgb = np.stack([rows * 30, columns * 20, rows * 10 + columns * 10], -1).astype(np.uint8)  # smooth, for JPEG
    _png(tmp_path / "a.png", rgb)
    _jpeg(tmp_path / "sub" / "b.JPG", rgb)
    _bmp(tmp_path / "c.bmp", rgb)
    _png(tmp_path / "d.png", np.concatenate([rgb, np.full((8, 12, 1), 7, np.uint8)], -1))  # RGBA
    (tmp_path / "README.txt").write_text("not an image, and ignored")
    (tmp_path / ".DS_Store").write_bytes(b"\0\1junk")
    folder = ImageFolder(tmp_path, test_fraction=0.25)
    assert folder.image_shape == (8, 12, 3) and folder.labels is None and folder.classes == ()
    assert len(folder.files) == 4
    split = folder.load("train")
    assert split.labels is None and split.images.shape == (3, 8, 12, 3)
    everything = dict(zip(folder.paths("train") + folder.paths("test"),
                          np.concatenate([split.images, folder.load("test").images])))
    for name in ("a.png", "c.bmp", "d.png"):  # lossless, alpha dropped
        np.testing.assert_array_equal(everything[str(tmp_path / name)], rgb)
    assert np.abs(everything[str(tmp_path / "sub" / "b.JPG")].astype(int) - rgb).mean() < 8


def test_gif_first_frame(tmp_path):
    image = pytest.importorskip("PIL.Image")
    for i in range(2):
        frames = [image.fromarray(_pixels(i, 6, 5)), image.fromarray(_pixels(i + 9, 6, 5))]
        frames[0].save(tmp_path / f"{i}.gif", save_all=True, append_images=frames[1:])
    folder = ImageFolder(tmp_path, test_fraction=0.5)
    assert folder.image_shape == (6, 5, 3) and folder.load("test").images.shape == (1, 6, 5, 3)


def test_channels_convert_grey_and_colour(tmp_path):
    grey, colour = _pixels(1, 8, 8, 1), _pixels(2, 8, 8)
    _png(tmp_path / "grey.png", grey)
    _png(tmp_path / "colour.png", colour)
    with pytest.raises(DataError) as error:
        ImageFolder(tmp_path)
    message = _one_line_naming(error, tmp_path / "grey.png", tmp_path / "colour.png")
    assert "--channels 1" in message and "--channels 3" in message

    def images(channels):
        folder = ImageFolder(tmp_path, channels=channels, test_fraction=0.5)
        loaded = {path: image for split in ("train", "test")
                  for path, image in zip(folder.paths(split), folder.load(split).images)}
        return loaded[str(tmp_path / "grey.png")], loaded[str(tmp_path / "colour.png")]

    grey3, colour3 = images(3)
    np.testing.assert_array_equal(grey3, np.repeat(grey, 3, axis=-1))
    np.testing.assert_array_equal(colour3, colour)
    grey1, colour1 = images(1)
    np.testing.assert_array_equal(grey1, grey)
    np.testing.assert_array_equal(colour1, tf.image.rgb_to_grayscale(colour).numpy())


def _good_pair(folder, size=(16, 16)):
    for name in ("good1.png", "good2.png"):
        _png(folder / name, _pixels(len(name), *size))


def _load_all(path, **kwargs):
    folder = ImageFolder(path, **kwargs)
    folder.load("train")
    folder.load("test")


def _text_as_png(folder):
    _good_pair(folder)
    return (folder / "notes.png").write_text("these are notes, not pixels") and folder / "notes.png"


def _truncated(encode, name):
    def make(folder):
        _good_pair(folder)
        raw = encode(_pixels(5, 16, 16)).numpy()
        (folder / name).write_bytes(raw[: len(raw) // 2])
        return folder / name
    return make


def _damaged_inside(folder):
    """A PNG whose header and end are intact but whose compressed pixels are not."""
    _good_pair(folder)
    raw = bytearray(tf.io.encode_png(_pixels(6, 16, 16)).numpy())
    raw[60:200] = bytes(140)
    (folder / "damaged.png").write_bytes(bytes(raw))
    return folder / "damaged.png"


def _too_small(folder):
    _good_pair(folder, (40, 40))
    return _png(folder / "tiny.png", _pixels(7, 10, 10))


def _mixed_sizes(folder):
    _good_pair(folder)
    return _png(folder / "odd.png", _pixels(8, 12, 16))


def _palette_bmp(folder):
    image = pytest.importorskip("PIL.Image")
    _good_pair(folder)
    image.fromarray(_pixels(9, 16, 16)).convert("P").save(folder / "palette.bmp")
    return folder / "palette.bmp"


@pytest.mark.parametrize("make, kwargs, words", [
    (_text_as_png, {}, "not an image"),
    (_truncated(tf.io.encode_png, "cut.png"), {}, "truncated PNG"),
    (_truncated(tf.io.encode_jpeg, "cut.jpg"), {}, "truncated JPEG"),
    (_damaged_inside, {}, "corrupt or truncated PNG"),
    (_too_small, {"image_size": (32, 32)}, "10x10"),
    (_mixed_sizes, {}, "--image-size"),
    (_palette_bmp, {}, "palette"),
], ids=["text_as_png", "truncated_png", "truncated_jpeg", "damaged_inside", "too_small", "mixed_sizes",
        "palette_bmp"])
def test_bad_files_are_named(tmp_path, make, kwargs, words):
    bad = make(tmp_path)
    with pytest.raises(DataError) as error:
        _load_all(tmp_path, **kwargs)
    assert words in _one_line_naming(error, bad)


def test_damage_inside_a_file_stops_the_stream_and_verify_names_it(tmp_path):
    bad = _damaged_inside(tmp_path)
    folder = ImageFolder(tmp_path, test_fraction=0.5)  # the header and the end look fine
    with pytest.raises(tf.errors.InvalidArgumentError):
        for split in ("train", "test"):
            list(folder.stream(split, 1, repeat=False))
    with pytest.raises(DataError) as error:
        folder.verify()
    _one_line_naming(error, bad)


def test_missing_and_empty_folders(tmp_path):
    with pytest.raises(DataError) as error:
        ImageFolder(tmp_path / "nowhere")
    assert "no such folder" in _one_line_naming(error, tmp_path / "nowhere")
    (tmp_path / "README.txt").write_text("no images here")
    (tmp_path / ".DS_Store").write_bytes(b"\0")
    with pytest.raises(DataError) as error:
        ImageFolder(tmp_path)
    assert ".png" in _one_line_naming(error, tmp_path) and ".jpg" in str(error.value)


@pytest.mark.parametrize("kwargs, field", [({"image_size": "big"}, "image_size"), ({"channels": 2}, "channels"),
                                           ({"test_fraction": 1.0}, "test_fraction")])
def test_bad_arguments(class_folder, kwargs, field):
    with pytest.raises(ConfigError) as error:
        ImageFolder(class_folder, **kwargs)
    assert error.value.field == field


def _npz(path, **arrays):
    np.savez(path, **arrays)
    return str(path)


def test_npz_with_its_own_split(tmp_path):
    x_train, x_test = np.stack([_pixels(i, 6, 6) for i in range(5)]), np.stack([_pixels(9, 6, 6)])
    path = _npz(tmp_path / "data.npz", x_train=x_train, x_test=x_test, y_train=np.arange(5), y_test=[3])
    source = NpzArrays(path)
    assert source.image_shape == (6, 6, 3) and source.levels == 256
    train = source.load("train")
    np.testing.assert_array_equal(train.images, x_train)
    np.testing.assert_array_equal(train.labels, np.arange(5))
    assert source.load("test").labels.tolist() == [3]
    assert source.estimated_bytes("train") == 5 * 6 * 6 * 3 * 4 and source.fits_in_memory(10**6)
    grey = NpzArrays(path, image_size=(3, 3), channels=1)
    assert grey.load("test").images.shape == (1, 3, 3, 1)


def test_npz_float_images_split_like_a_folder(tmp_path):
    images = np.random.default_rng(0).random((20, 5, 7), dtype=np.float32)
    source = NpzArrays(_npz(tmp_path / "floats.npz", images=images, labels=np.arange(20) % 2))
    assert source.image_shape == (5, 7, 1)
    train, test = source.load("train"), source.load("test")
    assert len(train.images) == 18 and len(test.images) == 2 and train.images.dtype == np.uint8
    rounded = np.round(images * 255).astype(np.uint8)[..., None]
    first = int(np.flatnonzero((rounded == test.images[0]).all(axis=(1, 2, 3)))[0])
    assert test.labels[0] == first % 2


@pytest.mark.parametrize("arrays, words", [
    ({"x_train": np.zeros((2, 3), np.uint8), "x_test": np.zeros((1, 3, 3), np.uint8)}, "'x_train' has shape"),
    ({"images": np.full((4, 3, 3), np.nan, np.float32)}, "'images' holds NaN"),
    ({"images": np.full((4, 3, 3), 300, np.int16)}, "'images' holds integers from 300 to 300"),
    ({"images": np.full((4, 3, 3), 2.5, np.float32)}, "'images' holds floats"),
    ({"pictures": np.zeros((4, 3, 3), np.uint8)}, "'pictures'"),
    ({"x_train": np.zeros((4, 3, 3), np.uint8)}, "no 'x_test'"),
    ({"images": np.zeros((4, 3, 3), np.uint8), "labels": np.zeros(3, np.int64)}, "'labels' has shape"),
], ids=["rank", "nan", "int_range", "float_range", "no_known_key", "no_x_test", "label_count"])
def test_bad_npz_files_are_named(tmp_path, arrays, words):
    path = _npz(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError) as error:
        NpzArrays(path)
    assert words in _one_line_naming(error, path)


def test_npz_that_is_no_npz(tmp_path):
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(DataError) as error:
        NpzArrays(tmp_path / "text.npz")
    assert "not a readable .npz" in _one_line_naming(error, tmp_path / "text.npz")


def test_any_tfds_dataset_by_name():
    with tfds.testing.mock_data(num_examples=12):
        source = resolve("tfds:mnist")
        assert isinstance(source, TfdsImages) and source.name == "tfds:mnist"
        assert source.image_shape == (28, 28, 1) and source.levels == 256
        split = source.load("train")
        assert split.images.shape == (12, 28, 28, 1) and split.images.dtype == np.uint8
        assert split.labels.shape == (12,)
        small = resolve("tfds:mnist", image_size=(14, 14), channels=3)
        assert small.image_shape == (14, 14, 3) and small.load("test").images.shape == (12, 14, 14, 3)
    with pytest.raises(DataError, match="no_such_dataset"):
        TfdsImages("no_such_dataset")


def test_a_tfds_dataset_streams_the_images_it_loads():
    with tfds.testing.mock_data(num_examples=12):
        source = resolve("tfds:mnist", image_size=(14, 14), channels=3)
        resident = source.load("test").scaled()
        streamed = np.concatenate([batch.numpy() for batch in source.stream("test", 5, shuffle=False, repeat=False)])
        assert streamed.shape == (12, 14, 14, 3) and streamed.dtype == np.float32
        np.testing.assert_array_equal(streamed, resident)
        endless = source.stream("train", 5, shuffle=True, seed=1)
        assert [tuple(b.shape) for b in endless.take(4)] == [(5, 14, 14, 3)] * 4


def test_resolve_maps_every_spec(class_folder, tmp_path):
    assert resolve("digits") is DATASETS.get("digits")
    assert DATASETS.get("mnist").estimated_bytes("train") == 60000 * 28 * 28 * 4
    folder = resolve("folder", class_folder, image_size="32x32")
    assert isinstance(folder, ImageFolder) and folder.image_shape == (32, 32, 3)
    npz = _npz(tmp_path / "arrays.npz", images=np.zeros((4, 3, 3), np.uint8))
    for spec in ("folder", "npz"):
        source = resolve(spec, npz)
        assert isinstance(source, NpzArrays) and source.image_shape == (3, 3, 1)
    assert isinstance(resolve(resolve("npz", npz).name, npz), NpzArrays)


@pytest.mark.parametrize("args, field", [(("imagenet_folder",), "dataset"), (("tfds:",), "dataset"),
                                         ((None,), "dataset"), (("folder",), "--data-dir"),
                                         (("mnist", None, (32, 32)), "image_size"),
                                         (("mnist", None, None, 3), "channels")])
def test_resolve_refuses_bad_specs(args, field):
    with pytest.raises(ConfigError) as error:
        resolve(*args)
    assert error.value.field == field
    if field == "dataset":
        assert "folder" in error.value.allowed and "tfds:NAME" in error.value.allowed


def _conditional_recipe():
    from recipes import RECIPES

    recipe = RECIPES.get("conv_gaussian")
    return recipe.with_overrides({**recipe.smoke, "condition": "class_label", "condition.classes": 2,
                                  "dataset": "folder", "image_size": (32, 32), "epochs": 1})


@pytest.mark.heavy
def test_a_conditional_model_trains_on_class_subfolders(class_folder, tmp_path):
    """Class subfolders are the labels a conditional recipe trains on; a folder too large
    for memory streams without labels, which a conditional recipe refuses in one line."""
    from zoo.training.train import train

    result = train(_conditional_recipe(), data_dir=str(class_folder), export_dir=str(tmp_path / "exports"),
                   verbose=False, force_export=True)
    assert result.model.condition.classes == 2 and 0 <= result.metrics["conditional_accuracy"] <= 1
    loaded = tf.saved_model.load(result.export_path)
    x_mean = loaded.signatures["sample"](seed=tf.constant([1, 2], tf.int64), y=tf.constant([0, 1], tf.int64))["x_mean"]
    assert x_mean.shape == (2, 32, 32, 3)


def test_a_streamed_folder_is_refused_by_a_conditional_recipe(class_folder, tmp_path, monkeypatch):
    from zoo.training.train import train

    monkeypatch.setenv("ZOO_MEMORY_BUDGET", "100K")
    with pytest.raises(DataError, match="streams from disk, which gives no labels") as error:
        train(_conditional_recipe(), data_dir=str(class_folder), export_dir=str(tmp_path / "exports"), verbose=False)
    _one_line_naming(error)


def test_a_folder_follows_no_link_twice(tmp_path):
    """Issue 25, case 4: a link loop (`sub -> .`) made 20 images count as 820, and the test
    split repeated training images. Each image is counted once, under its real folder; a
    link to a folder outside is still followed, once."""
    root, outside = tmp_path / "images", tmp_path / "outside"
    for i in range(20):
        _png(root / f"img{i:02d}.png", _pixels(i, 6, 6, 1))
    for i in range(3):
        _png(outside / f"far{i}.png", _pixels(100 + i, 6, 6, 1))
    (root / "sub").symlink_to(root, target_is_directory=True)  # a loop
    (root / "deep").mkdir()
    _png(root / "deep" / "one.png", _pixels(50, 6, 6, 1))
    (root / "again").symlink_to(root / "deep", target_is_directory=True)  # a second name for a subfolder
    (root / "far").symlink_to(outside, target_is_directory=True)
    folder = ImageFolder(root)
    names = sorted(os.path.relpath(f, root) for f in folder.files)
    assert names == sorted([f"img{i:02d}.png" for i in range(20)] + ["deep/one.png"]
                           + [f"far/far{i}.png" for i in range(3)])
    assert folder.count("train") + folder.count("test") == 24
    assert not set(folder.paths("train")) & set(folder.paths("test"))


def test_a_data_dir_that_does_not_exist_is_refused_for_every_dataset(tmp_path):
    """Issue 25, case 4: `--data-dir /nonexistent` with the embedded digits was ignored."""
    missing = str(tmp_path / "nonexistent")
    for dataset in ("digits", "mnist", "folder", "npz", "tfds:mnist"):
        with pytest.raises(ConfigError) as error:
            resolve(dataset, missing)
        assert error.value.field == "--data-dir" and "no such folder or file" in str(error.value)


def test_npz_train_and_test_images_of_different_sizes_are_refused_when_opened(tmp_path):
    """Issue 25, case 9 for .npz files (held before the issue): refused before any training."""
    path = _npz(tmp_path / "sizes.npz", x_train=np.zeros((4, 8, 8), np.uint8), x_test=np.zeros((2, 6, 6), np.uint8))
    with pytest.raises(DataError, match="train images are 8x8 but the test images 6x6") as error:
        NpzArrays(path)
    _one_line_naming(error, path)
