"""What checking every batch costs the zoo (issue 25: at most 3% of images/s): the MLP
benchmark's zoo side (`mnist_mlp_bernoulli`, resident images, 100 steps per XLA call),
trained in interleaved pairs of runs with and without the checks, each run a fresh model;
the median and the spread of the pairs' ratios of last-epoch images/s, and each run's load;
also images per CPU-second of the process, which other jobs on the cores move less.

    python benchmarks/check_cost.py [--pairs 5] [--epochs 2] [--data-dir DIR] [--smoke]
"""

import statistics
import sys

from harness import EpochTimer, load, parse_args, train_zoo

RECIPE = "mnist_mlp_bernoulli"


def main():
    sys.argv, pairs = pairs_argument(sys.argv)
    args = parse_args("the cost of checking every batch (zoo side of the MLP benchmark)")
    train_split, test_split = load(args.data_dir, args.smoke)
    examples = len(train_split.images) // args.batch_size * args.batch_size
    ratios, cpu_ratios, loaded = [], [], 0
    for pair in range(pairs):
        rates, cpu_rates = {}, {}
        for checks in ((True, False) if pair % 2 == 0 else (False, True)):  # alternate which goes first
            timer = EpochTimer(examples, f"pair {pair + 1}, checks {'on' if checks else 'off'}")
            seconds, _, _ = train_zoo(RECIPE, train_split, test_split, args, checks=checks, timer=timer,
                                      label=timer.label)
            rates[checks] = examples / seconds[-1]
            last = timer.loads[-1]
            loaded += bool(last and last.loaded)
            cpu_rates[checks] = examples / last.own_seconds if last and last.own_seconds else float("nan")
        ratios.append(rates[True] / rates[False])
        cpu_ratios.append(cpu_rates[True] / cpu_rates[False])
        print(f"pair {pair + 1}: with checks {rates[True]:,.0f} images/s, without {rates[False]:,.0f}: "
              f"{ratios[-1]:.4f}; per CPU-second {cpu_rates[True]:,.0f} vs {cpu_rates[False]:,.0f}: "
              f"{cpu_ratios[-1]:.4f}", flush=True)
    for what, values in (("images/s", ratios), ("images per CPU-second", cpu_ratios)):
        print(f"checks cost {1 - statistics.median(values):+.2%} of {what} (median of {pairs} pairs; ratios from "
              f"{min(values):.4f} to {max(values):.4f})", flush=True)
    print(f"{loaded} of {2 * pairs} runs under load (other processes held the cores): the wall-time figure is "
          "not a result" if loaded else "no run under load", flush=True)


def pairs_argument(argv):
    """--pairs N out of argv (the rest are the harness' own options)."""
    if "--pairs" in argv:
        at = argv.index("--pairs")
        return argv[:at] + argv[at + 2:], int(argv[at + 1])
    return argv, 5


if __name__ == "__main__":
    main()
