"""Feature spaces for sample quality: where FID, KID and precision/recall measure distances.

Two spaces, each describing itself in every figure it gives (`FeatureSpace.record`):

- "domain": a small conv classifier per dataset, trained once on its training images
  (`tools/train_feature_network.py`) and shipped in `feature_networks/` with a JSON record
  of its SHA-256, test accuracy and training command. Its penultimate dense layer before
  the ReLU (128 values; after it, a third of them are always 0 and the covariance is
  singular) is the feature. Measured offline, comparable only with figures of the same network.
- "inception": Keras' InceptionV3 pool features (2048 values) of images resized to 299x299
  (bilinear), grey repeated to 3 channels, as the reference FID code does; ImageNet weights
  from Keras (online) or a local file. Keras' weights and resize are not the reference TF
  FID graph, so these figures are close to, not equal to, papers' FID.
"""

import hashlib
import json
import os

import numpy as np
import tensorflow as tf
import tf_keras as keras

from zoo.errors import DataError, ZooError, first_line

FEATURE_NETWORKS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "feature_networks")
FEATURE_LAYER = "features"
INCEPTION_SIZE = 299
INCEPTION_NOTOP_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
INCEPTION_NOTOP_URL = ("https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/"
                       + INCEPTION_NOTOP_FILE)
SPACES = ("domain", "inception")


