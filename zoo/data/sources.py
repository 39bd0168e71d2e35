"""Where each dataset comes from: a registry of datasets and the three kinds of source.

- IDX files in a folder (`--data-dir ../shared/data/mnist`), for MNIST and Fashion-MNIST;
- TFDS (`tfds.load`), for machines that are online or have a prepared TFDS data_dir;
- scikit-learn's bundled 8x8 digits, the embedded default: real handwritten digits that
  ship inside the installed package, so the first run needs no download.

The datasets whose generative factors are known register themselves: the drawn
dSprites-style `shapes` from `zoo.data.shapes`, DeepMind's own `dsprites` (TFDS) from
`zoo.data.dsprites`. The user's own images come from `zoo.data.folders`,
`zoo.data.arrays` and `zoo.data.tfds_images`; `zoo.data.resolve` maps a --dataset value to
any of these sources.
"""

import dataclasses
import os
from typing import Optional

import numpy as np

from zoo.data.idx import find_idx_file, read_idx
from zoo.data.memory import MemoryEstimate
from zoo.errors import DataError, first_line
from zoo.registry import Registry

DATASETS = Registry("dataset")
IDX_STEMS = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
SPLITS = ("train", "test")
TFDS_CHUNK = 10000


@dataclasses.dataclass(frozen=True)
class Split:
    """Images as integers [N, H, W, C] in 0..levels-1, with labels [N] (or None), and for
    data drawn from known generative factors (`zoo.data.factor_grid`) their indices [N, factors]."""

    images: np.ndarray
    labels: Optional[np.ndarray]
    levels: int
    factors: Optional[np.ndarray] = None

    def __post_init__(self):
        """Refuse pixels outside 0..levels-1: scaled by levels - 1 they would leave [0, 1]
        (and a Bernoulli would train on them without complaint)."""
        images = np.asarray(self.images)
        if images.size and not (np.issubdtype(images.dtype, np.integer) and images.min() >= 0
                                and images.max() < self.levels):
            raise DataError(f"images must be integers in 0..{self.levels - 1} ({self.levels} levels); "
                            f"got {images.dtype} values from {images.min()} to {images.max()}")

    def scaled(self):
        """Images as float32 in [0, 1]."""
        return self.images.astype(np.float32) / (self.levels - 1)


@dataclasses.dataclass(frozen=True)
class Dataset(MemoryEstimate):
    name: str
    image_shape: tuple
    levels: int
    idx_files: bool  # whether --data-dir may hold IDX files for it
    description: str
    examples: tuple = ()  # (train, test) image counts of the usual source, for memory estimates

    def count(self, split):
        return dict(zip(SPLITS, self.examples)).get(split)

    def load(self, split, data_dir=None, download=False):
        """The `split` ("train" or "test") from `data_dir` (IDX or TFDS folder) or the default source.

        TFDS may fetch a missing dataset only with `download=True`: offline, its retries
        take minutes before failing.
        """
        if split not in SPLITS:
            raise DataError(f"unknown split {split!r}; allowed: {', '.join(SPLITS)}")
        if self.name == "digits":
            return _load_digits(split)
        if data_dir is not None and self.idx_files and _holds_idx(data_dir):
            return _load_idx(data_dir, split)
        if data_dir is not None and not os.path.isdir(data_dir):
            raise DataError(f"--data-dir {data_dir}: no such folder")
        return _load_tfds(self, split, data_dir, download)


for _dataset in (
    Dataset("digits", (8, 8, 1), 17, False,
            "scikit-learn's 1797 8x8 handwritten digits (embedded, no download)", (1500, 297)),
    Dataset("mnist", (28, 28, 1), 256, True, "MNIST handwritten digits", (60000, 10000)),
    Dataset("fashion_mnist", (28, 28, 1), 256, True, "Fashion-MNIST clothing images", (60000, 10000)),
    Dataset("binarized_mnist", (28, 28, 1), 2, False,
            "Larochelle's fixed binarization of MNIST (TFDS)", (50000, 10000)),
    Dataset("cifar10", (32, 32, 3), 256, False, "CIFAR-10 colour images (TFDS)", (50000, 10000)),
):
    DATASETS.register(_dataset.name)(_dataset)

