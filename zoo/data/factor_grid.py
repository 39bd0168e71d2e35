"""The bookkeeping of a dataset that holds one 64x64 binary image for every point of a grid of
five generative factors (shape, scale, orientation, x, y): the drawn `shapes` and DeepMind's
`dsprites` alike, so their splits, samples and streams are made in one place.

A grid point's index is its factor indices raveled row-major over `factor_sizes`. A
subclass says only how to get the images of grid indices (`images_of`): drawn, read from
a cache, or looked up in data read from TFDS.
"""

import math

import numpy as np
import tensorflow as tf

from zoo.data.memory import MemoryEstimate
from zoo.data.pipeline import shard_by_element
from zoo.data.sources import SPLITS, Split
from zoo.errors import DataError

FACTOR_NAMES = ("shape", "scale", "orientation", "x", "y")
SIZE = 64


class FactorGrid(MemoryEstimate):
    """Images of every point of a factor grid, split by a fixed-seed permutation.

    Args:
        name: the --dataset name it is registered under.
        factor_sizes: how many values each of the five factors (`FACTOR_NAMES`) takes.
        test_fraction, seed: the share of the grid held out as the test split, and its permutation.

    A split's labels are the shape index, its `factors` the factor indices [N, 5];
    `sample` draws uniformly from the whole grid, the ground truth of the metrics in
    `zoo.evaluation.disentanglement`.
    """

    levels = 2
    image_shape = (SIZE, SIZE, 1)
    factor_names = FACTOR_NAMES

    def __init__(self, name, factor_sizes, test_fraction=0.1, seed=0):
        if len(factor_sizes) != len(FACTOR_NAMES) or any(
                isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1 for n in factor_sizes):
            raise DataError(f"{name} factor sizes: got {factor_sizes!r}; expected {len(FACTOR_NAMES)} positive integers")
        if isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float)) or not 0 < test_fraction < 1:
            raise DataError(f"{name} test_fraction: got {test_fraction!r}; expected a number between 0 and 1")
        self.name, self.test_fraction, self.seed = name, test_fraction, seed
        self.factor_sizes = tuple(int(n) for n in factor_sizes)
        self._splits = None

    def __len__(self):
        return math.prod(self.factor_sizes)

    def count(self, split):
        return len(self.indices(split))

    def indices(self, split):
        """Grid indices of `split`, in the fixed-seed permutation's order, so the first test
        images are a uniform sample."""
        if split not in SPLITS:
            raise DataError(f"unknown split {split!r}; allowed: {', '.join(SPLITS)}")
        if self._splits is None:
            order = np.random.default_rng(self.seed).permutation(len(self))
            tests = min(max(1, round(len(self) * self.test_fraction)), len(self) - 1)
            self._splits = {"test": order[:tests], "train": order[tests:]}
        return self._splits[split]

    def factors(self, indices):
        """Factor indices [N, 5] of grid indices [N]."""
        return np.stack(np.unravel_index(np.asarray(indices), self.factor_sizes), axis=1)

    def grid_indices(self, factors):
        """Grid indices [N] of factor indices [N, 5], which must lie on the grid."""
        factors = np.asarray(factors)
        if factors.ndim != 2 or factors.shape[1] != len(FACTOR_NAMES) or not np.issubdtype(factors.dtype, np.integer) \
                or (factors < 0).any() or (factors >= self.factor_sizes).any():
            raise DataError(f"factor indices must be integers [N, {len(FACTOR_NAMES)}] below {list(self.factor_sizes)}; "
                            f"got {factors.dtype} of shape {list(factors.shape)}")
        return np.ravel_multi_index(tuple(factors.T), self.factor_sizes)

    def images_of(self, indices, data_dir=None, download=False):
        """uint8 images [N, 64, 64, 1] of 0s and 1s of grid indices [N]."""
        raise NotImplementedError

    def render(self, factors):
        """uint8 images [N, 64, 64, 1] of factor indices [N, 5]."""
        return self.images_of(self.grid_indices(factors))

    def load(self, split, data_dir=None, download=False):
        """The `split` ("train" or "test") as a `Split` with `factors` (`data_dir` and
        `download` as `images_of` reads them)."""
        indices = self.indices(split)
        factors = self.factors(indices)
        return Split(self.images_of(indices, data_dir, download), factors[:, 0].astype(np.int64), self.levels, factors)

    def sample(self, count, seed=0):
        """`count` images drawn uniformly from the whole grid (with replacement) with `seed`,
        as a `Split` with `factors`: the metrics' ground truth, independent of the split."""
        rng = np.random.default_rng(seed)
        factors = np.stack([rng.integers(size, size=count) for size in self.factor_sizes], axis=1)
        return Split(self.render(factors), factors[:, 0].astype(np.int64), self.levels, factors)

    def stream(self, split, batch_size, shuffle=True, seed=0, repeat=True):
        """A tf.data pipeline making `split` batch by batch: float32 [B, 64, 64, 1] in {0, 1},
        equal to `load(split).scaled()` image for image; endless full batches with `repeat`."""
        indices = self.indices(split)
        data = tf.data.Dataset.from_tensor_slices(indices)
        if shuffle:
            data = data.shuffle(len(indices), seed=seed, reshuffle_each_iteration=True)
        if repeat:
            data = data.repeat()
        data = data.batch(batch_size, drop_remainder=repeat)

        def made(batch):
            images = tf.numpy_function(self.images_of, [batch], tf.uint8, stateful=False)
            return tf.cast(tf.ensure_shape(images, [None, *self.image_shape]), tf.float32)

        return shard_by_element(data.map(made, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE))
