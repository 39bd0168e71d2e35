"""Models trained at the same budget on MNIST, scored the same way: each recipe's model (the
recipes share their networks) for the same epochs and seeds, then test -ELBO and the
importance-sampled log p(x) of the same test images (a model without a likelihood: its
reconstruction error), and with `--sample-quality` the FID, KID and precision/recall of each
of its samplers.

    python benchmarks/same_budget.py RECIPE [RECIPE ...] --root DIR [--epochs 30] [--seeds 0]
        [--examples 1000] [--samples 5000] [--sample-quality [--quality-count 10000]]
        [--data-dir ../shared/data/mnist] [--smoke]

Each run is `zoo train RECIPE --epochs E --seed S` (resumable from DIR/<recipe>/seed<S>.work),
exported under DIR/<recipe>/seed<S>/, then `zoo evaluate` of that export on the first
`--examples` test images with K = `--samples` (metrics in DIR/<recipe>/seed<S>/eval/), each in
its own process, one at a time; logs beside them. `--sample-quality` adds a third step per
run: `zoo evaluate --no-likelihood --sample-quality` of `--quality-count` samples from each
sampler against as many test images, in the domain feature space (DIR/<recipe>/seed<S>/quality/). A finished step is skipped, so the same
command resumes. Keep DIR outside the repository: the runs are yours, not the tests'. At the
end the table (mean +- std over the seeds that finished) is printed and written to
DIR/same_budget.md; DIR/same_budget.json holds every run's figures.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

COLUMNS = (  # heading, (which record, key), digits
    ("test -ELBO (all test images)", ("train", "test_neg_elbo"), 2),
    ("-log p(x) <= (IWAE bound)", ("eval", "neg_log_likelihood"), 2),
    ("s.e.", ("eval", "neg_log_likelihood_stderr"), 2),
    ("-ELBO (same images)", ("eval", "neg_elbo"), 2),
    ("KL", ("eval", "kl"), 2),
    ("reconstruction MSE", ("eval", "reconstruction_mse"), 5),
    ("active units", ("eval", "active_units"), 0),
    ("train s", ("train", "train_seconds"), 0),
    ("images/s", ("train", "train_images_per_second"), 0),
)


def run_dir(root, recipe, seed):
    return os.path.join(root, recipe, f"seed{seed}")


def export_metrics(root, recipe, seed):
    return os.path.join(run_dir(root, recipe, seed), recipe, "1", "metrics.json")


def eval_metrics(root, recipe, seed):
    return os.path.join(run_dir(root, recipe, seed), "eval", "metrics.json")


def quality_metrics(root, recipe, seed):
    return os.path.join(run_dir(root, recipe, seed), "quality", "metrics.json")


QUALITY_COLUMNS = (("FID", "fid", 2), ("KID", "kid", 4), ("precision", "precision", 3), ("recall", "recall", 3))


def commands(recipe, seed, root, epochs, examples, samples, data_dir, smoke=False, quality_count=None):
    """(train command, evaluate command, and with `quality_count` the sample-quality command) of one run."""
    zoo = [sys.executable, "-m", "zoo"]
    train = zoo + ["train", recipe, "--seed", str(seed), "--export-dir", run_dir(root, recipe, seed),
                   "--workdir", run_dir(root, recipe, seed) + ".work"]
    train += ["--smoke"] if smoke else ["--epochs", str(epochs)]
    train += ["--data-dir", data_dir] if data_dir else []
    evaluate = zoo + ["evaluate", os.path.dirname(export_metrics(root, recipe, seed)), "--examples", str(examples),
                      "--samples", str(samples), "--no-pictures",
                      "--output-dir", os.path.dirname(eval_metrics(root, recipe, seed))]
    evaluate += ["--data-dir", data_dir] if data_dir else []
    if not quality_count:
        return train, evaluate
    quality = zoo + ["evaluate", os.path.dirname(export_metrics(root, recipe, seed)), "--no-likelihood",
                     "--sample-quality", "--sample-count", str(quality_count), "--examples", str(quality_count),
                     "--no-pictures", "--output-dir", os.path.dirname(quality_metrics(root, recipe, seed))]
    quality += ["--data-dir", data_dir] if data_dir else []
    return train, evaluate, quality


def run_all(recipes, seeds, root, epochs, examples, samples, data_dir, smoke=False, say=print, quality_count=None):
    """Train and evaluate every (recipe, seed) not done yet, seed by seed (with `quality_count`,
    measure its samples too); {(recipe, seed): record}."""
    runs = [(recipe, seed) for seed in seeds for recipe in recipes]
    start = time.perf_counter()
    for number, (recipe, seed) in enumerate(runs, 1):
        steps = zip(("training", "evaluating", "sample quality"),
                    commands(recipe, seed, root, epochs, examples, samples, data_dir, smoke, quality_count),
                    (export_metrics(root, recipe, seed), eval_metrics(root, recipe, seed),
                     quality_metrics(root, recipe, seed)))
        os.makedirs(os.path.join(root, recipe), exist_ok=True)
        for step, command, done in steps:
            if os.path.exists(done):
                continue
            log = f"{run_dir(root, recipe, seed)}.{step.replace(' ', '_')}.log"
            say(f"[{number}/{len(runs)}] {recipe} seed {seed}: {step} (log {log}), "
                f"{time.perf_counter() - start:.0f} s in", flush=True)
            with open(log, "w") as stream:
                status = subprocess.run(command, stdout=stream, stderr=subprocess.STDOUT).returncode
            if status:
                say(f"  failed (exit status {status}); see {log}", flush=True)
                break
    return {run: record(root, *run) for run in runs
            if os.path.exists(eval_metrics(root, *run))
            and (not quality_count or os.path.exists(quality_metrics(root, *run)))}


TRAIN_KEYS = ("command", "epochs", "hardware", "test_neg_elbo", "test_reconstruction", "test_kl", "test_examples",
              "train_seconds", "train_images_per_second")
EVAL_KEYS = ("command", "examples", "samples", "neg_log_likelihood", "neg_log_likelihood_stderr", "neg_elbo",
             "reconstruction", "kl", "gap", "active_units", "reconstruction_mse", "reconstruction_mse_stderr", "seconds")
QUALITY_KEYS = ("fid", "kid", "kid_stderr", "precision", "recall", "n_fake", "clipped_pixels")


def record(root, recipe, seed):
    """The run's figures (and the commands that made them) from its two metrics.json files."""
    with open(export_metrics(root, recipe, seed)) as f:
        train = json.load(f)
    with open(eval_metrics(root, recipe, seed)) as f:
        evaluation = json.load(f)["evaluation"]
    found = {"train": {key: train.get(key) for key in TRAIN_KEYS},
             "eval": {key: evaluation.get(key) for key in EVAL_KEYS}}
    if os.path.exists(quality_metrics(root, recipe, seed)):
        with open(quality_metrics(root, recipe, seed)) as f:
            measured = json.load(f)["evaluation"]["sample_quality"]
        found["quality"] = {space: {"n_real": figures["n_real"],
                                    **{name: {key: drawn.get(key) for key in QUALITY_KEYS}
                                       for name, drawn in {**figures["samplers"],
                                                           **{f"floor: {name}": f for name, f in
                                                              figures["floors"].items()}}.items()}}
                            for space, figures in measured.items()}
    return found


