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


def _metrics(mig, score=0.5, elbo=30.0, active=4):
    return {"mig": mig, "factor_vae_score": score, "test_neg_elbo": elbo, "test_reconstruction": elbo - 10,
            "test_kl": 10.0, "disentanglement": {"active_dims": active}, "train_seconds": 100.0}


def _write(study, out, kind, seed, metrics):
    path = pathlib.Path(study.metrics_path(str(out), kind, seed))
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(metrics))


def test_every_kind_is_the_same_recipe_with_its_objective(study, tmp_path):
    assert list(study.KINDS) == ["vae", "beta_vae_4", "beta_vae_16", "beta_tcvae", "beta_tcvae_mss"]
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
    assert "| VAE (ELBO, beta = 1) | 3 | 0.300 ± 0.265 | 0.500 ± 0.000 | 30.00 ± 0.00 | 20.00 ± 0.00 " \
           "| 10.00 ± 0.00 | 4.0 ± 1.0 | 100 ± 0 |" in text
    assert "| vae | 2 | 0.600 | 0.500 | 30.00 | 20.00 | 10.00 | 5.0 | 100 |" in text
    assert study.best_runs(results) == {"vae": 2}
