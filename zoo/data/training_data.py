"""What `zoo.training.train` feeds a model from a data source: resident or streamed.

On one device a split that fits the memory budget stays on the device (`ResidentImages`,
the compiled multi-step loop); under a strategy it feeds tf.data; a source too large for
the budget that can stream (an image folder, a prepared TFDS dataset) is decoded from disk
batch by batch.
"""

import hashlib
import math

import numpy as np
import tensorflow as tf

from zoo.data.memory import memory_budget
from zoo.data.pipeline import TEST_BINARIZATION_SEED, balanced_subset, eval_dataset, eval_images, train_dataset
from zoo.data.resident import ResidentImages
from zoo.errors import DataError

FINGERPRINT_SAMPLE = 256  # images of each split hashed into a workdir's record of its data


class TrainingData:
    """What `train` feeds the model from a data source: the train and test streams, and test
    (or training) images as arrays for pictures, the test slice and the aggregate posterior.

    Resident when the float32 images fit the memory budget (`zoo.data.memory_budget`): on one
    device the training images then stay on it (`ResidentImages`, the compiled multi-step
    loop), under a strategy they feed tf.data. Otherwise a source that can (an image folder)
    streams from disk through tf.data, decoded and batched on the fly. `how` says which.
    """

    ARRAY_LIMIT = 10000  # images taken as an array from a streamed split

    def __init__(self, source, config, data_dir, download, resident, labels="none"):
        """`labels`: "none", "all" (a conditional model: (images, labels) batches) or "semi"
        (M2: `config.labelled` labels known, the rest hidden; one device only)."""
        self.source, self.config, self.binarize = source, config, config.binarization != "none"
        self.labels, self.labelled = labels, None
        streaming = hasattr(source, "stream") and not source.fits_in_memory()
        if streaming and labels != "none":
            raise DataError(f"{source.name} is too large for the memory budget and streams from disk, which "
                            "gives no labels: conditional and semi-supervised models need it in memory "
                            "(raise ZOO_MEMORY_BUDGET or use fewer or smaller images)")
        if labels == "semi" and not resident:
            raise DataError("semi-supervised training runs on one device (the resident compiled loop), "
                            "not under a tf.distribute strategy")
        if streaming:
            if hasattr(source, "prepare"):  # read whole before it can stream (dsprites): here, where data_dir is known
                source.prepare(data_dir, download)
            self.train_count, self.test_count = source.count("train"), source.count("test")
            self.train = binarized(source.stream("train", config.batch_size, shuffle=True, seed=config.seed),
                                   config.binarization, config.seed)
            self.test = binarized(source.stream("test", config.batch_size, shuffle=False, repeat=False),
                                  "static" if self.binarize else "none", TEST_BINARIZATION_SEED)
            self.how = (f"streamed {getattr(source, 'streamed_from', 'from disk')} through tf.data ({size(source.estimated_bytes('train'))} as "
                        f"float32, over the memory budget of {size(memory_budget())})")
            self.train_split = self.test_split = None
        else:
            self.train_split = source.load("train", data_dir, download)
            self.test_split = source.load("test", data_dir, download)
            self.train_count, self.test_count = len(self.train_split.images), len(self.test_split.images)
            check_splits_agree(source, self.train_split, self.test_split)
            if labels != "none" and (self.train_split.labels is None or self.test_split.labels is None):
                raise DataError(f"{source.name} has no labels: a conditional or semi-supervised model needs "
                                "them (for a folder: one subfolder per class)")
            if labels == "semi":
                self.labelled = (balanced_subset(self.train_split.labels, config.labelled, config.seed)
                                 if config.labelled else np.arange(self.train_count))
            if resident:  # one device: images resident, batched in the compiled loop
                self.train = ResidentImages(self.train_split, config.batch_size, config.binarization,
                                            config.seed, labels=labels == "all", labelled=self.labelled,
                                            labelled_batch_size=config.labelled_batch_size,
                                            labelled_shift=config.labelled_shift)
            else:  # replicas take their shares of each global batch from tf.data
                self.train = train_dataset(self.train_split, config.batch_size, config.binarization,
                                           config.seed, labels=labels == "all")
            self.test = eval_dataset(self.test_split, config.batch_size, binarize=self.binarize,
                                     labels=labels == "all")
            self.how = f"held in memory ({size(self.train_count * math.prod(source.image_shape))} as uint8)"
        self.steps_per_epoch = self.train_count // config.batch_size
        if self.steps_per_epoch == 0:
            raise DataError(f"batch_size {config.batch_size} is larger than the {self.train_count} training images")

    def check_labels(self, classes):
        """Refuse labels outside 0..classes-1 in either split, before training: a model with
        `classes` classes (None: no labels) would train on them and fail only when judged."""
        if classes is None or self.labels == "none" or self.train_split is None:
            return
        for split in (self.train_split, self.test_split):
            labels = split.labels
            if labels is not None and len(labels) and (labels.min() < 0 or labels.max() >= classes):
                which = "training" if split is self.train_split else "test"
                raise DataError(f"{self.source.name}: the {which} labels run from {labels.min()} to {labels.max()}, "
                                f"but the model has {classes} classes (labels 0..{classes - 1}): set the "
                                "condition's classes to cover them, or relabel the data")

    def fingerprint(self):
        """What a workdir records of the data it was trained on (`zoo.training.workdirs`):
        the source, split sizes, image shape and a hash of a fixed sample of images and labels
        (at most FINGERPRINT_SAMPLE of each split: cheap, once per run)."""
        digest = hashlib.sha256()
        for name in ("train", "test"):
            split = getattr(self, f"{name}_split")
            if split is None:  # streamed: the first images in file order
                digest.update(_take(self.source.stream(name, self.config.batch_size, shuffle=False, repeat=False),
                                    FINGERPRINT_SAMPLE).tobytes())
                continue
            chosen = np.unique(np.linspace(0, len(split.images) - 1, FINGERPRINT_SAMPLE).astype(np.int64))
            digest.update(np.ascontiguousarray(split.images[chosen]).tobytes())
            if split.labels is not None:
                digest.update(np.asarray(split.labels[chosen], np.int64).tobytes())
        return {"dataset": self.source.name, "train_images": self.train_count, "test_images": self.test_count,
                "image_shape": list(self.source.image_shape), "levels": self.source.levels,
                "labels": self.labels, "fingerprint": digest.hexdigest()[:16]}

    def test_images(self, limit=None):
        """The first test images as float32 [N, H, W, C], binarized once (fixed seed) if binary."""
        if self.test_split is not None:
            return eval_images(self.test_split, self.binarize)[:limit]
        return _take(self.test, limit or self.ARRAY_LIMIT)

    def test_labels(self):
        return None if self.test_split is None else self.test_split.labels

    def train_images(self):
        if self.train_split is not None:
            return eval_images(self.train_split, self.binarize)
        return _take(self.source.stream("train", self.config.batch_size, shuffle=False, repeat=False),
                     self.ARRAY_LIMIT)


