"""What earlier versions of the zoo wrote still loads and resumes: a workdir of commit f7eb4ac
(before the model interface and the config package) resumes with today's zoo to the same
model as an uninterrupted run, and a `model.keras` of commit b785a57 (which held its own copy
of the weights) loads beside its SavedModel. Shipped exports (all written by earlier
versions) are loaded by test_shipped.py through their SavedModels and `from_preset`."""

import pathlib
import shutil

import numpy as np
import pytest
import tensorflow as tf

import zoo
from conftest import shipped_exports
from recipes.digits_mlp_bernoulli import RECIPE
from zoo.models import keras_file
from zoo.training.train import train

OLD_WORKDIR = pathlib.Path(__file__).parent / "data" / "workdir_f7eb4ac"
# saved_models/digits_mlp_bernoulli/1/model.keras as commit b785a57 shipped it: config and weights
OLD_KERAS_FILE = pathlib.Path(__file__).parent / "data" / "model_keras_b785a57" / "digits_mlp_bernoulli.keras"


def test_a_model_keras_that_holds_its_own_weights_still_loads_beside_its_savedmodel(tmp_path, shipped_recipes):
    folder = tmp_path / "digits_mlp_bernoulli" / "1"
    shutil.copytree(shipped_exports()["digits_mlp_bernoulli"], folder)
    shutil.copy(OLD_KERAS_FILE, folder / keras_file.KERAS_FILE)
    assert keras_file.holds_weights(str(folder))
    vae = zoo.VAE.from_preset(str(folder))
    for variable, value in zip(vae.variables, keras_file.saved_weights(str(folder))):
        np.testing.assert_array_equal(variable.numpy(), value, err_msg=variable.name)
    x = (np.random.default_rng(0).random((6, 8, 8, 1)) < 0.3).astype(np.float32)
    served = tf.saved_model.load(str(folder)).signatures["elbo"](x=tf.constant(x))["elbo"].numpy()
    np.testing.assert_allclose(vae.elbo(x).numpy(), served, rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_a_workdir_of_an_older_zoo_resumes_from_its_backup(tmp_path, capsys):
    """Resumed with `epochs` at the backup's 2, the run trains nothing and exports the backup's
    network weights exactly (each equal to a tensor of the checkpoint, read without Keras); resumed to 4
    it trains the two epochs left and ends near an uninterrupted run. (Until ce73aa8 the
    resumed run equalled an uninterrupted one bit for bit; since the compiled loop's fix, the
    old backup's two epochs were trained on other batches than today's loop takes.)"""
    recipe = RECIPE.with_overrides(RECIPE.smoke)
    runs = {}
    for epochs in (2, 4):
        workdir = tmp_path / f"workdir_{epochs}"
        shutil.copytree(OLD_WORKDIR, workdir, ignore=shutil.ignore_patterns("*.md", "*.py"))
        runs[epochs] = train(recipe.with_overrides({"epochs": epochs}), export_dir=str(tmp_path / f"resumed_{epochs}"),
                             workdir=str(workdir), force_export=True)
        assert "Resuming from the backup" in capsys.readouterr().out
        assert int(runs[epochs].model.epochs_trained.numpy()) == epochs

    reader = tf.train.load_checkpoint(str(OLD_WORKDIR / "backup" / "chief"))
    saved = [reader.get_tensor(key) for key in reader.get_variable_to_shape_map() if "OBJECT_GRAPH" not in key]
    for variable in runs[2].model.trainable_variables:  # (its metrics' totals moved with the test evaluation)
        weight = variable.numpy()
        assert any(value.shape == weight.shape and np.array_equal(value, weight) for value in saved), variable.name

    fresh = train(recipe.with_overrides({"epochs": 4}), export_dir=str(tmp_path / "fresh"), verbose=False,
                  force_export=True)
    assert any(not np.array_equal(a, b) for a, b in zip(runs[2].model.get_weights(), runs[4].model.get_weights()))
    assert runs[4].metrics["test_neg_elbo"] == pytest.approx(fresh.metrics["test_neg_elbo"], rel=0.05)
