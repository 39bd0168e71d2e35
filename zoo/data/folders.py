"""A folder of the user's own images as a dataset (`--dataset folder --data-dir DIR`).

Every PNG, JPEG, BMP and GIF file under the folder (searched recursively; hidden files and
folders and files with other extensions skipped) is one image. When the folder holds its
images only in subfolders, each subfolder is a class: labels are the subfolders' indices
in sorted-name order (`classes`); with images at the top level the labels are None.

The whole folder is checked when the source is made, from the file headers (see
`zoo.data.headers`), so its `image_shape` is known and bad files stop the run at once:
a non-image behind an image extension, a broken header, a truncated file, sizes that
differ without `image_size`, grey mixed with colour without `channels`, and images
smaller than `image_size` in both height and width (resizing up would invent detail, so
it is refused; an image smaller in one dimension only is resized, stretched). Each is a
one-line `DataError` naming a file. Damage inside a file with an intact header and end is
found only by decoding it: `load` (and `verify`) name that file too; in `stream` it stops
the iteration with TensorFlow's decode error, which names no file (run `verify()` to find it).

Images are decoded with `tf.io.decode_image` (the first frame of an animated GIF) and
converted by `zoo.data.images.to_pixels`, identically in `load` and `stream`.
"""

import os

import numpy as np
import tensorflow as tf

from zoo.data.headers import read_header
from zoo.checks import parse_image_size
from zoo.data.images import check_channels, tf_reason, to_pixels
from zoo.data.memory import MemoryEstimate, memory_budget
from zoo.data.pipeline import shard_by_element
from zoo.data.sources import SPLITS, Split
from zoo.errors import ConfigError, DataError

__all__ = ["EXTENSIONS", "ImageFolder", "find_images", "memory_budget", "split_indices"]

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
DECODE_BATCH = 256


def find_images(root):
    """Paths relative to `root` of its image files, sorted (so nothing depends on the order
    the file system lists them in); hidden files and folders are skipped.

    Links to folders are followed, but no folder is walked twice: a link into the folder
    itself (a loop such as `sub -> .`, or a second name for a subfolder) is cut, so no image
    is counted twice and the test split never repeats a training image."""
    found, walked = [], set()
    real_root = os.path.realpath(root)
    for folder, subfolders, names in os.walk(root, followlinks=True):
        walked.add(_identity(folder))
        subfolders[:] = [name for name in subfolders if not name.startswith(".")
                         and not _walked_elsewhere(os.path.join(folder, name), real_root, walked)]
        found += [os.path.relpath(os.path.join(folder, name), root) for name in names
                  if not name.startswith(".") and name.lower().endswith(EXTENSIONS)]
    return sorted(found)


def _identity(folder):
    status = os.stat(folder)
    return status.st_dev, status.st_ino


def _walked_elsewhere(folder, real_root, walked):
    """Whether the walk reaches `folder` some other way: already walked, or a link to a folder
    inside the root (walked under its own name)."""
    if _identity(folder) in walked:
        return True
    if not os.path.islink(folder):
        return False
    target = os.path.realpath(folder)
    return target == real_root or target.startswith(real_root + os.sep)


def split_indices(count, test_fraction, seed):
    """{"train": indices, "test": indices} from a fixed-seed permutation of `count` items,
    each sorted; the test split holds round(count * test_fraction) items, at least 1."""
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float)) \
            or not 0 < test_fraction < 1:
        raise ConfigError("test_fraction", test_fraction, "a number between 0 and 1 (exclusive)")
    order = np.random.default_rng(seed).permutation(count)
    tests = min(max(1, round(count * test_fraction)), count - 1)
    return {"train": np.sort(order[tests:]), "test": np.sort(order[:tests])}


