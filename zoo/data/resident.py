"""Training images kept on the device, batched inside the compiled training loop.

`model.fit(ResidentImages(split, ...))` trains without a tf.data pipeline: the images stay
on the device as one uint8 tensor, each epoch is shuffled there once, and every step
takes its batch (and draws its binarization) inside the XLA-compiled multi-step loop of
`zoo.models.compiled_loop`, so no Python and no host copy runs per batch. Which images a step
sees depends only on the seed and the step number (the optimizer's `iterations`), so a
run restored from a checkpoint continues from the same data position.

With `labels=True` each batch is (images, labels), for conditional models. With
`labelled` (indices of the images whose labels may be used, for the semi-supervised M2)
every label outside that subset is hidden (-1), and each batch gets `labelled_batch_size`
more images drawn from the labelled subset, so a few labels are seen at every step;
`labelled_shift` moves those by up to that many pixels (data augmentation of the few labels).
"""

import numpy as np
import tensorflow as tf

from zoo.data.pipeline import STATIC_BINARIZATION_SEED, binarize_once
from zoo.errors import DataError

BINARIZATION_STREAM, SHUFFLE_STREAM, LABELLED_STREAM, SHIFT_STREAM = 1, 2, 4, 5  # stateless-seed streams
UNLABELLED = -1


