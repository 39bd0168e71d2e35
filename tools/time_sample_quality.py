"""Time sample quality on this machine: the domain figures of an export's samples against its
test set (cold cache, then warm), and how many images/s InceptionV3 features take.

    nice -n 10 .venv/bin/python tools/time_sample_quality.py saved_models/mnist_mlp_bernoulli \
        --data-dir /work/shared/data/mnist --samples 10000 --inception-images 100

The cache goes to a fresh temporary folder, so the first run computes the test set's
features and the second reads them.
"""

import argparse
import os
import tempfile
import time

import numpy as np

from zoo.data import DATASETS
from zoo.evaluation import features, sample_quality
from zoo.models.kinds import load_preset
from zoo.models.presets import preset_path, read_json


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export")
    parser.add_argument("--data-dir")
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument("--inception-images", type=int, default=0, help="also time Inception (random weights)")
    args = parser.parse_args()
    path = preset_path(args.export)
    dataset = read_json(path, "config.json")["train"]["dataset"]
    model = load_preset(path, compile=False)
    test = DATASETS.get(dataset).load("test", args.data_dir).scaled()
    os.environ["ZOO_CACHE"] = tempfile.mkdtemp(prefix="sample_quality_cache_")
    for run in ("cold cache", "warm cache"):
        start = time.perf_counter()
        result = sample_quality.of_model(model, test, dataset, samples=args.samples)
        print(f"{run}: {time.perf_counter() - start:.1f} s in all {result['seconds']}")
        print("  " + sample_quality.report(result))
    if args.inception_images:
        space = features.InceptionSpace.load(weights=None)
        images = test[:args.inception_images]
        space.features(images[:space.batch_size])  # the first batch traces the graph
        start = time.perf_counter()
        space.features(images)
        seconds = time.perf_counter() - start
        print(f"inception features (random weights): {len(images)} images in {seconds:.1f} s, "
              f"{len(images) / seconds:.1f} images/s")


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    main()