class ImageFolder(MemoryEstimate):
    """Images (and class labels) from a folder.

    Args:
        path: the folder.
        image_size: (height, width) to resize every image to (or "HxW", or an int for a
            square); None keeps the size, which all images must then share.
        channels: 1 (grey) or 3 (colour) to convert every image to; None keeps the images'
            own, which must then be all grey or all colour. Alpha is always dropped.
        test_fraction: the share of images held out as the "test" split.
        seed: seeds the permutation that splits train from test.

    Example:
        folder = ImageFolder("photos", image_size=(64, 64))
        folder.image_shape  # (64, 64, 3)
        train = folder.load("train") if folder.fits_in_memory() else folder.stream("train", 64)
    """

    name = "folder"
    levels = 256

    def __init__(self, path, image_size=None, channels=None, test_fraction=0.1, seed=0):
        self.path = os.fspath(path)
        self.image_size = parse_image_size(image_size)
        channels = check_channels(channels)
        if not os.path.isdir(self.path):
            what = "not a folder" if os.path.exists(self.path) else "no such folder"
            raise DataError(f"{self.path}: {what}")
        relative = find_images(self.path)
        if len(relative) < 2:
            found = "only one image file" if relative else "no image files"
            raise DataError(f"{self.path}: {found} (looked for {', '.join(EXTENSIONS)} files, in "
                            "subfolders too); a train and a test split need at least 2")
        self.files = [os.path.join(self.path, name) for name in relative]
        self.classes, self.labels = _class_labels(relative)
        self._splits = split_indices(len(self.files), test_fraction, seed)
        headers = [read_header(file) for file in self.files]
        self.channels = channels or _common_channels(self.path, self.files, headers)
        if self.image_size is None:
            height, width = _common_size(self.path, self.files, headers)
        else:
            height, width = self.image_size
            _refuse_enlarging(self.files, headers, self.image_size)
        self.image_shape = (height, width, self.channels)
        for file, header in zip(self.files, headers):
            if not header.complete:  # a truncated file, or data after the end: decode to tell
                self._check_decodes(file, header.format)

    def count(self, split):
        return len(self._indices(split))

    def paths(self, split):
        """The files of `split`, in path order."""
        return [self.files[i] for i in self._indices(split)]

    def load(self, split, data_dir=None, download=False):
        """The `split` ("train" or "test") decoded into memory as a `Split` of uint8 pixels.

        `data_dir` and `download` are accepted for the common source interface and ignored.
        """
        indices = self._indices(split)
        images = np.empty((len(indices), *self.image_shape), np.uint8)
        done = 0
        for batch in self._decoded([self.files[i] for i in indices]):
            images[done:done + len(batch)] = batch
            done += len(batch)
        return Split(images, None if self.labels is None else self.labels[indices], self.levels)

    def verify(self):
        """Decode every image once, without keeping them: a DataError names the first file
        that does not decode (a stream would fail on it without naming it)."""
        for _ in self._decoded(self.files):
            pass

    def stream(self, split, batch_size, shuffle=True, seed=0, repeat=True):
        """A tf.data pipeline decoding `split` from disk: float32 batches [B, H, W, C] in [0, 1],
        equal to `load(split).scaled()` image for image.

        With `repeat` (training) it is endless and every batch full (batches run across epoch
        boundaries; an epoch is len // batch_size steps); `shuffle` reshuffles each epoch
        from `seed`. Without `repeat` it is one pass, the last batch possibly short.
        """
        files = self.paths(split)
        if repeat and batch_size > len(files):  # endless full batches need one batch of files
            raise DataError(f"batch_size {batch_size} is larger than the {len(files)} {split} images "
                            f"in {self.path}")
        data = tf.data.Dataset.from_tensor_slices(files)
        if shuffle:
            data = data.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
        if repeat:
            data = data.repeat()
        data = data.map(lambda file: tf.cast(self._pixels(file), tf.float32) / (self.levels - 1),
                        num_parallel_calls=tf.data.AUTOTUNE)
        data = data.batch(batch_size, drop_remainder=repeat)
        return shard_by_element(data.prefetch(tf.data.AUTOTUNE))

    def _indices(self, split):
        if split not in SPLITS:
            raise DataError(f"unknown split {split!r}; allowed: {', '.join(SPLITS)}")
        return self._splits[split]

    def _pixels(self, file):
        """One image file -> uint8 [H, W, C] (a TensorFlow function of the path)."""
        image = tf.io.decode_image(tf.io.read_file(file), channels=0, expand_animations=False)
        return tf.ensure_shape(to_pixels(image, self.channels, self.image_size), self.image_shape)

    def _decoded(self, files):
        """uint8 batches of `files`, decoded in parallel; a DataError names a file that fails."""
        data = tf.data.Dataset.from_tensor_slices(files)
        data = data.map(self._pixels, num_parallel_calls=tf.data.AUTOTUNE).batch(DECODE_BATCH)
        done = 0
        iterator = iter(data.prefetch(1))
        while done < len(files):
            try:
                batch = next(iterator).numpy()
            except tf.errors.OpError as error:  # in order, so the bad file is at `done` or after
                raise self._failure(files[done:], error) from None
            done += len(batch)
            yield batch

    def _failure(self, files, error):
        for file in files:
            try:
                self._check_decodes(file, read_header(file).format)
                self._pixels(tf.constant(file))
            except DataError as bad:
                return bad
            except tf.errors.OpError as file_error:
                return DataError(f"{file}: does not convert to {'x'.join(map(str, self.image_shape))} "
                                 f"(height x width x channels): {tf_reason(file_error)}")
        return DataError(f"{self.path}: decoding failed ({tf_reason(error)})")

    @staticmethod
    def _check_decodes(file, format):
        try:
            tf.io.decode_image(tf.io.read_file(file), expand_animations=False)
        except tf.errors.OpError as error:
            raise DataError(f"{file}: corrupt or truncated {format}, which TensorFlow cannot decode "
                            f"({tf_reason(error)})") from None


def _class_labels(relative):
    """(class names, int64 labels) from the first folder of each path, or ((), None) when
    any image lies at the top level."""
    tops = [name.split(os.sep, 1)[0] if os.sep in name else None for name in relative]
    if None in tops:
        return (), None
    classes = sorted(set(tops))
    index = {name: i for i, name in enumerate(classes)}
    return tuple(classes), np.array([index[top] for top in tops], np.int64)


def _common_channels(folder, files, headers):
    grey = next((f for f, h in zip(files, headers) if h.colour == 1), None)
    colour = next((f for f, h in zip(files, headers) if h.colour == 3), None)
    if grey and colour:
        raise DataError(f"{folder}: mixes grey and colour images (grey: {grey}; colour: {colour}); "
                        "--channels 1 or --channels 3 converts them all")
    return 1 if grey else 3


def _common_size(folder, files, headers):
    first = headers[0]
    for file, header in zip(files, headers):
        if (header.height, header.width) != (first.height, first.width):
            raise DataError(f"{folder}: images differ in size ({files[0]}: {first.height}x{first.width}, "
                            f"{file}: {header.height}x{header.width}, height x width); pass "
                            "--image-size HxW to resize them all")
    return first.height, first.width


def _refuse_enlarging(files, headers, image_size):
    height, width = image_size
    small = [(f, h) for f, h in zip(files, headers) if h.height < height and h.width < width]
    if small:
        file, header = small[0]
        more = f" ({len(small) - 1} more files too)" if len(small) > 1 else ""
        raise DataError(f"{file}: {header.height}x{header.width} (height x width) is smaller than "
                        f"--image-size {height}x{width} in both dimensions, and resizing up is "
                        f"refused: ask for a smaller --image-size or remove the file{more}")
