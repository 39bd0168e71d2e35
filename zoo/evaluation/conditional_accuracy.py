"""Conditional accuracy: does a conditional VAE draw the class it is asked for?

A separate classifier (the "judge"), a small convolutional network trained here on the real
training images and labels, labels samples the model generated for each class; the score is
the share labelled as the class asked for. The judge's own test accuracy is reported beside
it: a score cannot be read above what the judge gets right on real images.
"""

import numpy as np
import tensorflow as tf
import tf_keras as keras

JUDGE_EPOCHS, JUDGE_BATCH = 3, 128
SAMPLES_PER_CLASS = 100


def train_judge(images, labels, classes, test_images=None, test_labels=None, epochs=JUDGE_EPOCHS, seed=0):
    """A conv classifier of `images` [N, H, W, C] in [0, 1] (logits out) and its accuracy on
    the test images (None without them)."""
    keras.utils.set_random_seed(seed)
    judge = keras.Sequential([
        keras.Input(images.shape[1:]),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu"), keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(64, 3, padding="same", activation="relu"), keras.layers.MaxPooling2D(),
        keras.layers.Flatten(), keras.layers.Dense(128, activation="relu"), keras.layers.Dense(classes),
    ], name="judge")
    judge.compile(keras.optimizers.Adam(1e-3),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    judge.fit(images, labels, batch_size=JUDGE_BATCH, epochs=epochs, verbose=0, shuffle=True)
    accuracy = None
    if test_images is not None:
        accuracy = float(np.mean(predict(judge, test_images) == np.asarray(test_labels)))
    return judge, accuracy


def predict(judge, images):
    return np.concatenate([np.argmax(judge(images[i:i + 1000], training=False), axis=-1)
                           for i in range(0, len(images), 1000)])


def conditional_accuracy(model, judge, per_class=SAMPLES_PER_CLASS, seed=0):
    """{"conditional_accuracy": share of samples the judge labels as asked, "per_class": [...]}:
    `per_class` samples (means of p(x|z,y), z ~ p(z) or p(z|y)) for every class."""
    per_class_accuracy = []
    for label in range(model.classes):
        x = np.asarray(model.sample(per_class, seed=seed + label, y=label))
        per_class_accuracy.append(float(np.mean(predict(judge, x) == label)))
    return {"conditional_accuracy": float(np.mean(per_class_accuracy)),
            "conditional_accuracy_per_class": [round(a, 4) for a in per_class_accuracy],
            "conditional_samples_per_class": per_class}


def judged(model, train_split, test_split, seed=0):
    """`conditional_accuracy` by a judge trained on `train_split` (a `zoo.data.Split`), with
    the judge's own accuracy on `test_split` as "judge_test_accuracy"."""
    judge, judge_accuracy = train_judge(train_split.scaled(), train_split.labels, model.classes,
                                        test_split.scaled(), test_split.labels, seed=seed)
    return {**conditional_accuracy(model, judge, seed=seed), "judge_test_accuracy": judge_accuracy}


def classification_error(model, images, labels, batch=1000):
    """Test error of a semi-supervised model's classifier q(y|x): argmax against `labels`."""
    predicted = np.concatenate([tf.argmax(model.classify(images[i:i + batch]), axis=-1).numpy()
                                for i in range(0, len(images), batch)])
    return float(np.mean(predicted != np.asarray(labels)))
