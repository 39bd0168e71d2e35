"""tf.data pipelines: binarized data for Bernoulli models, [0, 1] pixels for the others."""

import numpy as np
import tensorflow as tf

from zoo.errors import DataError

TEST_BINARIZATION_SEED = 0  # the test set is binarized once, the same way in every run
STATIC_BINARIZATION_SEED = 1


def binarize_once(images, seed):
    """Each pixel set to 1 with probability equal to its [0, 1] value, sampled once."""
    return (np.random.default_rng(seed).random(images.shape, dtype=np.float32) < images).astype(np.float32)


def balanced_subset(labels, count, seed):
    """Indices of `count` labelled examples, the same number of each class, chosen with `seed`
    (sorted): the labelled subsets of semi-supervised training."""
    labels = np.asarray(labels)
    classes = np.unique(labels)
    if count % len(classes):
        raise DataError(f"labelled={count}: a balanced subset needs a multiple of the {len(classes)} classes")
    rng = np.random.default_rng(seed)
    per_class = count // len(classes)
    chosen = []
    for k in classes:
        members = np.flatnonzero(labels == k)
        if len(members) < per_class:
            raise DataError(f"labelled={count}: class {k} has only {len(members)} training images")
        chosen.append(rng.choice(members, per_class, replace=False))
    return np.sort(np.concatenate(chosen))


def train_dataset(split, batch_size, binarization, seed, labels=False):
    """An endless shuffled stream of full batches (of (images, labels) with `labels`); run it
    with steps_per_epoch = len // batch.

    One iterator serves every epoch, so "dynamic" binarization draws new pixels each epoch.
    """
    images = split.scaled()
    if binarization == "static":
        images = binarize_once(images, STATIC_BINARIZATION_SEED)
    data = tf.data.Dataset.from_tensor_slices((images, split.labels.astype(np.int64)) if labels else images)
    data = data.shuffle(len(images), seed=seed, reshuffle_each_iteration=True).repeat()
    data = data.batch(batch_size, drop_remainder=True)
    if binarization == "dynamic":
        def binarized(x):
            return tf.cast(tf.random.uniform(tf.shape(x), seed=seed) < x, tf.float32)

        data = data.map((lambda x, y: (binarized(x), y)) if labels else binarized,
                        num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return shard_by_element(data.prefetch(tf.data.AUTOTUNE))


def shard_by_element(data):
    """Shard by DATA across the workers of a multi-worker strategy: every worker runs the
    same pipeline (same seed, same order) and keeps only its replicas' slices of each global
    batch. The default policy, AUTO, would first look for input files to split, which
    in-memory data has none of, and fall back to DATA with a warning."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return data.with_options(options)


def eval_images(split, binarize):
    """The evaluation images as float32, binarized once with a fixed seed when asked."""
    images = split.scaled()
    return binarize_once(images, TEST_BINARIZATION_SEED) if binarize else images


def eval_dataset(split, batch_size, binarize, labels=False):
    images = eval_images(split, binarize)
    data = tf.data.Dataset.from_tensor_slices((images, split.labels.astype(np.int64)) if labels else images)
    return shard_by_element(data.batch(batch_size))
