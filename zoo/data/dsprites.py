"""DeepMind's dSprites (TFDS `dsprites`) as a dataset whose generative factors are known.

TFDS ships the 737,280 images of the grid 3 shapes x 6 scales x 40 orientations x 32 x 32
positions as one shuffled `train` split, with each image's factor indices in the features
label_shape, label_scale, label_orientation, label_x_position and label_y_position (the
order of `FACTOR_NAMES`; shapes 0 square, 1 ellipse, 2 heart, as in `shapes`). Its pixels
are 0 or 1, so they are kept as two levels and scaled to {0.0, 1.0}, not divided by 255.

Read once per process and kept bit-packed in grid order (8 pixels a byte: 377 MB for the
whole grid, where uint8 takes 3.0 GB), so a grid point's image is found by its index. The
splits are `shapes_full`'s: the same fixed-seed permutation of the same number of grid
points holds 10% out as the test split, so both hold out the same factor tuples. A split
is unpacked when loaded (the train split: 2.7 GB as uint8); over the memory budget it is
unpacked batch by batch while training (`stream`). The metrics' `sample` looks up the images
of factor tuples drawn uniformly from the grid, as for `shapes`.
"""

import os

import numpy as np

from zoo.data.factor_grid import SIZE, FactorGrid
from zoo.data.sources import DATASETS, TFDS_CHUNK, tfds_unavailable
from zoo.errors import DataError

GRID = (3, 6, 40, 32, 32)  # the class counts of the TFDS builder's label features
LABELS = ("label_shape", "label_scale", "label_orientation", "label_x_position", "label_y_position")
INSTEAD = "'shapes_full', dSprites' grid drawn by the zoo (no download)"


class Dsprites(FactorGrid):
    """DeepMind's dSprites read from TFDS (see the module docstring).

    Args:
        name: the --dataset name it is registered under.
        factor_sizes: the grid the TFDS data must cover, each point once (tests pass a smaller
            one with mocked data).
        test_fraction, seed: as for `shapes`.
        tfds_name: the TFDS dataset to read.

    Example:
        dsprites = DATASETS.get("dsprites")
        split = dsprites.load("test", download=True)   # uint8 [73728, 64, 64, 1] in {0, 1}, split.factors [N, 5]
        some = dsprites.sample(1000, seed=0)           # 1000 images of factor tuples drawn from the grid
    """

    streamed_from = "unpacked from memory"

    def __init__(self, name="dsprites", factor_sizes=GRID, test_fraction=0.1, seed=0, tfds_name="dsprites"):
        super().__init__(name, factor_sizes, test_fraction, seed)
        self.tfds_name = tfds_name
        self.description = (f"DeepMind's dSprites (TFDS '{tfds_name}'), {len(self):,} 64x64 binary images: "
                            + " x ".join(f"{n} {factor}" for n, factor in zip(self.factor_sizes, self.factor_names)))
        self._grid = None  # (data_dir, packed images [N, 64, 8] in grid order) once read

    def prepare(self, data_dir=None, download=False):
        """The whole grid, bit-packed uint8 [N, 64, 8] in grid order, read from TFDS (`data_dir`:
        a TFDS data_dir; `download`: let TFDS fetch it) unless already read from there."""
        key = None if data_dir is None else os.path.abspath(os.fspath(data_dir))
        if self._grid is not None and self._grid[0] == key:
            return self._grid[1]
        if data_dir is not None and not os.path.isdir(data_dir):
            raise DataError(f"--data-dir {data_dir}: no such folder")
        self._grid = None
        self._grid = (key, self._read(data_dir, download))
        return self._grid[1]

    def images_of(self, indices, data_dir=None, download=False):
        """uint8 images [N, 64, 64, 1] of grid indices [N]; with no `data_dir`, from the grid
        already read (else TFDS's default data_dir)."""
        packed = self._grid[1] if data_dir is None and self._grid is not None else self.prepare(data_dir, download)
        return np.unpackbits(packed[np.asarray(indices)], axis=-1)[..., None]

    def stream(self, split, batch_size, shuffle=True, seed=0, repeat=True):
        """As `FactorGrid.stream`, from the grid read before (`prepare`), else TFDS's default data_dir."""
        if self._grid is None:
            self.prepare()
        return super().stream(split, batch_size, shuffle, seed, repeat)

    def _read(self, data_dir, download):
        import tensorflow_datasets as tfds

        packed = np.zeros((len(self), SIZE, SIZE // 8), np.uint8)
        seen = np.zeros(len(self), bool)
        try:
            data = tfds.load(self.tfds_name, split="train", data_dir=data_dir, download=download)
            data = data.map(lambda example: {key: example[key] for key in ("image", *LABELS)})
            for chunk in tfds.as_numpy(data.batch(TFDS_CHUNK)):
                self._place(chunk, packed, seen)
        except DataError:
            raise
        except Exception as error:  # TFDS raises many kinds; all mean "not available here"
            raise tfds_unavailable(self.tfds_name, error, download, instead=INSTEAD) from None
        if not seen.all():
            raise DataError(f"TFDS '{self.tfds_name}' holds {seen.sum():,} of the {len(self):,} points of the grid "
                            f"{' x '.join(map(str, self.factor_sizes))}; the splits and the metrics need each once")
        return packed

    def _place(self, chunk, packed, seen):
        """Packs a chunk of TFDS examples into `packed` at their grid indices, marking them `seen`."""
        images = chunk["image"]
        if images.shape[1:] != self.image_shape:
            raise DataError(f"TFDS '{self.tfds_name}': images of shape {list(images.shape[1:])}, "
                            f"not {list(self.image_shape)}")
        if images.max(initial=0) > 1:
            raise DataError(f"TFDS '{self.tfds_name}': pixel values up to {images.max()}, but dSprites' pixels "
                            "are 0 or 1")
        factors = np.stack([chunk[key] for key in LABELS], axis=1).astype(np.int64)
        if (factors < 0).any() or (factors >= self.factor_sizes).any():
            raise DataError(f"TFDS '{self.tfds_name}': factor indices up to {factors.max(axis=0).tolist()} "
                            f"({', '.join(LABELS)}) outside the grid {list(self.factor_sizes)}")
        grid = np.ravel_multi_index(tuple(factors.T), self.factor_sizes)
        twice = seen[grid] | _repeated(grid)
        if twice.any():
            raise DataError(f"TFDS '{self.tfds_name}': a grid point appears twice (factor indices "
                            f"{factors[np.argmax(twice)].tolist()})")
        seen[grid] = True
        packed[grid] = np.packbits(images[..., 0], axis=-1)


def _repeated(values):
    """Whether each value occurred earlier in `values`."""
    _, first = np.unique(values, return_index=True)
    repeated = np.ones(len(values), bool)
    repeated[first] = False
    return repeated


DATASETS.register("dsprites")(Dsprites())
