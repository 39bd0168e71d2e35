"""What checking every batch costs the zoo (issue 25: at most 3% of images/s): the MLP
benchmark's zoo side (`mnist_mlp_bernoulli` with the benchmark's overrides, resident images,
100 steps per XLA call). Two models, one with the checks and one without, are compiled
once; then each pair of measurements is one epoch of each, back to back (which goes first
alternates), so that a pair's two epochs see the same machine. Printed: the median and
the spread of the pairs' ratios of images/s, also per CPU-second of the process (which
other jobs on the cores move less than wall time), and the load of every epoch.

    python benchmarks/check_cost.py [--pairs 9] [--tf-data] [--data-dir DIR] [--smoke]

`--tf-data` measures the path that checks inside each step instead (a `tf.data` pipeline,
100 XLA-compiled steps per call: the ablation's third row), where a bad batch can come.
"""

import statistics
import sys
import time

import tf_keras as keras

from harness import RECIPES, build, load, parse_args, precision_policy, zoo_data, zoo_overrides
from load import Measured

RECIPE = "mnist_mlp_bernoulli"


def main():
    sys.argv, pairs = pairs_argument(sys.argv)
    streamed = "--tf-data" in sys.argv
    sys.argv = [arg for arg in sys.argv if arg != "--tf-data"]
    args = parse_args("the cost of checking every batch (zoo side of the MLP benchmark)")
    train_split, _ = load(args.data_dir, args.smoke)
    recipe = RECIPES.get(RECIPE).with_overrides(zoo_overrides(args))
    models = {checks: compiled(recipe, args, checks) for checks in (True, False)}
    steps = len(train_split.images) // args.batch_size
    examples = steps * args.batch_size
    if streamed:
        data = zoo_data.train_dataset(train_split, args.batch_size, recipe.train.binarization, recipe.train.seed)
    else:
        data = zoo_data.ResidentImages(train_split, args.batch_size, recipe.train.binarization, recipe.train.seed)
    print(f"{'tf.data' if streamed else 'resident images'}, {steps} steps of {args.batch_size} per epoch", flush=True)
    for model in models.values():  # compiled and warmed up: one epoch each, not measured
        model.fit(data, epochs=1, steps_per_epoch=steps, verbose=0)
    ratios, cpu_ratios, loaded = [], [], 0
    for pair in range(pairs):
        rates, cpu_rates = {}, {}
        for checks in ((True, False) if pair % 2 == 0 else (False, True)):
            model = models[checks]
            with Measured() as measured:
                start = time.perf_counter()
                model.fit(data, initial_epoch=model.epochs_done, epochs=model.epochs_done + 1, steps_per_epoch=steps,
                          verbose=0)
                seconds = time.perf_counter() - start
            model.epochs_done += 1
            rates[checks] = examples / seconds
            cpu_rates[checks] = examples / measured.result.own_seconds if measured.result else float("nan")
            loaded += bool(measured.result and measured.result.loaded)
            print(f"  pair {pair + 1}, checks {'on ' if checks else 'off'}: {rates[checks]:,.0f} images/s, "
                  f"{cpu_rates[checks]:,.0f} per CPU-second ({measured.result})", flush=True)
        ratios.append(rates[True] / rates[False])
        cpu_ratios.append(cpu_rates[True] / cpu_rates[False])
        print(f"pair {pair + 1}: images/s with/without checks {ratios[-1]:.4f}; per CPU-second "
              f"{cpu_ratios[-1]:.4f}", flush=True)
    for what, values in (("images/s", ratios), ("images per CPU-second", cpu_ratios)):
        print(f"checks cost {1 - statistics.median(values):+.2%} of {what} (median of {pairs} pairs; ratios from "
              f"{min(values):.4f} to {max(values):.4f})", flush=True)
    print(f"{loaded} of {2 * pairs} epochs under load (other processes held the cores)" if loaded
          else "no epoch under load", flush=True)


def compiled(recipe, args, checks):
    keras.utils.set_random_seed(recipe.train.seed)
    with precision_policy(args.precision):
        model = build(recipe.model, name=recipe.name)
        model.compile(keras.optimizers.Adam(recipe.train.learning_rate), jit_compile=True, steps_per_execution=100)
    model._check_batches = checks  # off only here, to measure what the checks cost
    model.epochs_done = 1  # after the warm-up epoch
    return model


def pairs_argument(argv):
    """--pairs N out of argv (the rest are the harness' own options)."""
    if "--pairs" in argv:
        at = argv.index("--pairs")
        return argv[:at] + argv[at + 2:], int(argv[at + 1])
    return argv, 9


if __name__ == "__main__":
    main()
