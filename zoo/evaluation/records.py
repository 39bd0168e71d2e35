"""The evaluations an export's metrics.json keeps: "evaluation" (the latest) and, under
"evaluations", earlier ones that measured something else (other test images, importance
samples or samplers), so one run never erases another's figures. Plain JSON, no TensorFlow:
tools/results_record.py and the results tables read it too."""

SAMPLE_QUALITY_ONLY = "sample quality only"  # an evaluation's "scores" when it scored no test image


def evaluation_key(evaluation):
    """What one evaluation measured: its test images, importance samples, whether it scored
    the test images, and the (sampler, feature space) pairs of its sample-quality figures."""
    quality = evaluation.get("sample_quality") or {}
    return (evaluation["examples"], evaluation.get("samples") or 0, evaluation.get("scores", "test images"),
            tuple(sorted((name, space) for space, measured in quality.items() for name in measured["samplers"])))


def with_evaluation(metrics, evaluation):
    """`metrics` with `evaluation` as its latest; the one it replaces joins "evaluations" unless
    it measured the same, and an earlier one that measured the same is dropped."""
    earlier = list(metrics.get("evaluations", []))
    if "evaluation" in metrics:
        earlier.append(metrics["evaluation"])
    kept = {}
    for item in earlier:  # the latest of each key
        kept[evaluation_key(item)] = item
    kept.pop(evaluation_key(evaluation), None)
    updated = {**metrics, "evaluation": evaluation}
    if kept:
        updated["evaluations"] = [kept[key] for key in sorted(kept, key=repr)]
    return updated
