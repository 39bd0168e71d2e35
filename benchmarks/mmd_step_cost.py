"""Training images per CPU-second of recipes on MNIST, beside the first recipe named: the
path `zoo train` takes (resident images, compiled calls of steps), timed by this process's
CPU time, not the wall clock, so that a machine other jobs load gives usable ratios.

    python benchmarks/mmd_step_cost.py RECIPE [RECIPE ...] [--images 12000] [--data-dir DIR]

Each recipe's model is built as the recipe says, compiled (`jit_compile`, 20 steps per call)
and trained for one epoch over the first `--images` training images; the figure is the
median over the calls after the first (which compiles) of images / CPU seconds. CPU time
still rises when other jobs share the cores (caches, frequency): the ratios are the result.
"""

import argparse
import dataclasses
import os
import statistics
import sys
import time

import tf_keras as keras

from harness import DEFAULT_DATA_DIR, load  # harness puts the repository on sys.path
from recipes import RECIPES
from zoo import data as zoo_data
from zoo.models.builder import build

STEPS_PER_CALL = 20


class CallCPUTimes(keras.callbacks.Callback):
    """CPU seconds of this process in each call of the compiled training loop."""

    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_train_batch_begin(self, batch, logs=None):
        self.start = time.process_time()

    def on_train_batch_end(self, batch, logs=None):
        self.seconds.append(time.process_time() - self.start)


def images_per_cpu_second(recipe_name, train_split):
    recipe = RECIPES.get(recipe_name)
    config = recipe.train
    keras.utils.set_random_seed(config.seed)
    model = build(recipe.model, name=recipe.name)
    model.compile(keras.optimizers.Adam(config.learning_rate), jit_compile=config.jit_compile,
                  steps_per_execution=STEPS_PER_CALL)
    calls = CallCPUTimes()
    model.fit(zoo_data.ResidentImages(train_split, config.batch_size, config.binarization, config.seed),
              epochs=1, callbacks=[calls], verbose=0)
    return STEPS_PER_CALL * config.batch_size / statistics.median(calls.seconds[1:])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipes", nargs="+")
    parser.add_argument("--images", type=int, default=12000)
    parser.add_argument("--data-dir", default=os.environ.get("ZOO_DATA_DIR", DEFAULT_DATA_DIR))
    args = parser.parse_args(argv)
    train_split, _ = load(args.data_dir)
    train_split = dataclasses.replace(train_split, images=train_split.images[:args.images], labels=None)
    print("| recipe | training images per CPU-second | vs the first |\n| --- | ---: | ---: |", flush=True)
    first = None
    for name in args.recipes:
        rate = images_per_cpu_second(name, train_split)
        first = first or rate
        print(f"| `{name}` | {rate:,.0f} | {rate / first:.2f}x |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
