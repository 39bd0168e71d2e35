"""Record a `zoo evaluate` result in a shipped version's metrics.json without losing the one
already there: `zoo evaluate` keeps one "evaluation" (the latest), but the docs cite
evaluations of one model on different image counts (the first 500 and all 10,000).

Evaluate into another folder, then record it:

    zoo evaluate saved_models/mnist_mlp_bernoulli/1 --data-dir ../shared/data/mnist --examples 500 \\
        --no-pictures --output-dir /tmp/eval/mnist_mlp_bernoulli
    python tools/results_record.py saved_models/mnist_mlp_bernoulli/1 /tmp/eval/mnist_mlp_bernoulli/metrics.json

The result joins "evaluations" (earlier evaluations, one per image count, importance samples
and sample-quality sampler, sorted by them), replacing one that measured the same; "evaluation"
stays the latest, and a result that measured the same as it is refused here (run `zoo
evaluate` on the version folder itself to replace it). Only metrics.json changes.
"""

import argparse
import json
import pathlib
import sys

from zoo.evaluation.records import evaluation_key as _key


def record(folder, evaluated):
    """Add the "evaluation" of the metrics.json `evaluated` to `folder`/metrics.json's
    "evaluations"; returns its (examples, samples)."""
    target = pathlib.Path(folder) / "metrics.json"
    text = target.read_text()
    metrics = json.loads(text)
    new = json.loads(pathlib.Path(evaluated).read_text())["evaluation"]
    latest = metrics.get("evaluation")
    if latest is not None and _key(latest) == _key(new):
        raise SystemExit(f"{target}: its latest evaluation measured the same ({new['examples']} images, the same "
                         "samples and samplers); run `zoo evaluate` on the version folder to replace it")
    earlier = [e for e in metrics.get("evaluations", []) if _key(e) != _key(new)]
    metrics["evaluations"] = sorted(earlier + [new], key=_key)
    target.write_text(json.dumps(metrics, indent=2, sort_keys=True) + ("\n" if text.endswith("\n") else ""))
    return _key(new)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("version_folder", help="saved_models/<recipe>/<version>")
    parser.add_argument("evaluated", help="the metrics.json that `zoo evaluate --output-dir` wrote")
    args = parser.parse_args(argv)
    examples, samples, _, samplers = record(args.version_folder, args.evaluated)
    print(f"recorded the evaluation on {examples} test images (K={samples}"
          + "".join(f"; {sampler} samples in the {space} space" for sampler, space in samplers)
          + f") in {args.version_folder}/metrics.json; now run `python tools/write_results.py`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
