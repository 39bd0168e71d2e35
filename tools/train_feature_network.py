"""Train the domain feature network of one dataset, once, and write it into the package.

    nice -n 10 .venv/bin/python tools/train_feature_network.py --dataset mnist --data-dir /work/shared/data/mnist
    nice -n 10 .venv/bin/python tools/train_feature_network.py --dataset fashion_mnist --data-dir /work/shared/data/fashion_mnist
    nice -n 10 .venv/bin/python tools/train_feature_network.py --dataset digits

Writes zoo/evaluation/feature_networks/<dataset>.weights.h5 (the classifier of
`zoo.evaluation.features.domain_classifier`) and <dataset>.json: its SHA-256 (checked when
it is loaded), its accuracy on the test split, how it was trained and this command. Figures
measured with another network (another SHA-256) are not comparable with the shipped ones.
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import tf_keras as keras

from zoo.data import DATASETS
from zoo.evaluation import features

# 1,500 digits are few: more epochs for the same few seconds
EPOCHS = {"digits": 60}
DEFAULT_EPOCHS, BATCH, LEARNING_RATE = 8, 128, 1e-3


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True, choices=("mnist", "fashion_mnist", "digits"))
    parser.add_argument("--data-dir", help="the IDX files (not needed for digits)")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output-dir", default=features.FEATURE_NETWORKS_DIR)
    args = parser.parse_args(argv)
    epochs = args.epochs or EPOCHS.get(args.dataset, DEFAULT_EPOCHS)
    source = DATASETS.get(args.dataset)
    train, test = source.load("train", args.data_dir), source.load("test", args.data_dir)
    classes = int(train.labels.max()) + 1
    keras.utils.set_random_seed(args.seed)
    classifier = features.domain_classifier(source.image_shape, classes)
    classifier.compile(keras.optimizers.Adam(LEARNING_RATE),
                       keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    start = time.perf_counter()
    classifier.fit(train.scaled(), train.labels, batch_size=BATCH, epochs=epochs, shuffle=True, verbose=2)
    seconds = time.perf_counter() - start
    logits = classifier.predict(test.scaled(), batch_size=1000, verbose=0)
    accuracy = float(np.mean(np.argmax(logits, axis=-1) == test.labels))
    os.makedirs(args.output_dir, exist_ok=True)
    weights, record_file = (os.path.join(args.output_dir, os.path.basename(path))
                            for path in features.domain_files(args.dataset))
    shipped = features.domain_classifier(source.image_shape, classes)
    shipped.set_weights(classifier.get_weights())  # without the optimizer's state, which the file would carry
    shipped.save_weights(weights)
    record = {
        "dataset": args.dataset, "image_shape": list(source.image_shape), "classes": classes,
        "sha256": features.sha256_of(weights), "test_accuracy": round(accuracy, 4),
        "test_images": len(test.labels), "train_images": len(train.labels),
        "training": {"epochs": epochs, "batch_size": BATCH, "optimizer": f"Adam({LEARNING_RATE})",
                     "loss": "softmax cross-entropy on the labels", "pixels": "grey levels scaled to [0, 1]",
                     "seed": args.seed, "seconds": round(seconds, 1)},
        "architecture": "conv3x3(16)-pool-conv3x3(32)-pool-conv3x3(64)-pool-dense(128: the features)-relu-dense(classes)",
        "weights": classifier.count_params(),
        "command": " ".join(["python", "tools/train_feature_network.py", *(argv or sys.argv[1:])]),
    }
    with open(record_file, "w") as file:
        json.dump(record, file, indent=2)
        file.write("\n")
    print(f"{args.dataset}: test accuracy {accuracy:.4f}, {seconds:.0f} s, {os.path.getsize(weights)} bytes, "
          f"SHA-256 {record['sha256'][:12]}")


if __name__ == "__main__":
    main()
