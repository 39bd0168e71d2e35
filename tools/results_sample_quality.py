"""The sample-quality table of docs/results.md: FID, KID and precision/recall of each shipped
model's samples, per sampler and per feature space, beside the two floors.

`zoo evaluate --sample-quality` writes, in its "evaluation" entry (earlier ones are kept in
"evaluations"), `"sample_quality": {SPACE: {"space", "real", "n_real", "samplers": {NAME:
FIGURES}, "floors": {"training_images" | "reconstructions": FIGURES}}}`, where FIGURES holds
`fid`, `kid`, `kid_std`, `precision`, `recall`, `n_fake`, `n_real`, and "space" is a record
naming the feature network (`network`, `sha256`, and for a domain network its
`test_accuracy`). The floors are not ways of drawing: "training_images" (the dataset's
training images against its test images: what a perfect model would score) and
"reconstructions" (the model's reconstructions of the test images). Every (model, sampler,
space) measured becomes one row; a later measurement of the same triple replaces an earlier one.
"""

FLOORS = {"training_images": "floor: training images", "reconstructions": "floor: test reconstructions"}
HEADER = ("| dataset | model | sampler | space (feature network) | images (drawn vs test) | FID | KID (± std) | "
          "precision | recall |",
          "| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
EMPTY = ("No sample-quality figures are measured yet: `zoo evaluate saved_models/<recipe> --sample-quality` "
         "adds them to the export's `metrics.json`, and `python tools/write_results.py` writes them here.",)


def figures_of(export):
    """{(sampler, space): figures} of `export`, the latest measurement of each pair."""
    found = {}
    for evaluation in export.evaluations():
        for space, measured in (evaluation.get("sample_quality") or {}).items():
            for name, figures in {**measured["samplers"], **measured["floors"]}.items():
                found[(name, space)] = {**figures, "space": measured["space"], "command": evaluation.get("command")}
    return found


def _network(space, figures):
    record = figures.get("space") or {}
    named = record.get("network", space)
    if "test_accuracy" in record:
        named += f", test accuracy {100 * record['test_accuracy']:.2f}%"
    if "sha256" in record:
        named += f", `{record['sha256'][:12]}`"
    return f"{space} ({named})"


def _sampler_order(sampler):
    return (sampler == "reconstructions", sampler == "training_images", sampler != "prior", sampler)


def row(export, sampler, space, figures):
    kid_std = figures.get("kid_std", figures.get("kid_stderr"))
    kid = f"{figures['kid']:.4f}" + (f" ± {kid_std:.4f}" if kid_std is not None else "")
    return (f"| {export.config['train']['dataset']} | `{export.name}` | {FLOORS.get(sampler, sampler)} | "
            f"{_network(space, figures)} | {figures['n_fake']:,} vs {figures['n_real']:,} | {figures['fid']:.2f} | "
            f"{kid} | {figures['precision']:.3f} | {figures['recall']:.3f} |")


def table(latest):
    """The block's lines: one row per (model, sampler, space), grouped by dataset; the
    training-images floor once per dataset and space."""
    rows, floors_shown = [], set()
    for export in sorted(latest.values(), key=lambda e: (e.config["train"]["dataset"], e.name)):
        found = figures_of(export)
        for sampler, space in sorted(found, key=lambda key: (key[1], _sampler_order(key[0]))):
            dataset_floor = (export.config["train"]["dataset"], space)
            if sampler == "training_images":
                if dataset_floor in floors_shown:
                    continue
                floors_shown.add(dataset_floor)
            rows.append(row(export, sampler, space, found[(sampler, space)]))
    return list(HEADER) + rows if rows else list(EMPTY)