def domain_classifier(image_shape, classes=10):
    """The domain network: three conv blocks, a 128-unit feature layer, class logits.

    Small on purpose (160k weights for 28x28 images, a 0.65 MB file), so it ships in the
    package and gives features for 10,000 images in seconds on a CPU."""
    inputs = keras.Input(image_shape)
    x = inputs
    for block, filters in enumerate((16, 32, 64), start=1):  # names fixed: the weights file is read by name
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"conv_{block}")(x)
        x = keras.layers.MaxPooling2D(padding="same", name=f"pool_{block}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    features = keras.layers.Dense(128, name=FEATURE_LAYER)(x)  # the features: before the ReLU, none dead
    hidden = keras.layers.ReLU(name="features_relu")(features)
    return keras.Model(inputs, keras.layers.Dense(classes, name="logits")(hidden), name="domain_classifier")


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def domain_files(dataset):
    """(weights file, record file) of the shipped domain network of `dataset`."""
    return (os.path.join(FEATURE_NETWORKS_DIR, f"{dataset}.weights.h5"),
            os.path.join(FEATURE_NETWORKS_DIR, f"{dataset}.json"))


def domain_datasets():
    """The datasets that have a shipped domain network."""
    if not os.path.isdir(FEATURE_NETWORKS_DIR):
        return []
    return sorted(name[:-len(".json")] for name in os.listdir(FEATURE_NETWORKS_DIR) if name.endswith(".json"))


class FeatureSpace:
    """Images [N, H, W, C] in [0, 1] -> features [N, d] (float64), in batches."""

    name = "features"
    batch_size = 500

    def __init__(self, network, fingerprint, record):
        self.network, self.fingerprint, self.record = network, fingerprint, record

    @property
    def dimensions(self):
        return int(self.network.output_shape[-1])

    def check(self, images, what):
        """One line for images that are not [N, H, W, C] float pixels in [0, 1]."""
        images = np.asarray(images)
        if images.ndim != 4 or images.shape[-1] not in (1, 3):
            raise DataError(f"{what}: shape {images.shape}; sample quality takes images [N, height, width, "
                            "channels] with 1 or 3 channels" + (" (add a channel axis: x[..., None])"
                                                                 if images.ndim == 3 else ""))
        if not np.issubdtype(images.dtype, np.floating):
            raise DataError(f"{what}: pixels of dtype {images.dtype}; sample quality takes float pixels in [0, 1] "
                            "(scale 8-bit images: x.astype('float32') / 255)")
        if images.size:
            low, high = float(np.min(images)), float(np.max(images))
            if not (np.isfinite(low) and np.isfinite(high)) or low < 0 or high > 1:
                raise DataError(f"{what}: pixels from {low:g} to {high:g}; sample quality takes pixels in [0, 1] "
                                "(scale them, e.g. x / 255)")
        return images

    def prepare(self, batch):
        return batch

    def features(self, images, what="the images"):
        images = self.check(images, what)
        parts = [self.network(self.prepare(tf.convert_to_tensor(images[first:first + self.batch_size], tf.float32)),
                              training=False).numpy()
                 for first in range(0, len(images), self.batch_size)]
        return np.concatenate(parts).astype(np.float64) if parts else np.zeros([0, self.dimensions])


class DomainSpace(FeatureSpace):
    """The penultimate layer of the shipped classifier of one dataset (checked by SHA-256)."""

    name = "domain"

    @classmethod
    def load(cls, dataset):
        weights, record_file = domain_files(dataset)
        if not os.path.exists(record_file):
            raise ZooError(f"no domain feature network for {dataset!r} (there are: {', '.join(domain_datasets())}): "
                           "use --feature-space inception")
        with open(record_file) as file:
            record = json.load(file)
        if not os.path.exists(weights):
            raise ZooError(f"the domain feature network of {dataset} is missing ({weights}): reinstall the zoo")
        found = sha256_of(weights)
        if found != record["sha256"]:
            raise ZooError(f"{weights} has SHA-256 {found[:12]}, not the {record['sha256'][:12]} its record names: "
                           "the file was changed; reinstall the zoo or retrain it with tools/train_feature_network.py")
        classifier = domain_classifier(tuple(record["image_shape"]), record["classes"])
        classifier.load_weights(weights)
        network = keras.Model(classifier.input, classifier.get_layer(FEATURE_LAYER).output)
        return cls(network, found, record)

    def describe(self):
        return {"space": self.name, "network": f"{self.record['dataset']} domain classifier",
                "sha256": self.fingerprint[:12], "test_accuracy": self.record["test_accuracy"],
                "features": self.dimensions, "layer": "penultimate dense layer, before its ReLU"}

    def check(self, images, what):
        images = super().check(images, what)
        shape = tuple(self.record["image_shape"])
        if tuple(images.shape[1:]) != shape:
            raise DataError(f"{what}: images of {'x'.join(map(str, images.shape[1:]))}; the {self.record['dataset']} "
                            f"domain network takes {'x'.join(map(str, shape))} (use --feature-space inception "
                            "for other images)")
        return images


class InceptionSpace(FeatureSpace):
    """InceptionV3's 2048 pool features at 299x299, grey repeated to RGB, pixels scaled to
    [-1, 1] as `keras.applications.inception_v3.preprocess_input` does."""

    name = "inception"
    batch_size = 50

    @classmethod
    def load(cls, weights="imagenet"):
        """`weights`: "imagenet" (Keras downloads them once), a local .h5 file of the no-top
        weights, or None (random weights: for tests)."""
        if weights not in ("imagenet", None):
            if not os.path.isfile(weights):
                raise ZooError(f"--inception-weights {weights}: no such file; download {INCEPTION_NOTOP_URL} "
                               "on a machine that is online and name it here")
            if not is_hdf5(weights):  # before the network is built (seconds)
                raise ZooError(f"--inception-weights {weights} is not an HDF5 weights file: use "
                               f"{INCEPTION_NOTOP_FILE} ({INCEPTION_NOTOP_URL})")
        try:
            network = keras.applications.InceptionV3(include_top=False, pooling="avg", weights=weights,
                                                     input_shape=(INCEPTION_SIZE, INCEPTION_SIZE, 3))
        except Exception as error:  # a failed download or a file that is not these weights
            if weights == "imagenet":
                reason = first_line(error).split(" on http")[0][:120]  # Keras' message repeats the URL
                raise ZooError(f"could not fetch InceptionV3's ImageNet weights ({reason}): offline, "
                               f"download {INCEPTION_NOTOP_FILE} elsewhere and pass --inception-weights FILE") from None
            raise ZooError(f"--inception-weights {weights} is not InceptionV3's no-top weights "
                           f"({first_line(error, 120)}): use {INCEPTION_NOTOP_FILE}") from None
        digest = hashlib.sha256()
        for value in network.get_weights():
            digest.update(np.ascontiguousarray(value).tobytes())
        return cls(network, digest.hexdigest(), {"weights": "random" if weights is None else
                                                 "imagenet (Keras)" if weights == "imagenet" else
                                                 os.path.basename(weights)})

    def describe(self):
        return {"space": self.name, "network": "InceptionV3 (tf_keras.applications), 2048 pool features",
                "weights": self.record["weights"], "sha256": self.fingerprint[:12], "features": self.dimensions,
                "resize": f"bilinear to {INCEPTION_SIZE}x{INCEPTION_SIZE}, grey repeated to RGB"}

    def prepare(self, batch):
        if batch.shape[-1] == 1:
            batch = tf.repeat(batch, 3, axis=-1)
        batch = tf.image.resize(batch, (INCEPTION_SIZE, INCEPTION_SIZE), method="bilinear")
        return keras.applications.inception_v3.preprocess_input(batch * 255.0)


def is_hdf5(path):
    with open(path, "rb") as file:
        return file.read(8) == b"\x89HDF\r\n\x1a\n"


def feature_space(space, dataset=None, inception_weights="imagenet"):
    """The `FeatureSpace` named `space` ("domain": that of `dataset`; "inception"), or
    `space` itself when it is one already."""
    if isinstance(space, FeatureSpace):
        return space
    if space == "domain":
        if dataset is None:
            raise ZooError("the domain feature space needs the dataset's name (mnist, fashion_mnist, digits)")
        return DomainSpace.load(dataset)
    if space == "inception":
        return InceptionSpace.load(inception_weights)
    raise ZooError(f"feature space {space!r}: choose one of {', '.join(SPACES)}")
