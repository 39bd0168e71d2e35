"""Presets: shipped models by name (or any export folder) as trained, compiled VAEs that
continue training where they stopped."""

import json
import os
import shutil
import zipfile

import numpy as np
import pytest
import tf_keras as keras

import zoo
from conftest import SAVED_MODELS, shipped_exports
from zoo.errors import ZooError
from zoo.models.presets import presets


def test_presets_lists_every_shipped_export(shipped_recipes):
    listed = presets()
    assert sorted(listed) == shipped_recipes
    for name, description in listed.items():
        with open(os.path.join(shipped_exports()[name], "config.json")) as f:
            assert description == json.load(f)["description"]


@pytest.mark.slow
def test_a_preset_continues_its_kl_warmup_at_the_weight_it_reached(shipped_recipes):
    assert "mnist_mlp_vampprior" in shipped_recipes
    vae = zoo.VAE.from_preset("mnist_mlp_vampprior")
    assert vae.objective.warmup_epochs == 10 and float(vae.epochs_trained.numpy()) == 100
    assert float(vae.objective.kl_weight.numpy()) == 1.0
    x = (np.random.default_rng(0).random((20, 28, 28, 1)) < 0.2).astype(np.float32)
    history = vae.fit(x, batch_size=10, epochs=1, verbose=0).history
    assert history["kl_weight"] == [1.0] and np.isfinite(history["loss"][0])  # not restarted at 0
    assert float(vae.epochs_trained.numpy()) == 101


def test_a_preset_by_path_equals_the_preset_by_name(shipped_recipes):
    by_name = zoo.VAE.from_preset("digits_mlp_bernoulli", compile=False)
    by_path = zoo.VAE.from_preset(str(SAVED_MODELS / "digits_mlp_bernoulli" / "1"), compile=False)
    assert by_name.optimizer is None
    x = (np.random.default_rng(0).random((5, 8, 8, 1)) < 0.3).astype(np.float32)
    np.testing.assert_array_equal(by_name.elbo(x).numpy(), by_path.elbo(x).numpy())


def test_unknown_presets_and_old_exports_are_refused_in_one_line(tmp_path, shipped_recipes):
    with pytest.raises(ZooError, match="no preset 'mnist_nothing'.*digits_mlp_bernoulli"):
        zoo.VAE.from_preset("mnist_nothing")
    old = tmp_path / "old" / "1"
    shutil.copytree(SAVED_MODELS / "digits_mlp_bernoulli" / "1", old)
    os.remove(old / "model.keras")
    with pytest.raises(ZooError, match="has no model.keras: it was exported by an older zoo"):
        zoo.VAE.from_preset(str(old))


def test_a_presets_model_keras_is_a_plain_keras_config(shipped_recipes):
    """Keras alone builds the model from it (the weights are the SavedModel's: from_preset)."""
    with zipfile.ZipFile(SAVED_MODELS / "mnist_conv_bernoulli" / "1" / "model.keras") as archive:
        vae = keras.saving.deserialize_keras_object(json.loads(archive.read("config.json")))
    assert isinstance(vae, zoo.VAE) and vae.image_shape == (28, 28, 1) and vae.code_shape == (16,)


def test_evaluate_refuses_an_export_of_an_older_zoo_in_one_line(tmp_path, shipped_recipes):
    from zoo.evaluation.evaluate import evaluate

    old = tmp_path / "old" / "1"
    shutil.copytree(SAVED_MODELS / "digits_mlp_bernoulli" / "1", old)
    (old / "config.json").write_text(json.dumps({  # the flat form zoo wrote before block configs
        "name": "digits_mlp_bernoulli", "model": {"network": "mlp", "activation": "relu", "latent_dim": 8},
        "train": {"dataset": "digits"}}))
    with pytest.raises(ZooError, match="does not describe a recipe this zoo knows .written by an older zoo") as error:
        evaluate(str(old), examples=5, num_samples=10, pictures=False, verbose=False)
    assert "\n" not in str(error.value)
