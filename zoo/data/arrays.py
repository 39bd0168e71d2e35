"""Images already in arrays, in one NumPy .npz file (`--dataset npz --data-dir FILE.npz`).

The file holds either `x_train` and `x_test` (and optionally `y_train`, `y_test`), or
`images` (and optionally `labels`), split into train and test by a fixed-seed permutation
as a folder is. Images are [N, H, W] or [N, H, W, C] (C = 1 to 4, alpha dropped) of
integers 0..255, or floats in [0, 1], stored as uint8 by rounding x * 255 (256 levels);
labels are integers [N]. Anything else is a one-line DataError naming the file and the array.
"""

import os

import numpy as np

from zoo.checks import parse_image_size
from zoo.data.folders import split_indices
from zoo.data.images import check_channels, colour_channels, to_pixels
from zoo.data.memory import MemoryEstimate
from zoo.data.sources import SPLITS, Split
from zoo.errors import DataError, first_line

CONVERT_CHUNK = 1024  # images converted at a time, to bound the float copy resizing makes


class NpzArrays(MemoryEstimate):
    """Images (and labels) from a .npz file, checked and converted when it is opened.

    Args:
        path: the .npz file.
        image_size, channels: as for `zoo.data.folders.ImageFolder` (resize down, convert
            grey <-> colour); None keeps the arrays' own.
        test_fraction, seed: how an `images` array is split (unused with `x_train`/`x_test`).
    """

    name = "npz"
    levels = 256

    def __init__(self, path, image_size=None, channels=None, test_fraction=0.1, seed=0):
        self.path = os.fspath(path)
        self.image_size = parse_image_size(image_size)
        channels = check_channels(channels)
        arrays = _read(self.path)
        if "x_train" in arrays or "x_test" in arrays:
            keys = {"train": ("x_train", "y_train"), "test": ("x_test", "y_test")}
            for key in ("x_train", "x_test"):
                if key not in arrays:
                    raise DataError(f"{self.path}: has '{'x_test' if key == 'x_train' else 'x_train'}' "
                                    f"but no '{key}' array")
            images = {split: self._images(x, arrays[x]) for split, (x, _) in keys.items()}
            labels = {split: self._labels(y, arrays.get(y), len(images[split]))
                      for split, (_, y) in keys.items()}
        elif "images" in arrays:
            everything = self._images("images", arrays["images"])
            if len(everything) < 2:
                raise DataError(f"{self.path}: 'images' holds {len(everything)} image; a train and a "
                                "test split need at least 2")
            all_labels = self._labels("labels", arrays.get("labels"), len(everything))
            indices = split_indices(len(everything), test_fraction, seed)
            keys = {split: ("images", "labels") for split in SPLITS}
            images = {split: everything[i] for split, i in indices.items()}
            labels = {split: None if all_labels is None else all_labels[i] for split, i in indices.items()}
        else:
            raise DataError(f"{self.path}: no 'x_train' and 'x_test' arrays, nor 'images'; it holds "
                            f"{', '.join(repr(k) for k in sorted(arrays)) or 'no arrays'}")
        self.channels = channels or self._common_channels(images)
        self.image_shape = (*(self.image_size or self._common_size(images)), self.channels)
        self._splits = {split: (self._convert(keys[split][0], images[split]), labels[split])
                        for split in SPLITS}

    def count(self, split):
        return len(self._split(split)[0])

    def load(self, split, data_dir=None, download=False):
        """The `split` ("train" or "test"); `data_dir` and `download` are ignored."""
        images, labels = self._split(split)
        return Split(images, labels, self.levels)

    def _split(self, split):
        if split not in SPLITS:
            raise DataError(f"unknown split {split!r}; allowed: {', '.join(SPLITS)}")
        return self._splits[split]

    def _images(self, key, array):
        """`array` as uint8 [N, H, W, C], checked."""
        where = f"{self.path}: '{key}'"
        if array.ndim == 3:
            array = array[..., None]
        if array.ndim != 4 or not 1 <= array.shape[-1] <= 4:
            raise DataError(f"{where} has shape {list(array.shape)}; expected images [N, H, W] or "
                            "[N, H, W, C] with C = 1 to 4")
        if not array.size:
            raise DataError(f"{where} holds no images (shape {list(array.shape)})")
        if np.issubdtype(array.dtype, np.integer) and not np.issubdtype(array.dtype, np.bool_):
            low, high = array.min(), array.max()
            if low < 0 or high > 255:
                raise DataError(f"{where} holds integers from {low} to {high}; expected 0..255")
            return array.astype(np.uint8)
        if np.issubdtype(array.dtype, np.floating):
            if not np.isfinite(array).all():
                raise DataError(f"{where} holds NaN or infinite values")
            low, high = array.min(), array.max()
            if low < 0 or high > 1:
                raise DataError(f"{where} holds floats from {low:g} to {high:g}; expected [0, 1] "
                                "(or integers 0..255)")
            return np.round(array * 255).astype(np.uint8)
        raise DataError(f"{where} holds {array.dtype} values; expected integers 0..255 or floats in [0, 1]")

    def _labels(self, key, array, count):
        if array is None:
            return None
        if array.ndim != 1 or len(array) != count or not np.issubdtype(array.dtype, np.integer):
            raise DataError(f"{self.path}: '{key}' has shape {list(array.shape)} and dtype {array.dtype}; "
                            f"expected {count} integer labels, one per image")
        return array.astype(np.int64)

    def _common_channels(self, images):
        train, test = (colour_channels(images[split].shape[-1]) for split in SPLITS)
        if train != test:
            raise DataError(f"{self.path}: 'x_train' is {_kind(train)} but 'x_test' {_kind(test)}; "
                            "--channels 1 or --channels 3 converts them all")
        return train

    def _common_size(self, images):
        sizes = {split: x.shape[1:3] for split, x in images.items()}
        if sizes["train"] != sizes["test"]:
            raise DataError(f"{self.path}: the train images are {'x'.join(map(str, sizes['train']))} but "
                            f"the test images {'x'.join(map(str, sizes['test']))} (height x width); "
                            "pass --image-size HxW to resize them all")
        return sizes["train"]

    def _convert(self, key, images):
        """`images` with `channels` and `image_size`, refusing to enlarge them."""
        height, width, channels = self.image_shape
        if images.shape[1] < height and images.shape[2] < width:
            raise DataError(f"{self.path}: '{key}' images are {images.shape[1]}x{images.shape[2]} "
                            f"(height x width), smaller than --image-size {height}x{width} in both "
                            "dimensions, and resizing up is refused")
        if images.shape[1:] == self.image_shape:
            return images
        size = None if images.shape[1:3] == (height, width) else (height, width)
        return np.concatenate([to_pixels(images[i:i + CONVERT_CHUNK], channels, size).numpy()
                               for i in range(0, len(images), CONVERT_CHUNK)])


def _kind(colour):
    return "grey" if colour == 1 else "colour"


def _read(path):
    """The arrays of the .npz file `path` by name."""
    if not os.path.isfile(path):
        raise DataError(f"{path}: no such file")
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise DataError(f"{path}: holds a single .npy array, not named arrays (.npz)")
        with loaded:
            return {key: loaded[key] for key in loaded.files}
    except DataError:
        raise
    except Exception as error:  # zipfile, pickle and format errors all mean "not a usable .npz"
        raise DataError(f"{path}: not a readable .npz file ({first_line(error, 200)})") from None
