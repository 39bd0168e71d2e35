"""What earlier versions of the zoo wrote still loads and resumes: a workdir of commit f7eb4ac
(before the model interface and the config package) resumes with today's zoo to the same
model as an uninterrupted run. Shipped exports (all written by earlier versions) are loaded
by test_shipped.py through their SavedModels and `from_preset`."""

import pathlib
import shutil

import numpy as np
import pytest

from recipes.digits_mlp_bernoulli import RECIPE
from zoo.training.train import train

OLD_WORKDIR = pathlib.Path(__file__).parent / "data" / "workdir_f7eb4ac"


def test_a_workdir_of_an_older_zoo_resumes_to_the_uninterrupted_run(tmp_path, capsys):
    workdir = tmp_path / "workdir"
    shutil.copytree(OLD_WORKDIR, workdir, ignore=shutil.ignore_patterns("*.md", "*.py"))
    recipe = RECIPE.with_overrides(RECIPE.smoke).with_overrides({"epochs": 4})
    resumed = train(recipe, export_dir=str(tmp_path / "resumed"), workdir=str(workdir))
    assert "Resuming from the backup" in capsys.readouterr().out
    fresh = train(recipe, export_dir=str(tmp_path / "fresh"), verbose=False)
    assert int(resumed.model.epochs_trained.numpy()) == 4
    for before, after in zip(fresh.model.get_weights(), resumed.model.get_weights()):
        np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-6)
    assert resumed.metrics["test_neg_elbo"] == pytest.approx(fresh.metrics["test_neg_elbo"], rel=1e-5)
