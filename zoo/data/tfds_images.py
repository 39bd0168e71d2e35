"""Any TFDS image dataset by name (`--dataset tfds:celeb_a`), beyond the registered ones.

Its "image" feature gives the images (its "label" feature, if any, the labels), resized
and converted as a folder's are when `image_size` or `channels` is given. TFDS fetches a
missing dataset only with `download=True`, as for the registered datasets. A prepared
dataset too large for memory streams from TFDS's own files (`stream`).
"""

import tensorflow as tf

from zoo.checks import parse_image_size
from zoo.data.images import check_channels, colour_channels, to_pixels
from zoo.data.memory import MemoryEstimate
from zoo.data.pipeline import shard_by_element
from zoo.data.sources import SPLITS, Split, load_tfds
from zoo.errors import DataError, first_line

SHUFFLE_BUFFER = 10000  # images: the whole of CelebA would not fit, which is why it streams


class TfdsImages(MemoryEstimate):
    """The TFDS dataset `name` with 256-level images.

    Args:
        name: a TFDS dataset name (e.g. "celeb_a", "cifar10", "mnist").
        image_size, channels: as for `zoo.data.folders.ImageFolder`; `image_size` is needed
            when the dataset's images vary in size. Enlarging is refused where the dataset
            declares a fixed size smaller than `image_size` in both dimensions.
        data_dir: the TFDS data_dir to use when `load` is given none.
    """

    levels = 256

    def __init__(self, name, image_size=None, channels=None, data_dir=None):
        import tensorflow_datasets as tfds

        self.tfds_name, self.name, self.data_dir = name, f"tfds:{name}", data_dir
        self.image_size = parse_image_size(image_size)
        try:
            self._info = tfds.builder(name, data_dir=data_dir).info
        except Exception as error:  # unknown name, bad config, unreadable data_dir
            raise DataError(f"TFDS dataset '{name}': {first_line(error, 200)}") from None
        feature = self._info.features["image"] if "image" in self._info.features else None
        if feature is None or len(getattr(feature, "shape", ())) != 3:
            raise DataError(f"TFDS dataset '{name}' has no 'image' feature of [height, width, "
                            f"channels] images (its features: {', '.join(self._info.features.keys())})")
        height, width, stored = feature.shape
        self.channels = check_channels(channels) or colour_channels(stored or 3)
        if self.image_size is None:
            if height is None or width is None:
                raise DataError(f"TFDS dataset '{name}' has images of varying size; pass "
                                "--image-size HxW to resize them all")
        elif height is not None and width is not None and height < self.image_size[0] \
                and width < self.image_size[1]:
            raise DataError(f"TFDS dataset '{name}' has {height}x{width} images (height x width), "
                            f"smaller than --image-size {self.image_size[0]}x{self.image_size[1]} in "
                            "both dimensions, and resizing up is refused")
        self.image_shape = (*(self.image_size or (height, width)), self.channels)
        self._convert = (self.image_size is not None or stored != self.channels)

    def count(self, split):
        """The split's size where TFDS knows it (a prepared dataset), else None."""
        known = self._info.splits[split].num_examples if split in self._info.splits else 0
        return known or None

    def load(self, split, data_dir=None, download=False):
        """The `split` ("train" or "test") from TFDS (`data_dir`: a TFDS data_dir)."""
        if split not in SPLITS:
            raise DataError(f"unknown split {split!r}; allowed: {', '.join(SPLITS)}")
        transform = (lambda image: to_pixels(image, self.channels, self.image_size)) if self._convert else None
        images, labels = load_tfds(self.tfds_name, split, data_dir or self.data_dir, download,
                                   transform=transform)
        return Split(images, labels, self.levels)

    def stream(self, split, batch_size, shuffle=True, seed=0, repeat=True):
        """A tf.data pipeline over the prepared `split`: float32 batches [B, H, W, C] in [0, 1],
        converted as `load` converts them; endless with full batches when `repeat`, shuffled
        through a buffer of SHUFFLE_BUFFER images when `shuffle`."""
        import tensorflow_datasets as tfds

        if split not in SPLITS:
            raise DataError(f"unknown split {split!r}; allowed: {', '.join(SPLITS)}")
        data = tfds.load(self.tfds_name, split=split, data_dir=self.data_dir, download=False)
        data = data.map(lambda example: tf.cast(to_pixels(example["image"], self.channels, self.image_size),
                                                tf.float32) / (self.levels - 1), num_parallel_calls=tf.data.AUTOTUNE)
        if shuffle:
            data = data.shuffle(SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=True)
        if repeat:
            data = data.repeat()
        return shard_by_element(data.batch(batch_size, drop_remainder=repeat).prefetch(tf.data.AUTOTUNE))
