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
import sys
import time

from harness import DEFAULT_DATA_DIR, load  # harness puts the repository on sys.path
from recipe_speed import images_per_second

STEPS_PER_CALL = 20


def images_per_cpu_second(recipe_name, train_split):
    """recipe_speed's measurement, one epoch, timed by this process's CPU time."""
    rate, _ = images_per_second(recipe_name, train_split, 1, clock=time.process_time, steps_per_call=STEPS_PER_CALL)
    return rate


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