DIGITS_TEST_SIZE = 297  # sklearn ships no split; a fixed permutation keeps 1500 to train


def _load_digits(split):
    from sklearn.datasets import load_digits

    digits = load_digits()
    order = np.random.default_rng(0).permutation(len(digits.target))
    chosen = order[:-DIGITS_TEST_SIZE] if split == "train" else order[-DIGITS_TEST_SIZE:]
    images = digits.images[chosen].astype(np.uint8)[..., None]
    return Split(images, digits.target[chosen].astype(np.int64), levels=17)


def _holds_idx(directory):
    return find_idx_file(directory, IDX_STEMS["train"][0]) is not None or \
        find_idx_file(directory, IDX_STEMS["test"][0]) is not None


def _load_idx(directory, split):
    paths = []
    for stem in IDX_STEMS[split]:
        path = find_idx_file(directory, stem)
        if path is None:
            raise DataError(f"{os.path.join(directory, stem)}[.gz]: file not found")
        paths.append(path)
    images = read_idx(paths[0], kind="images")
    labels = read_idx(paths[1], kind="labels")
    if len(images) != len(labels):
        raise DataError(f"{paths[0]} holds {len(images)} images but {paths[1]} holds "
                        f"{len(labels)} labels")
    return Split(images[..., None], labels.astype(np.int64), levels=256)


def load_tfds(name, split, data_dir=None, download=False, idx_files=False, transform=None):
    """(uint8 images [N, H, W, C], int64 labels [N] or None) of TFDS dataset `name`.

    `transform` maps each image (a uint8 tensor) before batching, so images of varying size
    can be resized to one; labels come from a "label" feature where there is one.
    TFDS fetches a missing dataset only with `download=True`; otherwise a DataError says
    what to do (`idx_files`: whether to suggest a --data-dir of IDX files).
    """
    try:
        import tensorflow_datasets as tfds

        data = tfds.load(name, split=split, data_dir=data_dir, download=download)
        data = data.map(lambda example: {key: transform(value) if key == "image" and transform else value
                                         for key, value in example.items() if key in ("image", "label")})
        # Chunks, not batch_size=-1: that aborts the process under tfds.testing.mock_data.
        chunks = list(tfds.as_numpy(data.batch(TFDS_CHUNK)))
    except Exception as error:  # TFDS raises many kinds; all mean "not available here"
        raise tfds_unavailable(name, error, download, idx_files) from None
    if not chunks:
        raise DataError(f"TFDS '{name}' {split}: no images")
    images = np.concatenate([chunk["image"] for chunk in chunks]).astype(np.uint8)
    if images.ndim == 3:
        images = images[..., None]
    labels = np.concatenate([chunk["label"] for chunk in chunks]).astype(np.int64) \
        if "label" in chunks[0] else None
    return images, labels


def tfds_unavailable(name, error, download, idx_files=False, instead="the embedded 'digits' dataset"):
    """The one-line DataError for TFDS dataset `name` failing to load with `error`: what the
    user can do instead (`idx_files`: whether to suggest a --data-dir of IDX files)."""
    reason = first_line(error)
    hint = "--data-dir with its IDX files (e.g. ../shared/data/mnist), " if idx_files else ""
    download_hint = "" if download else "--download (online), "
    return DataError(f"cannot load '{name}' through TFDS ({reason[:200]}); use {download_hint}{hint}--data-dir "
                     f"with a prepared TFDS data_dir, or {instead}")


def _load_tfds(dataset, split, data_dir, download):
    images, labels = load_tfds(dataset.name, split, data_dir, download, dataset.idx_files)
    if images.max(initial=0) >= dataset.levels:
        raise DataError(f"TFDS '{dataset.name}' {split}: pixel values up to {images.max()} but this "
                        f"dataset has {dataset.levels} levels (0..{dataset.levels - 1})")
    return Split(images, labels, dataset.levels)
