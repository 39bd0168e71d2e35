"""The measured tables of docs/ and the README, and each shipped version's MODEL_CARD.md, are
what tools/write_results.py writes from saved_models/*/*/metrics.json: a figure changed in
either place without the other fails here (run `python tools/write_results.py` and review
the diff). No TensorFlow: the tool reads JSON and text only."""

import json
import pathlib
import shutil
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import results_record  # noqa: E402
import results_same_budget  # noqa: E402
import results_sample_quality  # noqa: E402
import results_tables  # noqa: E402
import write_results  # noqa: E402
from results_exports import MissingFigure, latest_versions  # noqa: E402



def test_tables_and_cards_match_the_exports():
    report = write_results.check(ROOT)
    assert not report, "tables drifted from metrics.json (run `python tools/write_results.py`):\n" + "\n".join(report)


def test_every_shipped_version_has_a_model_card():
    for export in write_results.shipped_versions(ROOT / "saved_models"):
        card = (export.folder / write_results.CARD_FILE).read_text()
        assert 30 <= len(card.splitlines()) <= 60, export.folder
        for section in ("## Data", "## Protocol", "## Figures", "## Hardware and time", "## Limits"):
            assert section in card, (export.folder, section)


@pytest.fixture
def repo_copy(tmp_path):
    """The docs and the shipped metrics.json/config.json in `tmp_path` (not a git checkout, so
    every version folder counts as shipped)."""
    for doc in [*results_tables.doc_files(), str(results_same_budget.FILE)]:
        (tmp_path / doc).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / doc, tmp_path / doc)
    for export in write_results.shipped_versions(ROOT / "saved_models"):
        folder = tmp_path / "saved_models" / export.name / str(export.version)
        folder.mkdir(parents=True)
        for name in ("metrics.json", "config.json", write_results.CARD_FILE):
            shutil.copy(export.folder / name, folder / name)
    return tmp_path


def _edit_metrics(folder, change):
    path = folder / "metrics.json"
    metrics = json.loads(path.read_text())
    change(metrics)
    path.write_text(json.dumps(metrics, indent=2, sort_keys=True))


def _edit_evaluation(folder, examples, change):
    """Change every evaluation of `folder`'s metrics.json that scored `examples` test images."""
    def edit(metrics):
        for evaluation in [metrics["evaluation"], *metrics.get("evaluations", [])]:
            if evaluation["examples"] == examples and "neg_log_likelihood" in evaluation:
                change(evaluation)
    _edit_metrics(folder, edit)


def test_a_changed_figure_is_caught_by_check_and_rewritten(repo_copy, capsys):
    assert write_results.main(["--check", "--root", str(repo_copy)]) == 0
    _edit_evaluation(repo_copy / "saved_models/mnist_mlp_vampprior/2", 10000,
                     lambda e: e.update(neg_log_likelihood=85.123))
    assert write_results.main(["--check", "--root", str(repo_copy)]) == 1
    said = capsys.readouterr().out
    assert "docs/results.md [loglik] exports:  | `mnist_mlp_vampprior` (ours, 100 epochs) | all 10,000 | 85.12" in said
    assert "README.md [presets]" in said and "MODEL_CARD.md" in said
    written = {path.relative_to(repo_copy).as_posix() for path in write_results.write(repo_copy)}
    assert written == {"README.md", "docs/results.md", "saved_models/mnist_mlp_vampprior/2/MODEL_CARD.md"}
    assert "**85.12**" in (repo_copy / "docs/results.md").read_text()  # the recipes table's -log p(x)
    assert write_results.check(repo_copy) == []


def test_the_highest_version_feeds_the_tables(repo_copy):
    """A version 2 (say, the same weights with samplers fitted) replaces version 1 in the tables,
    and gets its own card; version 1's card says it is no longer the one served."""
    old = repo_copy / "saved_models/mnist_mlp_categorical/1"
    shutil.copytree(old, old.parent / "2")
    _edit_metrics(old.parent / "2", lambda m: m.update(test_neg_elbo=95.004))
    write_results.write(repo_copy)
    assert "| `mnist_mlp_categorical` | 30 x 10-way categorical latents | 95.00 |" in (
        repo_copy / "README.md").read_text()
    assert "version 2" in (old.parent / "2" / write_results.CARD_FILE).read_text()
    assert "[version 1](mnist_mlp_categorical/1/MODEL_CARD.md), [version 2](mnist_mlp_categorical/2/MODEL_CARD.md)" in (
        repo_copy / "saved_models/README.md").read_text()
    assert "A later version is served by default." in (old / write_results.CARD_FILE).read_text()


def test_a_row_without_its_evaluation_is_an_error_not_a_blank(repo_copy):
    _edit_evaluation(repo_copy / "saved_models/mnist_conv_bernoulli/2", 500, lambda e: e.update(examples=400))
    with pytest.raises(MissingFigure, match="mnist_conv_bernoulli/2: no evaluation on 500 test images"):
        write_results.check(repo_copy)