def check_splits_agree(source, train, test):
    """Refuse a test split whose images differ from the training images in shape (size or
    channels) or levels: the model would train, then fail on the test set."""
    for name, split in (("training", train), ("test", test)):
        shape = tuple(split.images.shape[1:])
        if shape != tuple(source.image_shape) or split.levels != source.levels:
            raise DataError(f"{source.name}: the {name} images are {'x'.join(map(str, shape))} with {split.levels} "
                            f"levels, but the data's images are {'x'.join(map(str, source.image_shape))} with "
                            f"{source.levels} levels (height x width x channels): training and test images "
                            "must agree")


def size(count):
    """A byte count for people: 1.5 GiB, 120 MiB, 3 KiB, 12 B."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= scale:
            return f"{count / scale:.3g} {unit}"
    return f"{count} B"


def binarized(data, binarization, seed):
    """Batches of a stream as the likelihood needs them: "dynamic" redraws each batch's
    Bernoulli pixels; "static" draws them with a stateless seed per batch index (the same
    pixels on every pass)."""
    if binarization == "dynamic":
        return data.map(lambda x: tf.cast(tf.random.uniform(tf.shape(x), seed=seed) < x, tf.float32))
    if binarization == "static":
        return data.enumerate().map(lambda i, x: tf.cast(
            tf.random.stateless_uniform(tf.shape(x), seed=tf.stack([tf.cast(seed, tf.int64), i])) < x, tf.float32))
    return data


def _take(data, limit):
    """Up to `limit` images of a finite batched stream, as one array."""
    parts, count = [], 0
    for batch in data:
        parts.append(batch.numpy())
        count += len(parts[-1])
        if count >= limit:
            break
    return np.concatenate(parts)[:limit]