def cell(values, digits):
    values = [v for v in values if v is not None]
    if not values:
        return ""
    spread = f" ± {statistics.stdev(values):.{digits}f}" if len(values) > 1 else ""
    return f"{statistics.mean(values):.{digits}f}{spread}"


def table(results, recipes):
    """Markdown: one row per recipe, mean (± sample std over its seeds)."""
    lines = ["| recipe | seeds | epochs | " + " | ".join(name for name, _, _ in COLUMNS) + " |",
             "| --- " * (len(COLUMNS) + 3) + "|"]
    for recipe in recipes:
        runs = [r for (name, _), r in sorted(results.items()) if name == recipe]
        if runs:
            cells = [cell([r[part][key] for r in runs], digits) for _, (part, key), digits in COLUMNS]
            lines.append(f"| `{recipe}` | {len(runs)} | {runs[0]['train']['epochs']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + quality_table(results, recipes)


def quality_table(results, recipes):
    """Markdown, after the first table: one row per recipe, feature space and sampler (and the
    floors), mean (± std over seeds); empty when no run measured its samples."""
    lines = []
    for recipe in recipes:
        runs = [r["quality"] for (name, _), r in sorted(results.items()) if name == recipe and "quality" in r]
        for space in sorted(runs[0]) if runs else ():
            rows = [name for name in runs[0][space] if name != "n_real"]
            for sampler in rows:
                cells = [cell([run[space][sampler][key] for run in runs if sampler in run[space]], digits)
                         for _, key, digits in QUALITY_COLUMNS]
                lines.append(f"| `{recipe}` | {len(runs)} | {space} | {sampler} | " + " | ".join(cells) + " |")
    if not lines:
        return ""
    return ("\n\n| recipe | seeds | space | sampler | " + " | ".join(name for name, _, _ in QUALITY_COLUMNS) + " |\n"
            + "| --- " * (len(QUALITY_COLUMNS) + 4) + "|\n" + "\n".join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipes", nargs="+")
    parser.add_argument("--root", required=True, help="the runs' folder (outside the repository)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--examples", type=int, default=1000, help="test images scored by `zoo evaluate`")
    parser.add_argument("--samples", type=int, default=5000, help="importance samples per image")
    parser.add_argument("--data-dir", help="MNIST's IDX files (as for zoo train)")
    parser.add_argument("--sample-quality", action="store_true",
                        help="also FID, KID and precision/recall of each sampler's samples (domain features)")
    parser.add_argument("--quality-count", type=int, default=10000,
                        help="samples drawn per sampler, against as many test images (default 10000)")
    parser.add_argument("--smoke", action="store_true", help="the recipes' smoke sizes (checks the script only)")
    args = parser.parse_args(argv)
    root = os.path.abspath(os.path.expanduser(args.root))
    started = time.perf_counter()
    results = run_all(args.recipes, args.seeds, root, args.epochs, args.examples, args.samples, args.data_dir,
                      args.smoke, quality_count=args.quality_count if args.sample_quality else None)
    text = table(results, args.recipes)
    print(text, flush=True)
    with open(os.path.join(root, "same_budget.md"), "w") as f:
        f.write(text + "\n")
    runs = {f"{recipe}/seed{seed}": r for (recipe, seed), r in results.items()}
    path = os.path.join(root, "same_budget.json")
    everything = json.load(open(path)) if os.path.exists(path) else {}
    with open(path, "w") as f:
        json.dump({**everything, **runs}, f, indent=1, sort_keys=True)
    total = len(args.recipes) * len(args.seeds)
    print(f"{len(results)} of {total} runs done; {time.perf_counter() - started:.0f} s; wrote {root}/same_budget.md",
          flush=True)
    return 0 if len(results) == total else 1


if __name__ == "__main__":
    sys.exit(main())
