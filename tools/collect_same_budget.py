"""Copy finished same-budget runs into benchmarks/results/same_budget_mnist.json, which
tools/write_results.py turns into docs/results.md's [same_budget] and [same_budget_quality]
tables. Runs are often made under several roots (one per helper or budget), so this reads
each RECIPE's run under each ROOT with `benchmarks/same_budget.py`'s `record` (never its
training): a run counts once its eval/metrics.json exists, with its sample quality when
quality/metrics.json exists too. A recipe found under several roots: the last root wins.

    python tools/collect_same_budget.py --root ~/same_budget28 [--root DIR ...] [--seeds 0]

Each ROOT may hold DIR/<recipe>/seed<S>/ (same_budget.py --root DIR) or
DIR/<recipe>/<recipe>/seed<S>/ (--root DIR/<recipe>); both are read.
"""

import argparse
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from same_budget import eval_metrics, record  # noqa: E402  (the benchmark's reader, not its runner)

FILE = ROOT / "benchmarks/results/same_budget_mnist.json"


def finished_runs(root, seeds):
    """{"recipe/seedS": record} of every run under `root` whose evaluation is written."""
    root, found = pathlib.Path(root).expanduser(), {}
    for folder in sorted(path for path in root.iterdir() if path.is_dir()) if root.is_dir() else ():
        recipe = folder.name
        for base in (root, folder):
            for seed in seeds:
                if pathlib.Path(eval_metrics(str(base), recipe, seed)).exists():
                    found[f"{recipe}/seed{seed}"] = record(str(base), recipe, seed)
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", action="append", required=True, help="a same_budget.py --root (repeatable)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args(argv)
    runs = json.loads(FILE.read_text()) if FILE.exists() else {}
    for root in args.root:
        for name, run in finished_runs(root, args.seeds).items():
            print(f"{name}: {run['train']['epochs']} epochs{', sample quality' if 'quality' in run else ''} ({root})")
            runs[name] = run
    FILE.write_text(json.dumps(runs, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
