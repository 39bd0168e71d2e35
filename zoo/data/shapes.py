"""dSprites-style shapes drawn by the zoo: 64x64 binary images whose generative factors are known.

Every image is one white shape (square, ellipse or heart) on black, fixed by five factors:
shape (3), scale (6 values from 0.5 to 1, as in dSprites), orientation (angles 2*pi*k/n,
k < n, counterclockwise as displayed), x and y position (n values from 0 to 1 each). Two grids
are registered:

| dataset | orientations x positions | images | uint8 | float32 | drawn in (2 CPU cores) |
| --- | --- | --- | --- | --- | --- |
| `shapes` (default) | 10 x 16 x 16 | 46,080 | 189 MB | 755 MB | 1.8 s |
| `shapes_full` | 40 x 32 x 32, dSprites' grid | 737,280 | 3.0 GB | 12 GB | 18 s |

Nothing is stored in the repository: images are drawn on demand, deterministically, in
numpy, by testing each pixel centre against the shape's implicit function (no
anti-aliasing); `--data-dir FOLDER` caches the whole grid there as one .npy file. A split
too large for the memory budget (`shapes_full` on most laptops) is drawn batch by batch
while training (`stream`). A fixed-seed permutation holds 10% of the grid out as the test
split. A split's labels are the shape (0 square, 1 ellipse, 2 heart); its `factors` are the
indices [N, 5] into `factor_values` of (shape, scale, orientation, x, y).

How it differs from DeepMind's dSprites files (TFDS `dsprites`): the outlines are the zoo's
own (a square of side 1.4, a 2:1 ellipse, and the heart (x^2 + y^2 - 1)^3 = x^2 y^3, each
scaled to reach at most 10 pixels from its centroid at scale 1, which it turns about);
orientations exclude 2*pi (dSprites repeats 0 as 2*pi); positions place the centroid from
pixel 12 to 52 on both axes, so every shape lies wholly inside the image; y grows downwards
(rows); and there is a test split. DeepMind's own files are the `dsprites` dataset
(`zoo.data.dsprites`), split as `shapes_full` is. The splits, samples and streams of both are
made by `zoo.data.factor_grid`.
"""

import os

import numpy as np

from zoo.data.factor_grid import FACTOR_NAMES, SIZE, FactorGrid
from zoo.data.sources import DATASETS
from zoo.errors import DataError

SHAPE_NAMES = ("square", "ellipse", "heart")
REACH = 10.0  # pixels from a centroid to the farthest point of its outline at scale 1
MARGIN = 12.0  # the centroid's lowest and (SIZE - MARGIN) highest pixel coordinate
PATCH = 24  # side of the square around a centroid that is tested: it holds any shape at scale 1
CHUNK = 4096  # images drawn at once, to bound the float arrays
# The heart (x^2 + y^2 - 1)^3 = x^2 y^3 has its centroid at y = 0.2935 and reaches 1.2935 from it.
HEART_CENTROID, HEART_REACH = 0.2935, 1.2935
CACHE_VERSION = 1  # bump when the drawing changes, so stale caches are not read


def draw(shape, scale, orientation, x, y):
    """uint8 images [N, 64, 64, 1] of 0s and 1s from factor values (arrays [N]): `shape` 0
    square, 1 ellipse, 2 heart; `scale` in (0, 1]; `orientation` in radians; `x`, `y` in [0, 1]."""
    shape, scale, orientation, x, y = (np.asarray(v) for v in (shape, scale, orientation, x, y))
    images = np.zeros((len(shape), SIZE, SIZE), np.uint8)
    for first in range(0, len(shape), CHUNK):
        part = slice(first, first + CHUNK)
        _draw_into(images[part], shape[part], scale[part], orientation[part], x[part], y[part])
    return images[..., None]


def _draw_into(images, shape, scale, orientation, x, y):
    """Tests the pixel centres of a PATCH x PATCH square around each centroid against the
    shape's implicit function in its own frame (turned back by the orientation, divided by the
    scale): far cheaper than testing the whole image."""
    centre_col, centre_row = MARGIN + (SIZE - 2 * MARGIN) * x, MARGIN + (SIZE - 2 * MARGIN) * y
    first_col = np.floor(centre_col).astype(np.int64) - PATCH // 2
    first_row = np.floor(centre_row).astype(np.int64) - PATCH // 2
    steps = np.arange(PATCH) + 0.5
    right = (first_col[:, None] + steps - centre_col[:, None]).astype(np.float32)[:, None, :]  # [N, 1, PATCH]
    up = -(first_row[:, None] + steps - centre_row[:, None]).astype(np.float32)[:, :, None]  # rows grow down
    inside = np.empty((len(images), PATCH, PATCH), bool)
    for kind, test in enumerate(OUTLINES):
        chosen = np.flatnonzero(shape == kind)
        if len(chosen):
            cos = np.cos(orientation[chosen]).astype(np.float32)[:, None, None]
            sin = np.sin(orientation[chosen]).astype(np.float32)[:, None, None]
            unit = (1.0 / (REACH * scale[chosen])).astype(np.float32)[:, None, None]
            u = (cos * right[chosen] + sin * up[chosen]) * unit
            v = (cos * up[chosen] - sin * right[chosen]) * unit
            inside[chosen] = test(u, v)
    rows = first_row[:, None] + np.arange(PATCH)
    cols = first_col[:, None] + np.arange(PATCH)
    images[np.arange(len(images))[:, None, None], rows[:, :, None], cols[:, None, :]] = inside


