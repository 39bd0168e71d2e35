"""The generated shapes dataset: its grid, determinism, what each factor does to the picture,
the splits, streaming, the cache and its registration."""

import math

import numpy as np
import pytest

from zoo.config import TrainConfig
from zoo.data import DATASETS, Shapes, resolve
from zoo.data.shapes import FACTOR_NAMES, SHAPE_NAMES
from zoo.data.training_data import TrainingData
from zoo.errors import ConfigError, DataError

SQUARE, ELLIPSE, HEART = range(3)


@pytest.fixture(scope="module")
def full():
    return DATASETS.get("shapes_full")


def draw(source, shape=SQUARE, scale=None, orientation=0, x=0, y=0):
    """One image [64, 64] of factor indices (scale: the largest by default)."""
    scale = source.factor_sizes[1] - 1 if scale is None else scale
    return source.render(np.array([[shape, scale, orientation, x, y]]))[0, ..., 0]


def centroid(image):
    """(column, row) of the lit pixels' centres."""
    rows, cols = np.nonzero(image)
    return cols.mean() + 0.5, rows.mean() + 0.5


def test_the_grids(full):
    assert full.factor_names == FACTOR_NAMES == ("shape", "scale", "orientation", "x", "y")
    assert full.factor_sizes == (3, 6, 40, 32, 32) and len(full) == 737280  # dSprites' grid
    np.testing.assert_allclose(full.factor_values[1], [0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    np.testing.assert_allclose(full.factor_values[2], np.arange(40) * 2 * math.pi / 40)
    np.testing.assert_allclose(full.factor_values[3][[0, -1]], [0, 1])
    assert DATASETS.get("shapes").factor_sizes == (3, 6, 10, 16, 16) and len(DATASETS.get("shapes")) == 46080
    assert full.count("train") + full.count("test") == len(full) and full.count("test") == 73728
    assert full.estimated_bytes("train") == full.count("train") * 64 * 64 * 4
    assert full.factors([0, 1, 32, len(full) - 1]).tolist() == [
        [0, 0, 0, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 1, 0], [2, 5, 39, 31, 31]]  # y fastest, as in dSprites


def test_same_bytes_every_time():
    split = DATASETS.get("shapes").load("test")
    again = Shapes("shapes").load("test")  # a fresh object: the same permutation and pixels
    assert split.images.tobytes() == again.images.tobytes()
    assert split.images.shape == (4608, 64, 64, 1) and split.images.dtype == np.uint8 and split.levels == 2
    assert set(np.unique(split.images)) == {0, 1}
    np.testing.assert_array_equal(split.factors, again.factors)
    np.testing.assert_array_equal(split.labels, split.factors[:, 0])
    sample = DATASETS.get("shapes").sample(300, seed=4)
    assert sample.images.tobytes() == DATASETS.get("shapes").sample(300, seed=4).images.tobytes()
    assert sample.images.tobytes() != DATASETS.get("shapes").sample(300, seed=5).images.tobytes()


def test_splits_are_disjoint_and_the_test_split_is_a_uniform_sample():
    shapes = DATASETS.get("shapes")
    train, test = shapes.indices("train"), shapes.indices("test")
    assert len(np.intersect1d(train, test)) == 0 and len(train) + len(test) == len(shapes)
    first = shapes.factors(test[:1000])  # what pictures and the test slice see: every value of every factor
    assert all(len(np.unique(first[:, k])) == n for k, n in enumerate(shapes.factor_sizes))


def test_a_square_is_drawn_where_a_hand_computation_puts_it(full):
    # Scale 1: half side 0.7 * 10 = 7 pixels around the centroid at pixel 12 (position 0):
    # pixel centres 5.5 .. 18.5 are inside, so rows and columns 5..18 and nothing else.
    image = draw(full, SQUARE, x=0, y=0)
    assert image[5:19, 5:19].all() and image.sum() == 14 * 14
    image = draw(full, SQUARE, x=31, y=31)  # the centroid at pixel 52
    assert image[45:59, 45:59].all() and image.sum() == 14 * 14


@pytest.mark.parametrize("shape", [SQUARE, ELLIPSE, HEART])
def test_x_moves_the_centroid_right_and_y_moves_it_down(full, shape):
    columns = [centroid(draw(full, shape, orientation=3, x=x, y=10))[0] for x in range(32)]
    rows = [centroid(draw(full, shape, orientation=3, x=10, y=y))[1] for y in range(32)]
    np.testing.assert_allclose(np.diff(columns), 40 / 31, atol=0.25)  # 40 pixels over the 32 positions
    np.testing.assert_allclose(np.diff(rows), 40 / 31, atol=0.25)
    still = [centroid(draw(full, shape, orientation=3, x=x, y=10))[1] for x in range(32)]
    assert np.ptp(still) < 0.3  # x leaves the row alone


@pytest.mark.parametrize("shape, area", [(SQUARE, 1.4 ** 2), (ELLIPSE, math.pi / 2), (HEART, 2.19)])
def test_scale_grows_the_area_as_its_square(full, shape, area):
    areas = [draw(full, shape, scale=s, orientation=7, x=16, y=16).sum() for s in range(6)]
    assert all(np.diff(areas) > 0)
    scales = full.factor_values[1]
    np.testing.assert_allclose(areas, area * (10 * scales) ** 2, rtol=0.12)  # 10 pixels per unit at scale 1


def test_orientation_turns_the_shape(full):
    for x, y in ((0, 0), (13, 22), (31, 5)):
        square, turned = draw(full, SQUARE, orientation=0, x=x, y=y), draw(full, SQUARE, orientation=10, x=x, y=y)
        assert (square != turned).sum() <= 2  # a quarter turn: the same square up to rounding
        ellipse = draw(full, ELLIPSE, orientation=4, x=x, y=y)
        assert (ellipse != draw(full, ELLIPSE, orientation=24, x=x, y=y)).sum() <= 2  # half a turn
        assert (ellipse != draw(full, ELLIPSE, orientation=14, x=x, y=y)).sum() > 40  # not a quarter
        assert (square != draw(full, SQUARE, orientation=5, x=x, y=y)).sum() > 20  # 45 degrees
    heart = draw(full, HEART, x=16, y=16)
    rows = np.nonzero(heart)[0]
    assert runs(heart[rows.min()]) == 2 and runs(heart[rows.max()]) == 1  # two lobes up, the tip down
    upside_down = draw(full, HEART, orientation=20, x=16, y=16)
    rows = np.nonzero(upside_down)[0]
    assert runs(upside_down[rows.min()]) == 1 and runs(upside_down[rows.max()]) == 2
    assert abs(int(upside_down.sum()) - int(heart.sum())) <= 4
    left = draw(full, HEART, orientation=10, x=16, y=16)  # a quarter turn counterclockwise: lobes left
    cols = np.nonzero(left)[1]
    assert runs(left[:, cols.min()]) == 2 and runs(left[:, cols.max()]) == 1


def runs(line):
    """How many separate stretches of lit pixels a row or column has."""
    return int(np.sum(np.diff(np.concatenate([[0], line, [0]]).astype(int)) == 1))


def test_the_three_shapes_differ(full):
    images = [draw(full, shape, orientation=1, x=9, y=20) for shape in range(3)]
    assert min((a != b).sum() for i, a in enumerate(images) for b in images[i + 1:]) > 20
    assert len(SHAPE_NAMES) == 3


def test_stream_equals_load():
    tiny = Shapes("shapes_tiny", orientations=2, positions=3, scales=2)
    for split in ("train", "test"):
        streamed = np.concatenate([b.numpy() for b in tiny.stream(split, 16, shuffle=False, repeat=False)])
        np.testing.assert_array_equal(streamed, tiny.load(split).scaled())
    batches = tiny.stream("train", 16, seed=3)
    assert all(b.shape == (16, 64, 64, 1) for _, b in zip(range(20), batches))  # endless full batches


def test_trains_streamed_when_over_the_memory_budget(monkeypatch):
    monkeypatch.setenv("ZOO_MEMORY_BUDGET", "1K")
    tiny = Shapes("shapes_tiny", orientations=2, positions=3, scales=2)
    data = TrainingData(tiny, TrainConfig(dataset="shapes", batch_size=16), None, False, resident=True)
    assert data.how.startswith("streamed as drawn through tf.data") and data.steps_per_epoch == len(tiny.indices("train")) // 16
    assert next(iter(data.train)).shape == (16, 64, 64, 1)
    np.testing.assert_array_equal(data.test_images(5), tiny.load("test").scaled()[:5])


def test_cache_holds_the_same_images(tmp_path):
    tiny = Shapes("shapes_tiny", orientations=2, positions=3, scales=2)
    cached = tiny.load("test", str(tmp_path / "cache"))
    path = tiny.cache_path(tmp_path / "cache")
    assert path.endswith("shapes_tiny-3x2x2x3x3-v1.npy") and np.load(path).shape == (len(tiny), 64, 64, 1)
    np.testing.assert_array_equal(cached.images, tiny.load("test").images)
    np.testing.assert_array_equal(tiny.load("train", str(tmp_path / "cache")).images, tiny.load("train").images)
    np.save(path, np.zeros((3, 64, 64, 1), np.uint8))
    with pytest.raises(DataError, match="delete it to draw it again"):
        tiny.load("test", str(tmp_path / "cache"))


def test_registered_like_the_embedded_digits():
    assert resolve("shapes") is DATASETS.get("shapes") and resolve("shapes_full") is DATASETS.get("shapes_full")
    assert TrainConfig(dataset="shapes").dataset == "shapes"
    with pytest.raises(ConfigError, match="64x64"):
        resolve("shapes", image_size="32x32")
    with pytest.raises(DataError, match="unknown split"):
        DATASETS.get("shapes").load("validation")
    with pytest.raises(DataError, match="factor indices"):
        DATASETS.get("shapes").render(np.array([[0, 0, 10, 0, 0]]))  # 10 orientations: 0..9
