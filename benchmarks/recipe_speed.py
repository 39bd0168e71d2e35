"""Training images/s of recipes on MNIST, each on the path `zoo train` takes (resident
images, 100 steps per compiled call), beside the first recipe named (the plain VAE).

    python benchmarks/recipe_speed.py RECIPE [RECIPE ...] [--epochs 1] [--data-dir DIR]

Each recipe's model is built as the recipe says (batch size included), compiled and trained
for `--epochs` epochs; each call of the compiled loop (100 steps) is timed. The first call
traces and compiles, so the figure is the median of the later calls; the machine's load
over the run (the CPU time other processes took, `load.py`) is printed beside it, and a
figure measured while others held more than 0.2 of a core is marked as not a result.
"""

import argparse
import os
import statistics
import sys
import time

import tf_keras as keras

from harness import DEFAULT_DATA_DIR, load  # harness puts the repository on sys.path
from load import Measured
from recipes import RECIPES
from zoo import data as zoo_data
from zoo.models.builder import build

STEPS_PER_CALL = 100


class CallTimes(keras.callbacks.Callback):
    """Seconds of each call of the compiled training loop, by `clock` (wall time by default;
    `time.process_time` for this process's CPU time)."""

    def __init__(self, clock=time.perf_counter):
        super().__init__()
        self.clock, self.seconds = clock, []

    def on_train_batch_begin(self, batch, logs=None):
        self.start = self.clock()

    def on_train_batch_end(self, batch, logs=None):
        self.seconds.append(self.clock() - self.start)


def images_per_second(recipe_name, train_split, epochs, clock=time.perf_counter, steps_per_call=STEPS_PER_CALL):
    """(images per second of `clock` over the calls after the first, the load during the run)."""
    recipe = RECIPES.get(recipe_name)
    config = recipe.train
    keras.utils.set_random_seed(config.seed)
    model = build(recipe.model, name=recipe.name)
    model.compile(keras.optimizers.Adam(config.learning_rate), jit_compile=config.jit_compile,
                  steps_per_execution=steps_per_call)
    data = zoo_data.ResidentImages(train_split, config.batch_size, config.binarization, config.seed)
    calls = CallTimes(clock)
    with Measured() as measured:
        model.fit(data, epochs=epochs, callbacks=[calls], verbose=0)
    full = calls.seconds[1:]  # the first call traces and compiles
    return steps_per_call * config.batch_size / statistics.median(full), measured.result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipes", nargs="+")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--data-dir", default=os.environ.get("ZOO_DATA_DIR", DEFAULT_DATA_DIR))
    args = parser.parse_args(argv)
    train_split, _ = load(args.data_dir)
    print("| recipe | images/s | vs the first | load |\n| --- | ---: | ---: | --- |", flush=True)
    first = None
    for name in args.recipes:
        rate, during = images_per_second(name, train_split, args.epochs)
        first = first or rate
        loaded = during is not None and during.loaded
        print(f"| `{name}` | {rate:,.0f} | {rate / first:.2f}x | {during or 'not measured'}"
              f"{': LOADED, not a result' if loaded else ''} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