def _square(u, v):
    return np.maximum(np.abs(u), np.abs(v)) <= 0.7


def _ellipse(u, v):
    return u * u + 4 * v * v <= 1


def _heart(u, v):
    x, y = u * HEART_REACH, v * HEART_REACH + HEART_CENTROID
    x2, radius = x * x, x * x + y * y - 1
    return radius * radius * radius <= x2 * y * y * y


OUTLINES = (_square, _ellipse, _heart)  # in the order of SHAPE_NAMES: inside tests in the shape's own frame


class Shapes(FactorGrid):
    """A grid of dSprites-style images, drawn on demand (see the module docstring); splits,
    samples and streams as `zoo.data.factor_grid.FactorGrid` makes them.

    Args:
        name: the --dataset name it is registered under.
        orientations, positions: how many orientations (over [0, 2*pi)) and x and y positions
            (over [0, 1]) the grid has; 3 shapes and `scales` scales (0.5 to 1) always.
        test_fraction, seed: the share of the grid held out as the test split, and its permutation.

    Example:
        shapes = DATASETS.get("shapes")
        split = shapes.load("train")           # split.images uint8 [N, 64, 64, 1], split.factors [N, 5]
        some = shapes.sample(1000, seed=0)     # 1000 images drawn uniformly from the grid
    """

    streamed_from = "as drawn"  # what training says of a streamed split, where a folder's is "from disk"

    def __init__(self, name="shapes", orientations=10, positions=16, scales=6, test_fraction=0.1, seed=0):
        for field, value in (("orientations", orientations), ("positions", positions), ("scales", scales)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise DataError(f"shapes {field}: got {value!r}; expected a positive integer")
        self.factor_values = (np.arange(len(SHAPE_NAMES)), np.linspace(0.5, 1.0, scales),
                              2 * np.pi * np.arange(orientations) / orientations,
                              np.linspace(0.0, 1.0, positions), np.linspace(0.0, 1.0, positions))
        super().__init__(name, tuple(len(values) for values in self.factor_values), test_fraction, seed)
        self.description = (f"dSprites-style 64x64 binary shapes drawn by the zoo, {len(self):,} images: "
                             + " x ".join(f"{n} {name}" for n, name in zip(self.factor_sizes, FACTOR_NAMES)))

    def images_of(self, indices, data_dir=None, download=False):
        """uint8 images [N, 64, 64, 1] of grid indices [N]: drawn now, or read from the cache in
        `data_dir` (written there first if missing). `download` is ignored."""
        del download
        if data_dir is not None:
            return self._cached(data_dir)[np.asarray(indices)]
        return draw(*(values[column] for values, column in zip(self.factor_values, self.factors(indices).T)))

    def cache_path(self, data_dir):
        sizes = "x".join(map(str, self.factor_sizes))
        return os.path.join(os.fspath(data_dir), f"{self.name}-{sizes}-v{CACHE_VERSION}.npy")

    def _cached(self, data_dir):
        """The whole grid, uint8 [N, 64, 64, 1] memory-mapped from its cache file (drawn and
        written whole, under a temporary name, when missing)."""
        path = self.cache_path(data_dir)
        if not os.path.exists(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            partial = f"{path}.{os.getpid()}.partial"
            everything = np.lib.format.open_memmap(partial, mode="w+", dtype=np.uint8, shape=(len(self), *self.image_shape))
            for first in range(0, len(self), CHUNK * 16):
                indices = np.arange(first, min(first + CHUNK * 16, len(self)))
                everything[indices[0]:indices[-1] + 1] = self.images_of(indices)
            everything.flush()
            del everything
            os.replace(partial, path)
        try:
            images = np.load(path, mmap_mode="r")
        except (OSError, ValueError) as error:
            raise DataError(f"{path}: not a readable shapes cache ({error}); delete it to draw it again") from None
        if images.shape != (len(self), *self.image_shape) or images.dtype != np.uint8:
            raise DataError(f"{path}: holds {images.dtype} {list(images.shape)}, not the {len(self)} images of "
                            f"{self.name}; delete it to draw it again")
        return images


for _shapes in (Shapes("shapes"), Shapes("shapes_full", orientations=40, positions=32)):
    DATASETS.register(_shapes.name)(_shapes)
