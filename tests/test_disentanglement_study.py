"""benchmarks/disentanglement_study.py: the commands it runs, resuming, and its table's figures
checked by hand on made-up metrics (no training here: the study itself takes ~40 minutes)."""

import importlib.util
import json
import pathlib
import sys

import pytest

PATH = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "disentanglement_study.py"


@pytest.fixture(scope="module")
def study():
    spec = importlib.util.spec_from_file_location("disentanglement_study", PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


NEWER = {"beta_vae_score": 0.9, "sap": 0.1, "dci_disentanglement": 0.2, "dci_completeness": 0.3,
         "dci_informativeness": 0.4}  # the metrics added after the first study


def _metrics(mig, score=0.5, elbo=30.0, active=4):
    return {"mig": mig, "factor_vae_score": score, **NEWER, "test_neg_elbo": elbo, "test_reconstruction": elbo - 10,
            "test_kl": 10.0, "disentanglement": {"active_dims": active}, "train_seconds": 100.0}


def _write(study, out, kind, seed, metrics):
    path = pathlib.Path(study.metrics_path(str(out), kind, seed))
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(metrics))


def test_every_kind_is_the_same_recipe_with_its_objective(study, tmp_path):
    assert list(study.KINDS) == ["vae", "beta_vae_4", "beta_vae_16", "beta_tcvae", "beta_tcvae_mss",
                                 "factor_vae"]
    command = study.train_command("beta_vae_16", 2, str(tmp_path))
    assert command[:5] == [sys.executable, "-m", "zoo", "train", study.RECIPE]
    assert command[5:] == ["--seed", "2", "--export-dir", str(tmp_path / "beta_vae_16" / "seed2"),
                           "--set", "objective=elbo", "--set", "objective.beta=16"]
    assert "--set" not in study.train_command("beta_tcvae", 0, str(tmp_path))  # the recipe at its defaults


def test_finished_runs_are_skipped_and_the_table_is_their_mean_and_std(study, tmp_path):
    for seed, mig in enumerate([0.1, 0.2, 0.6]):
        _write(study, tmp_path, "vae", seed, _metrics(mig, active=seed + 3))
    said = []
    results = study.run_all(str(tmp_path), [0, 1, 2], kinds=("vae",), say=lambda *a, **k: said.append(a[0]))
    assert len(results) == 3 and all("done before, skipped" in line for line in said)
    text = study.table(results, kinds=("vae",))
    # mean 0.3, sample std sqrt(((0.2)^2 + (0.1)^2 + (0.3)^2) / 2) = 0.265; active 4 +- 1
    assert "| VAE (ELBO, beta = 1) | 3 | 0.300 ± 0.265 | 0.500 ± 0.000 | 0.900 ± 0.000 | 0.100 ± 0.000 " \
           "| 0.200 ± 0.000 | 0.300 ± 0.000 | 0.400 ± 0.000 | 30.00 ± 0.00 | 20.00 ± 0.00 " \
           "| 10.00 ± 0.00 | 4.0 ± 1.0 | 100 ± 0 |" in text
    assert "| vae | 2 | 0.600 | 0.500 | 0.900 | 0.100 | 0.200 | 0.300 | 0.400 | 30.00 | 20.00 | 10.00 | 5.0 " \
           "| 100 |" in text
    assert study.best_runs(results) == {"vae": 2}


def test_a_run_older_than_a_metric_shows_nan_until_rescored(study, tmp_path):
    old = {key: value for key, value in _metrics(0.1).items() if key not in NEWER}
    _write(study, tmp_path, "vae", 0, old)
    assert "| vae | 0 | 0.100 | 0.500 | nan | nan | nan | nan | nan | 30.00 |" in study.table(
        study.collected(str(tmp_path), [0], ("vae",)), kinds=("vae",))
    # what --rescore writes beside the run is read over its metrics.json, details merged
    rescored = {"mig": 0.2, **NEWER, "disentanglement": {"sap_per_factor": {"x": 0.1}}}
    pathlib.Path(study.scores_path(str(tmp_path), "vae", 0)).write_text(json.dumps(rescored))
    merged = study.collected(str(tmp_path), [0, 1], ("vae",))
    assert list(merged) == [("vae", 0)]
    assert merged["vae", 0]["disentanglement"] == {"active_dims": 4, "sap_per_factor": {"x": 0.1}}
    assert "| vae | 0 | 0.200 | 0.500 | 0.900 | 0.100 | 0.200 | 0.300 | 0.400 | 30.00 |" in study.table(
        merged, kinds=("vae",))


def test_udr_is_each_runs_score_across_its_kinds_seeds(study, tmp_path):
    for seed in (0, 1):
        _write(study, tmp_path, "vae", seed, _metrics(0.1))
    udr = {"seeds": [0, 1], "model_scores": {"0": 0.5, "1": 0.7}}
    pathlib.Path(study.udr_path(str(tmp_path), "vae")).write_text(json.dumps(udr))
    results = study.collected(str(tmp_path), [0, 1], ("vae",))
    assert results["vae", 1]["udr"] == 0.7
    assert study.udr_scores(str(tmp_path), results) is results  # the file holds these seeds: nothing is loaded
    # the kind's UDR: the mean of its runs' (0.5, 0.7), sample std 0.141
    assert study.table(results, kinds=("vae",)).splitlines()[2].endswith("| 0.600 ± 0.141 |")


def test_a_scores_file_missing_a_metric_is_scored_again(study, tmp_path):
    _write(study, tmp_path, "vae", 0, _metrics(0.1))
    path = pathlib.Path(study.scores_path(str(tmp_path), "vae", 0))
    path.write_text(json.dumps({"mig": 0.2, **NEWER, "disentanglement": {}}))
    assert not study.rescored_before(str(tmp_path), "vae", 0)
    path.write_text(json.dumps({"mig": 0.2, **NEWER, **dict.fromkeys(study.SCORED, 0.5), "disentanglement": {}}))
    assert study.rescored_before(str(tmp_path), "vae", 0)
