"""tf.data pipelines: binarized data for Bernoulli models, [0, 1] pixels for the others."""

import numpy as np
import tensorflow as tf

TEST_BINARIZATION_SEED = 0  # the test set is binarized once, the same way in every run
STATIC_BINARIZATION_SEED = 1


def binarize_once(images, seed):
    """Each pixel set to 1 with probability equal to its [0, 1] value, sampled once."""
    return (np.random.default_rng(seed).random(images.shape, dtype=np.float32) < images).astype(np.float32)


def train_dataset(split, batch_size, binarization, seed):
    """An endless shuffled stream of full batches; run it with steps_per_epoch = len // batch.

    One iterator serves every epoch, so "dynamic" binarization draws new pixels each epoch.
    """
    images = split.scaled()
    if binarization == "static":
        images = binarize_once(images, STATIC_BINARIZATION_SEED)
    data = tf.data.Dataset.from_tensor_slices(images)
    data = data.shuffle(len(images), seed=seed, reshuffle_each_iteration=True).repeat()
    data = data.batch(batch_size, drop_remainder=True)
    if binarization == "dynamic":
        data = data.map(lambda x: tf.cast(tf.random.uniform(tf.shape(x), seed=seed) < x, tf.float32),
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


def eval_dataset(split, batch_size, binarize):
    return shard_by_element(tf.data.Dataset.from_tensor_slices(eval_images(split, binarize)).batch(batch_size))
