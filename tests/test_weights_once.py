"""A version folder stores each weight once: `model.keras` holds the Keras config and a digest
of the weights, the SavedModel holds the weights, and `from_preset` refuses a folder where the
two do not belong together (issue 25, case 5: a `model.keras` swapped in from another export
loaded and scored 29.95 against its SavedModel's 19.43)."""

import json
import os
import shutil
import zipfile

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

import zoo
from conftest import shipped_exports
from harness import example_inputs, tiny_recipe, trained_a_little
from test_export import export_recipe
from zoo.errors import ZooError
from zoo.models import keras_file
from zoo.models.kinds import load_preset


def _served_elbo(path, x):
    return tf.saved_model.load(path).signatures["elbo"](x=tf.constant(x))["elbo"].numpy()


@pytest.fixture(scope="module")
def two_exports(tmp_path_factory):
    """An export of a tiny recipe, and the model.keras files (config and weights record, as an
    export writes them) of two more models to swap into it: the same architecture trained one
    more epoch, and a wider one. Returns (the export's version folder, the second's model.keras,
    the wider one's model.keras, the second model)."""
    root = tmp_path_factory.mktemp("exports")
    recipe = tiny_recipe("mlp", "bernoulli")
    model = trained_a_little(recipe)
    first = export_recipe(model, recipe, str(root / "a"), {})
    model.fit(example_inputs(model, batch=20)["x"], batch_size=10, epochs=1, verbose=0)
    wider = tiny_recipe("mlp", "bernoulli", hidden_units=(24,))
    return first, _keras_file_of(model, root / "b"), _keras_file_of(trained_a_little(wider), root / "c"), model


def _keras_file_of(model, folder):
    """`folder`/model.keras for `model`, as its export would write it (no SavedModel: the
    tests only swap it into another export)."""
    os.makedirs(folder)
    keras_file.write(model, str(folder))
    return os.path.join(folder, keras_file.KERAS_FILE)


def _swapped(tmp_path, folder, keras_from):
    """A copy of the version folder `folder` whose model.keras is `keras_from`'s."""
    target = tmp_path / "swapped" / "1"
    shutil.copytree(folder, target)
    shutil.copy(keras_from, target / keras_file.KERAS_FILE)
    return str(target)


def test_an_export_stores_each_weight_once_and_its_preset_holds_the_savedmodels_weights(two_exports):
    first, _, _, _ = two_exports
    with zipfile.ZipFile(os.path.join(first, keras_file.KERAS_FILE)) as archive:
        assert keras_file.KERAS_WEIGHTS not in archive.namelist()
        record = json.loads(archive.read(keras_file.WEIGHTS_RECORD))
    saved = keras_file.saved_weights(first)
    assert len(record["paths"]) == len(saved) and record["sha256"] == keras_file.weights_digest(saved)
    assert os.path.getsize(os.path.join(first, keras_file.KERAS_FILE)) < 5000  # the config only
    vae = zoo.VAE.from_preset(first)
    assert len(vae.variables) == len(saved)
    for variable, value in zip(vae.variables, saved):
        np.testing.assert_array_equal(variable.numpy(), value, err_msg=variable.name)
    x = example_inputs(vae, batch=10)["x"]
    np.testing.assert_allclose(vae.elbo(x).numpy(), _served_elbo(first, x), rtol=1e-5, atol=1e-5)
    vae.fit(x, batch_size=5, epochs=1, verbose=0)  # compiled and trainable, as before


def test_a_model_keras_swapped_in_from_another_export_is_refused(two_exports, tmp_path):
    """Case 5: the same architecture, other weights (the digest differs)."""
    first, second, _, _ = two_exports
    swapped = _swapped(tmp_path, first, second)
    for load in (zoo.VAE.from_preset, load_preset):
        with pytest.raises(ZooError, match="model.keras was written with other weights than the SavedModel's") as error:
            load(swapped)
        assert swapped in str(error.value) and "\n" not in str(error.value)


def test_a_model_keras_of_another_architecture_is_refused(two_exports, tmp_path):
    first, _, other, _ = two_exports
    swapped = _swapped(tmp_path, first, other)
    with pytest.raises(ZooError, match="model.keras was written with other weights than the SavedModel's"):
        zoo.VAE.from_preset(swapped)


def _rewrite_record(folder, change):
    """Rewrite `folder`/model.keras with its weights record passed through `change`."""
    path = os.path.join(folder, keras_file.KERAS_FILE)
    with zipfile.ZipFile(path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    entries[keras_file.WEIGHTS_RECORD] = json.dumps(change(json.loads(entries[keras_file.WEIGHTS_RECORD])))
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)


def test_weights_are_restored_by_object_path_not_by_position(two_exports, tmp_path):
    """The record names each checkpoint slot by its variable's object path in the model (the
    same in every process, unlike variable names): a config that builds its variables under
    other paths (as another version of the zoo might) is refused, not filled by position."""
    first, _, _, _ = two_exports
    folder = _swapped(tmp_path, first, os.path.join(first, keras_file.KERAS_FILE))
    with zipfile.ZipFile(os.path.join(folder, keras_file.KERAS_FILE)) as archive:
        paths = json.loads(archive.read(keras_file.WEIGHTS_RECORD))["paths"]
    assert paths[0] == "encoder/layer_with_weights-0/kernel" and len(set(paths)) == len(paths)
    _rewrite_record(folder, lambda record: {**record, "paths": ["renamed/" + p for p in record["paths"]]})
    with pytest.raises(ZooError, match="builds other variables than its SavedModel holds .e.g. 'decoder/"):
        zoo.VAE.from_preset(folder)



def test_an_earlier_zoos_model_keras_of_another_export_is_refused(two_exports, tmp_path):
    """A model.keras with its own weights (as the zoo wrote before) is compared with the
    SavedModel value for value: another export's is refused, the right one loads."""
    first, _, _, second = two_exports
    second.save(tmp_path / "old_style.keras")
    swapped = _swapped(tmp_path, first, tmp_path / "old_style.keras")
    with pytest.raises(ZooError, match="holds other weights than the SavedModel beside it .variable 0 of"):
        zoo.VAE.from_preset(swapped)
    own = load_preset(first, compile=False)
    own.save(tmp_path / "own.keras")
    shutil.copy(tmp_path / "own.keras", os.path.join(swapped, keras_file.KERAS_FILE))
    assert keras_file.holds_weights(swapped)
    x = example_inputs(own, batch=6)["x"]
    np.testing.assert_array_equal(zoo.VAE.from_preset(swapped).elbo(x).numpy(), own.elbo(x).numpy())


def test_keras_alone_refuses_the_config_only_file_instead_of_loading_untrained_weights(two_exports):
    first, _, _, _ = two_exports
    with pytest.raises(ValueError, match="model.weights.h5"):
        keras.models.load_model(os.path.join(first, keras_file.KERAS_FILE))


def test_every_shipped_version_stores_each_weight_once(shipped_recipes):
    """tools/store_weights_once.py rewrote them (the SavedModels untouched); test_shipped
    checks each still reproduces its test_slice through from_preset and its SavedModel."""
    for name, folder in shipped_exports().items():
        assert not keras_file.holds_weights(folder), f"{name}: model.keras repeats the SavedModel's weights"
        with zipfile.ZipFile(os.path.join(folder, keras_file.KERAS_FILE)) as archive:
            record = json.loads(archive.read(keras_file.WEIGHTS_RECORD))
        assert record["sha256"] == keras_file.weights_digest(keras_file.saved_weights(folder)), name