def _quality(fids, space="domain"):
    """A "sample_quality" entry as `zoo evaluate --sample-quality` writes it, with these FIDs
    ({sampler or floor: FID})."""
    floors = ("training_images", "reconstructions")
    figures = {name: {"fid": fid, "kid": 0.0123, "kid_std": 0.0004, "precision": 0.81, "recall": 0.52,
                      "n_fake": 10000, "n_real": 10000} for name, fid in fids.items()}
    return {space: {"space": {"space": space, "network": "mnist domain classifier", "sha256": "0123456789abcdef",
                              "test_accuracy": 0.9921}, "real": "mnist test", "n_real": 10000,
                    "samplers": {k: v for k, v in figures.items() if k not in floors},
                    "floors": {k: v for k, v in figures.items() if k in floors}}}


def test_sample_quality_figures_become_rows_per_model_sampler_and_space(repo_copy):
    """A hand-made metrics.json as `zoo evaluate --sample-quality` writes it: the latest
    evaluation and earlier ones in "evaluations", one sampler each, plus both floors."""
    folder = repo_copy / "saved_models/mnist_mlp_categorical/1"  # no sample quality measured

    def measured(metrics):
        earlier = {**metrics["evaluation"], "sample_quality": _quality(
            {"prior": 9.5, "training_images": 0.41, "reconstructions": 2.25})}
        metrics["evaluations"] = [*metrics.get("evaluations", []), earlier]
        metrics["evaluation"] = {**metrics["evaluation"], "sample_quality": _quality({"prior": 7.25, "gmm": 5.5})}
    _edit_metrics(folder, measured)
    write_results.write(repo_copy)
    text = (repo_copy / "docs/results.md").read_text()
    block = text.split("<!-- results:sample_quality begin -->")[1].split("<!-- results:sample_quality end -->")[0]
    rows = [line for line in block.splitlines() if "| `mnist_mlp_categorical` |" in line]
    network = "domain (mnist domain classifier, test accuracy 99.21%, `0123456789ab`)"
    assert [row.split(" | ")[2:6] for row in rows] == [
        ["prior", network, "10,000 vs 10,000", "7.25"],  # the later prior measurement replaced 9.50
        ["gmm", network, "10,000 vs 10,000", "5.50"],  # (the training-images floor: once per dataset, above)
        ["floor: test reconstructions", network, "10,000 vs 10,000", "2.25"]]
    assert rows[0].endswith("| 0.0123 ± 0.0004 | 0.810 | 0.520 |")
    assert "FID; KID; precision; recall (gmm, domain space, 10,000 drawn) | 5.50" in (
        folder / write_results.CARD_FILE).read_text()
    assert write_results.check(repo_copy) == []


def test_latest_versions_ignore_folders_that_are_not_versions(repo_copy):
    (repo_copy / "saved_models/mnist_conv_bernoulli/.staging-1-host-x").mkdir()
    (repo_copy / "saved_models/mnist_conv_bernoulli/.staging-1-host-x/metrics.json").write_text("{")
    latest = latest_versions(write_results.shipped_versions(repo_copy / "saved_models"))
    assert latest["mnist_conv_bernoulli"].version == 2 and latest["mnist_mlp_categorical"].version == 1


def test_recording_an_evaluation_keeps_the_latest_and_replaces_its_own_kind(repo_copy, tmp_path):
    folder = repo_copy / "saved_models/mnist_conv_bernoulli/1"
    latest = json.loads((folder / "metrics.json").read_text())["evaluation"]
    evaluated = tmp_path / "evaluated.json"
    for figure in (90.5, 89.25):  # the second run on the same images replaces the first
        evaluated.write_text(json.dumps({"evaluation": {**latest, "examples": 100, "neg_log_likelihood": figure}}))
        assert results_record.record(folder, evaluated) == (100, 5000, "test images", ())
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["evaluation"] == latest
    assert [(e["examples"], e["neg_log_likelihood"]) for e in metrics["evaluations"]] == [(100, 89.25)]
    evaluated.write_text(json.dumps({"evaluation": latest}))
    with pytest.raises(SystemExit, match="measured the same"):
        results_record.record(folder, evaluated)
    for sampler in ("gmm", "flow"):  # runs of other samplers: both kept
        evaluated.write_text(json.dumps({"evaluation": {**latest, "sample_quality": _quality({sampler: 3.0})}}))
        results_record.record(folder, evaluated)
    kept = json.loads((folder / "metrics.json").read_text())["evaluations"]
    assert [sorted(e.get("sample_quality", {}).get("domain", {}).get("samplers", {})) for e in kept] == [
        [], ["flow"], ["gmm"]]


