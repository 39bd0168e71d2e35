"""The shipped exports as the results tables and model cards see them: each version folder's
metrics.json and config.json, which versions are shipped, and a row template filled from
them (every figure read from metrics.json, so none is typed by hand)."""

import dataclasses
import decimal
import json
import math
import pathlib
import re
import string
import subprocess

from zoo.evaluation.records import SAMPLE_QUALITY_ONLY


class MissingFigure(Exception):
    """A table asks for a figure that no shipped export's metrics.json holds."""


@dataclasses.dataclass(frozen=True)
class Export:
    """One version folder: its recipe name, version, metrics.json and config.json."""
    name: str
    version: int
    folder: pathlib.Path
    metrics: dict
    config: dict

    def evaluations(self):
        """Every `zoo evaluate` result kept: "evaluations" (earlier ones on other image counts,
        sample sizes or samplers, recorded by tools/results_record.py), then "evaluation", the
        latest."""
        latest = [self.metrics["evaluation"]] if "evaluation" in self.metrics else []
        return list(self.metrics.get("evaluations", [])) + latest

    def evaluation(self, examples=None, samples=None):
        """The latest evaluation on `examples` test images with `samples` importance samples
        (None: any)."""
        found = [e for e in self.evaluations() if e.get("scores") != SAMPLE_QUALITY_ONLY
                 and examples in (None, e.get("examples")) and samples in (None, e.get("samples"))]
        if not found:
            raise MissingFigure(f"{self.name}/{self.version}: no evaluation on {examples or 'any number of'} "
                                f"test images{f' with K={samples}' if samples else ''} in metrics.json")
        return found[-1]


def _read_json(path):
    with open(path) as f:
        return json.load(f)


def _tracked_metrics(saved_models):
    """Paths of the metrics.json files git tracks under `saved_models`, or None outside a git
    checkout (a user's own versions 2, 3, ... are git-ignored and never reach the docs)."""
    try:
        listed = subprocess.run(["git", "ls-files", "--", "*/*/metrics.json"], cwd=saved_models,
                                capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    if listed.returncode != 0 or not listed.stdout.strip():
        return None
    return {(saved_models / line).resolve() for line in listed.stdout.split()}


def shipped_versions(saved_models):
    """Every shipped version folder under `saved_models`, sorted by name then version."""
    saved_models = pathlib.Path(saved_models)
    tracked = _tracked_metrics(saved_models)
    exports = []
    for metrics in sorted(saved_models.glob("*/*/metrics.json")):
        folder = metrics.parent
        if not folder.name.isdigit() or (tracked is not None and metrics.resolve() not in tracked):
            continue
        exports.append(Export(folder.parent.name, int(folder.name), folder, _read_json(metrics),
                              _read_json(folder / "config.json")))
    return sorted(exports, key=lambda e: (e.name, e.version))


def latest_versions(versions):
    """name -> the highest of `versions` (sorted by name and version) of each model."""
    return {export.name: export for export in versions}


class FigureFormatter(string.Formatter):
    """str.format over dotted paths into an export: "t.test_neg_elbo" (metrics.json),
    "c.train.epochs" (config.json), "e.neg_log_likelihood" (the row's evaluation) and
    "e10000.neg_log_likelihood" (the evaluation on 10,000 test images); an evaluation also
    gives "images" ("all 10,000", "first 1,000") and "latents". Formats of our own: `pct` (a
    share as 95.2%), `pct2` (5.67%), `s` (whole seconds: "245 s"), `range_pct` (a list of
    shares as "89-100%"), `unused` (a count of dead codes: "none unused"), `kl_desc` (KL per latent, largest first)."""

    def get_field(self, field_name, args, kwargs):
        export, (head, *path) = kwargs["export"], field_name.split(".")
        if head == "t":
            value = export.metrics
        elif head == "c":
            value = export.config
        elif re.fullmatch(r"e\d*", head):
            examples = int(head[1:]) if head[1:] else kwargs["examples"]
            value = _with_counts(export.evaluation(examples, kwargs["samples"] if head == "e" else None), export)
        else:
            raise KeyError(f"{field_name!r}: a field starts with t., c., e. or e<images>.")
        for key in path:
            if not isinstance(value, dict) or key not in value:
                raise MissingFigure(f"{export.name}/{export.version}: metrics.json has no {field_name!r}")
            value = value[key]
        return value, field_name

    def format_field(self, value, spec):
        if value is None:
            raise MissingFigure(f"a figure is null where {spec or 'a value'} was expected")
        if spec == "pct":
            return f"{100 * value:.1f}%"
        if spec == "pct2":
            return f"{100 * value:.2f}%"
        if spec == "s":
            return f"{decimal.Decimal(value).quantize(1, decimal.ROUND_HALF_UP)} s"  # 244.5 s -> 245 s, as written
        if spec == "unused":
            return f"{value} unused" if value else "none unused"
        if spec == "kl_desc":
            return _kl_descending(value)
        if spec == "range_pct":
            return f"{100 * min(value):.0f}-{100 * max(value):.0f}%"
        return format(value, spec)


FORMATTER = FigureFormatter()


NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _kl_descending(kls, floor=0.01):
    """KL per latent, largest first: "2.2, 2.1, 0.6, then four under 0.006" (those below
    `floor` counted, under their largest rounded up to 3 decimals)."""
    kls = sorted(kls, reverse=True)
    shown, rest = [k for k in kls if k >= floor], [k for k in kls if k < floor]
    text = ", ".join(f"{k:.1f}" for k in shown)
    if rest:
        count = NUMBERS[len(rest)] if len(rest) < len(NUMBERS) else str(len(rest))
        text += f", then {count} under {math.ceil(max(rest) * 1000) / 1000:g}"
    return text


def _with_counts(evaluation, export):
    count, variances = evaluation["examples"], evaluation.get("posterior_mean_variance")
    images = f"all {count:,}" if count == export.metrics.get("test_examples") else f"first {count:,}"
    return {**evaluation, "images": images, "latents": len(variances) if variances else None}


def render_row(template, export, examples=None, samples=None):
    """One table line: `template` filled from `export`, its "e" fields from the latest
    evaluation on `examples` test images with `samples` importance samples (None: any)."""
    return FORMATTER.vformat(template, (), {"export": export, "examples": examples, "samples": samples})