class ResidentImages:
    """A training split held on the device for `model.fit`.

    Args:
        split: a `zoo.data.Split` (integer pixels in 0..levels-1).
        batch_size: images per step; each epoch is len(split) // batch_size full batches.
        binarization: "dynamic" (Bernoulli draws at every step), "static" (drawn once) or
            "none" (pixels scaled to [0, 1]).
        seed: seeds the shuffles and the dynamic binarization.
        labels: give (images, labels) batches (the split must have labels).
        labelled: indices of the images whose labels are known (semi-supervised training);
            the others' labels are -1.
        labelled_batch_size: labelled images added to each batch when `labelled` is given.
        labelled_shift: move each labelled image by a random whole number of pixels in
            -shift..shift along each axis (zeros fill in), fresh at every step; 0: none.

    Example:
        model.fit(ResidentImages(split, 128, "dynamic", seed=0), epochs=2)
    """

    def __init__(self, split, batch_size, binarization="dynamic", seed=0, labels=False, labelled=None,
                 labelled_batch_size=100, labelled_shift=0):
        self.steps_per_epoch = len(split.images) // batch_size
        if self.steps_per_epoch == 0:
            raise DataError(f"batch_size {batch_size} is larger than the {len(split.images)} "
                            "training images")
        self.batch_size, self.binarization, self.seed = batch_size, binarization, seed
        if binarization == "static":
            pixels, self.scale = binarize_once(split.scaled(), STATIC_BINARIZATION_SEED), 1.0
        else:
            pixels, self.scale = split.images, 1.0 / (split.levels - 1)
        pixels = np.asarray(pixels, np.uint8)
        self.image_shape = pixels.shape[1:]
        self.images = tf.Variable(pixels, trainable=False, name="resident_images")
        # One epoch's batches, [steps, batch, H, W, C]: a step takes its batch with a scalar
        # gather, which XLA does quickly without treating the step number as a constant.
        self.shuffled = tf.Variable(
            tf.reshape(pixels[:len(self)], [self.steps_per_epoch, batch_size, *self.image_shape]),
            trainable=False, name="resident_batches")
        self.shuffled_epoch = tf.Variable(-1, dtype=tf.int64, trainable=False, name="shuffled_epoch")
        self.labels = self.labelled_images = None
        if labels or labelled is not None:
            if split.labels is None:
                raise DataError("this model needs labels and the training images have none")
            known = np.asarray(split.labels, np.int64)
            if labelled is not None:  # the unlabelled part of each batch: every image, labels hidden
                labelled = np.asarray(labelled, np.int64)
                self.labelled_images = tf.constant(pixels[labelled])
                self.labelled_labels = tf.constant(known[labelled])
                self.labelled_batch_size, self.labelled_shift = labelled_batch_size, labelled_shift
                known = np.full_like(known, UNLABELLED)
            self.labels = tf.Variable(known, trainable=False, name="resident_labels")
            self.shuffled_labels = tf.Variable(
                tf.reshape(known[:len(self)], [self.steps_per_epoch, batch_size]), trainable=False,
                name="resident_batch_labels")

    def sample_batch(self, size=64):
        """A few training images as the model will see them (before dynamic binarization),
        to check against the model before any step."""
        return self.images[:size].numpy().astype(np.float32) * self.scale

    def __len__(self):
        return self.steps_per_epoch * self.batch_size

    def shuffle_for(self, step):
        """Make `shuffled` hold the batches of `step`'s epoch (a no-op unless the epoch
        changed). Runs outside XLA, where a large gather is fast (inside it is slow on CPU)."""
        epoch = step // self.steps_per_epoch

        def reshuffle():
            order = tf.random.experimental.stateless_shuffle(
                tf.range(tf.shape(self.images, out_type=tf.int64)[0]), seed=self.seed_for(SHUFFLE_STREAM, epoch))
            self.shuffled.assign(tf.reshape(tf.gather(self.images, order[:len(self)]), tf.shape(self.shuffled)))
            if self.labels is not None:
                self.shuffled_labels.assign(tf.reshape(tf.gather(self.labels, order[:len(self)]),
                                                       tf.shape(self.shuffled_labels)))
            self.shuffled_epoch.assign(epoch)
            return tf.constant(True)

        return tf.cond(tf.equal(epoch, self.shuffled_epoch), lambda: tf.constant(False), reshuffle)

    def batch(self, step, alg="auto_select"):
        """The batch of `step` (an int64 scalar): float32 images, binarized afresh if
        "dynamic"; with labels, (images, int64 labels).

        Pass alg="threefry" inside XLA on CPU: it draws ~30x faster there than the default
        (which it cannot run outside XLA).
        """
        x = tf.gather(self.shuffled, step % self.steps_per_epoch)
        if self.labels is None:
            return self._pixels(x, step, alg)
        y = tf.gather(self.shuffled_labels, step % self.steps_per_epoch)
        if self.labelled_images is not None:
            chosen = tf.random.stateless_uniform([self.labelled_batch_size], self.seed_for(LABELLED_STREAM, step),
                                                 maxval=tf.shape(self.labelled_labels, out_type=tf.int64)[0],
                                                 dtype=tf.int64, alg=alg)
            extra = tf.gather(self.labelled_images, chosen)
            if self.labelled_shift:
                extra = shifted(extra, self.labelled_shift, self.seed_for(SHIFT_STREAM, step), alg)
            x = tf.concat([x, extra], 0)
            y = tf.concat([y, tf.gather(self.labelled_labels, chosen)], 0)
        return self._pixels(x, step, alg), y

    def _pixels(self, x, step, alg):
        x = tf.cast(x, tf.float32) * self.scale
        if self.binarization == "dynamic":
            noise = tf.random.stateless_uniform(tf.shape(x), seed=self.seed_for(BINARIZATION_STREAM, step), alg=alg)
            x = tf.cast(noise < x, tf.float32)
        return x

    def seed_for(self, stream, counter, dtype=tf.int64):
        """The stateless seed of draw `counter` (a step or epoch) in `stream`: streams keep
        shuffles, binarization and latent draws independent of one another."""
        return tf.stack([tf.constant((stream * 1000003 + self.seed) % 2**31, dtype), tf.cast(counter, dtype)])

    def placeholder(self):
        """What `fit` iterates over: nothing (the compiled loop reads the images itself)."""
        return tf.data.Dataset.from_tensors(tf.zeros([0])).repeat()


def shifted(images, shift, seed, alg="auto_select"):
    """`images` [B, H, W, C], each moved by its own random (dy, dx) in -shift..shift pixels,
    zeros filling in; gathers only, so it runs inside XLA."""
    count, height, width = tf.shape(images)[0], images.shape[1], images.shape[2]
    offsets = tf.random.stateless_uniform([2, count], seed, minval=0, maxval=2 * shift + 1, dtype=tf.int32, alg=alg)
    padded = tf.pad(images, [[0, 0], [shift, shift], [shift, shift], [0, 0]])
    rows = tf.range(height)[None] + offsets[0][:, None]  # [B, H] into the padded rows
    columns = tf.range(width)[None] + offsets[1][:, None]
    return tf.gather(tf.gather(padded, rows, axis=1, batch_dims=1), columns, axis=2, batch_dims=1)