def _edit_same_budget(root, change):
    path = root / results_same_budget.FILE
    runs = json.loads(path.read_text())
    change(runs)
    path.write_text(json.dumps(runs, indent=1, sort_keys=True))


def _block(root, name):
    text = (root / "docs/results.md").read_text()
    return text.split(f"<!-- results:{name} begin -->")[1].split(f"<!-- results:{name} end -->")[0]


def test_same_budget_quality_rows_come_from_the_committed_runs(repo_copy):
    """A changed prior FID of a same-budget run is drift; rewritten, its row shows it, its
    reconstructions' floor follows it, a second seed makes each figure a mean ± std over both,
    and a recipe whose quality run is missing is named, not blank."""
    def edit(runs):
        for other in [name for name in runs if name.startswith("mnist_mlp_aae/") and name != "mnist_mlp_aae/seed0"]:
            runs.pop(other)  # seed 0 alone, whatever seeds are committed
        runs["mnist_mlp_aae/seed0"]["quality"]["domain"]["prior"].update(fid=123.456, precision=0.25)
        for name in [name for name in runs if name.startswith("mnist_mlp_info_vae/")]:
            runs[name].pop("quality", None)  # every seed's
    _edit_same_budget(repo_copy, edit)
    assert any("[same_budget_quality]" in line for line in write_results.check(repo_copy))
    write_results.write(repo_copy)

    def aae_rows():
        return [line.split(" | ") for line in _block(repo_copy, "same_budget_quality").splitlines()
                if line.startswith("| `mnist_mlp_aae` |")]
    assert [(row[3], row[5], row[6], row[8]) for row in aae_rows()] == [
        ("1", "prior", "123.46", "0.250"), ("", "floor: reconstructions", "5.80", "0.974")]
    assert "`mnist_mlp_info_vae`" in _block(repo_copy, "same_budget_quality").split("Not measured yet")[1]
    assert write_results.check(repo_copy) == []

    def second_seed(runs):
        other = json.loads(json.dumps(runs["mnist_mlp_aae/seed0"]))
        other["quality"]["domain"]["prior"].update(fid=125.456, precision=0.35)
        runs["mnist_mlp_aae/seed1"] = other
    _edit_same_budget(repo_copy, second_seed)
    write_results.write(repo_copy)
    assert [(row[3], row[5], row[6], row[8]) for row in aae_rows()] == [
        ("2", "prior", "124.46 ± 1.41", "0.300 ± 0.071"), ("", "floor: reconstructions", "5.80 ± 0.00", "0.974 ± 0.000")]


def test_same_budget_likelihood_rows_ignore_runs_without_a_likelihood_at_other_budgets(repo_copy):
    """The likelihood table's shared budget is read from its own rows only (the 10-epoch
    HRQ-VAE run does not break it), and a likelihood row at another budget is an error."""
    assert "| `mnist_mlp_info_vae` |" in _block(repo_copy, "same_budget")
    _edit_same_budget(repo_copy, lambda runs: runs["mnist_mlp_info_vae/seed0"]["train"].update(epochs=3))
    with pytest.raises(MissingFigure, match="different budgets"):
        write_results.check(repo_copy)


def test_collecting_reads_finished_runs_under_either_layout(tmp_path):
    """`same_budget.py --root DIR` and `--root DIR/<recipe>` layouts both count; a run whose
    evaluation is not written yet does not, and sample quality comes along when measured."""
    import collect_same_budget

    def run(base, recipe, evaluated=True, quality=False):
        seed = base / recipe / "seed0"
        (seed / recipe / "1").mkdir(parents=True)
        (seed / recipe / "1" / "metrics.json").write_text(json.dumps({"epochs": 30, "test_neg_elbo": 99.5}))
        if evaluated:
            (seed / "eval").mkdir()
            (seed / "eval" / "metrics.json").write_text(json.dumps({"evaluation": {"reconstruction_mse": 0.02}}))
        if quality:
            (seed / "quality").mkdir()
            floors = {"training_images": {"fid": 1.9}, "reconstructions": {"fid": 5.8}}
            (seed / "quality" / "metrics.json").write_text(json.dumps({"evaluation": {"sample_quality": {
                "domain": {"n_real": 100, "samplers": {"prior": {"fid": 175.5}}, "floors": floors}}}}))
    run(tmp_path, "flat_recipe", quality=True)
    run(tmp_path / "nested_recipe", "nested_recipe")
    run(tmp_path, "still_training", evaluated=False)
    found = collect_same_budget.finished_runs(tmp_path, [0])
    assert sorted(found) == ["flat_recipe/seed0", "nested_recipe/seed0"]
    assert found["flat_recipe/seed0"]["quality"]["domain"]["floor: reconstructions"]["fid"] == 5.8
    nested = found["nested_recipe/seed0"]
    assert nested["train"]["test_neg_elbo"] == 99.5 and "quality" not in nested
