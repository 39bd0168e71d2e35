"""One entry point from a --dataset value (with --data-dir, --image-size, --channels) to the
source that serves it, so the CLI, training and evaluation treat every kind alike.

Every source has `name` (the --dataset value that resolves to it again), `image_shape`,
`levels`, `load(split, data_dir=None, download=False)` -> `Split`, `estimated_bytes(split)`
and `fits_in_memory(budget_bytes=None, split="train")`; an `ImageFolder` also `stream(...)`.
"""

import os

from zoo.data.arrays import NpzArrays
from zoo.data.folders import ImageFolder
from zoo.checks import parse_image_size
from zoo.data.sources import DATASETS
from zoo.data.tfds_images import TfdsImages
from zoo.errors import ConfigError

TFDS_PREFIX = "tfds:"


def allowed_datasets():
    return (f"{', '.join(DATASETS.names())}, folder (--data-dir: a folder of images, or a .npz "
            "file), npz (--data-dir: a .npz file), tfds:NAME (any TFDS image dataset)")


def resolve(dataset, data_dir=None, image_size=None, channels=None):
    """The source of `dataset`: a registered name in `DATASETS`, "folder" (`data_dir` is the
    folder; a .npz file there is read as "npz"), "npz" (`data_dir` is the .npz file) or
    "tfds:NAME" (`data_dir`, if given, a TFDS data_dir).

    A `data_dir` that does not exist is refused for every dataset (a registered one that
    does not read it, such as the embedded digits, would otherwise ignore a typo).
    `image_size` ((height, width), "HxW") and `channels` (1 or 3) resize and convert the
    images of folder, npz and TFDS sources; a registered dataset accepts only its own.
    """
    if not isinstance(dataset, str):
        raise ConfigError("dataset", dataset, allowed_datasets())
    if data_dir is not None and not os.path.exists(data_dir):  # never ignored, whatever the dataset
        raise ConfigError("--data-dir", os.fspath(data_dir), "an existing folder or file (no such folder or file)")
    if dataset in DATASETS:
        source = DATASETS.get(dataset)
        _refuse_changes(source, image_size, channels)
        return source
    if dataset in ("folder", "npz"):
        if data_dir is None:
            raise ConfigError("--data-dir", None, f"a folder of image files or a .npz file: the dataset '{dataset}' is your own images")
        path = os.fspath(data_dir)
        if dataset == "npz" or (path.lower().endswith(".npz") and not os.path.isdir(path)):
            return NpzArrays(path, image_size, channels)
        return ImageFolder(path, image_size, channels)
    if dataset.startswith(TFDS_PREFIX) and dataset[len(TFDS_PREFIX):].strip():
        return TfdsImages(dataset[len(TFDS_PREFIX):].strip(), image_size, channels, data_dir)
    raise ConfigError("dataset", dataset, allowed_datasets())


def _refuse_changes(source, image_size, channels):
    height, width, own_channels = source.image_shape
    size = parse_image_size(image_size)
    if size is not None and size != (height, width):
        raise ConfigError("image_size", image_size, f"{height}x{width}, the size of '{source.name}' "
                          "(resizing is for folder, npz and tfds:NAME datasets)")
    if channels is not None and channels != own_channels:
        raise ConfigError("channels", channels, f"{own_channels}, the channels of '{source.name}' "
                          "(converting is for folder, npz and tfds:NAME datasets)")
