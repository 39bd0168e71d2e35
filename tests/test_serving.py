"""Exports are TF Serving-ready. TF Serving cannot run here, so each export is run the ways
the server and its tools run it (TF1 session by tensor name, `saved_model_cli`, the REST
JSON format, warm-up replay) and must agree with `tf.saved_model.load`; `models.config`
must list what is exported, and `zoo.load` must reuse a signature inside a new model."""

import json
import os
import pathlib
import re
import shutil

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

import zoo
from conftest import sampler_signatures
from harness import tiny_recipe, trained_a_little
from serving_clients import (assert_same, cli, cli_outputs, direct_outputs, inputs_for, rest_outputs,
                             rest_predict, rest_request_body, session_outputs, signature_inputs,
                             warmup_records)
from zoo.export.savedmodel import export
from zoo.export.serving import MAX_WARMUP_RECORDS, MODELS_CONFIG, write_models_config
from driver import VAE_SIGNATURES as SIGNATURE_INPUTS, VQ_SIGNATURES as VQ_SIGNATURE_INPUTS

VARIANTS = [("mlp", "bernoulli"), ("conv", "gaussian")]
NAMES = [tiny_recipe(network, likelihood).name for network, likelihood in VARIANTS]
SAVED_MODELS = pathlib.Path(__file__).resolve().parents[1] / "saved_models"


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """Each tiny variant exported once into one export folder, models.config rewritten after
    each export as train() does: recipe name -> version folder."""
    root = tmp_path_factory.mktemp("exports")
    paths = {}
    for network, likelihood in VARIANTS:
        recipe = tiny_recipe(network, likelihood)
        paths[recipe.name] = export(trained_a_little(recipe), str(root / recipe.name), config=recipe.to_dict(),
                                    metrics={}, name=recipe.name)
        write_models_config(str(root))
    return paths


@pytest.fixture(scope="module")
def loaded(exports):
    return {name: tf.saved_model.load(path) for name, path in exports.items()}


def _models_config(export_dir):
    with open(os.path.join(export_dir, MODELS_CONFIG)) as f:
        return text_format.Parse(f.read(), model_server_config_pb2.ModelServerConfig())


def _assert_lists(config, recipes):
    entries = config.model_config_list.config
    assert [entry.name for entry in entries] == sorted(recipes)
    for entry in entries:
        assert entry.base_path == f"/models/{entry.name}" and entry.model_platform == "tensorflow"


@pytest.mark.parametrize("name", NAMES)
def test_tf1_session_by_tensor_names_matches_tf2_load(exports, loaded, name):
    inputs = inputs_for(loaded[name])
    got, expected = session_outputs(exports[name], inputs), direct_outputs(loaded[name], inputs)
    assert sorted(got) == sorted(expected) == sorted(SIGNATURE_INPUTS)
    for signature in expected:
        assert_same(got[signature], expected[signature], where=signature)


def test_saved_model_cli_show_lists_every_signature_batched(exports, loaded):
    name = NAMES[-1]
    text = cli("show", "--dir", exports[name], "--all")
    pattern = r"signature_def\['(\w+)'\]:\n(.*?)\n  Method name is: ([\w/]*)"
    sections = {signature: (body, method) for signature, body, method in re.findall(pattern, text, re.S)}
    assert set(sections) - {"__saved_model_init_op"} == set(SIGNATURE_INPUTS)
    for signature, fn in loaded[name].signatures.items():
        body, method = sections[signature]
        tensors = re.findall(r"(inputs|outputs)\['(\w+)'\] tensor_info:\n\s+dtype: \w+\n\s+shape: \(([^)]*)\)", body)
        assert {key for kind, key, _ in tensors if kind == "inputs"} == set(fn.structured_input_signature[1])
        assert {key for kind, key, _ in tensors if kind == "outputs"} == set(fn.structured_outputs)
        assert all(shape.split(",")[0] == "-1" for _, _, shape in tensors), (signature, tensors)
        assert method == "tensorflow/serving/predict", signature


# A new process per call (about 7 s each): the default suite runs an x-input and the seed-input
# signature, `-m slow` every one; the TF1 session and REST paths run every signature anyway.
@pytest.mark.parametrize("signature", [s if s in ("log_likelihood", "sample") else pytest.param(s, marks=pytest.mark.slow)
                                       for s in sorted(SIGNATURE_INPUTS)])
def test_saved_model_cli_run_matches_tf2_load(exports, loaded, signature, tmp_path):
    name = NAMES[0]
    inputs = inputs_for(loaded[name])
    got = cli_outputs(exports[name], signature, signature_inputs(loaded[name], signature, inputs), tmp_path)
    assert_same(got, direct_outputs(loaded[name], inputs)[signature], where=signature)


@pytest.mark.parametrize("name", NAMES)
def test_rest_row_format_round_trip_matches_direct_call(loaded, name):
    inputs = inputs_for(loaded[name])
    expected = direct_outputs(loaded[name], inputs)
    for signature in SIGNATURE_INPUTS:
        sent = signature_inputs(loaded[name], signature, inputs)
        body = rest_request_body(signature, sent)
        (value,) = sent.values()
        assert json.loads(body) == {"signature_name": signature, "instances": value.tolist()}  # bare rows
        predictions = json.loads(rest_predict(loaded[name], body))["predictions"]
        assert len(predictions) == len(value)
        assert all(set(row) == set(expected[signature]) for row in predictions), signature
        assert_same(rest_outputs(loaded[name], signature, inputs), expected[signature], rtol=1e-6, atol=0,
                    where=signature)


@pytest.mark.parametrize("name", NAMES)
def test_warmup_requests_cover_every_signature_and_replay(exports, loaded, name):
    records = warmup_records(exports[name])
    assert len(records) == len(SIGNATURE_INPUTS) <= MAX_WARMUP_RECORDS
    requests = {record.predict_log.request.model_spec.signature_name: record.predict_log.request
                for record in records}
    assert sorted(requests) == sorted(SIGNATURE_INPUTS)
    for signature, request in requests.items():
        assert request.model_spec.name == name
        fn = loaded[name].signatures[signature]
        specs = fn.structured_input_signature[1]
        arrays = {key: tf.make_ndarray(proto) for key, proto in request.inputs.items()}
        assert set(arrays) == set(specs), signature
        for key, array in arrays.items():
            assert array.dtype == specs[key].dtype.as_numpy_dtype and array.shape[0] == 2
            assert specs[key].shape[1:].is_compatible_with(array.shape[1:]), (signature, key)
        if "x" in arrays:
            x = arrays["x"]
            assert 0 <= x.min() and x.max() <= 1
            if name.endswith("bernoulli"):
                assert set(np.unique(x)) <= {0.0, 1.0}  # what a Bernoulli model scores
            else:
                assert len(np.unique(x)) > 2  # grey levels for a Gaussian one
        for key, value in fn(**arrays).items():
            assert np.all(np.isfinite(value.numpy())), (signature, key)


def test_models_config_lists_exactly_the_exported_recipes(exports, tmp_path):
    export_dir = pathlib.Path(next(iter(exports.values()))).parents[1]
    _assert_lists(_models_config(export_dir), NAMES)  # rewritten after each export

    for folder in ("zeta/3", "alpha/1", "alpha/2", "empty", "half/.staging-abc", "notes/old"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "stray/1").parent.mkdir()
    (tmp_path / "stray/1").write_text("a file, not a version folder")
    write_models_config(str(tmp_path))
    _assert_lists(_models_config(tmp_path), ["alpha", "zeta"])
    (tmp_path / "beta/7").mkdir(parents=True)
    write_models_config(str(tmp_path))
    _assert_lists(_models_config(tmp_path), ["alpha", "beta", "zeta"])
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".")]  # no temp file left


def test_load_reuses_a_frozen_encoder_in_a_new_model(exports, loaded):
    name = NAMES[0]
    encode = loaded[name].signatures["encode"]
    layer = zoo.load(os.path.dirname(exports[name]), "encode")  # a recipe folder: its highest version
    assert layer.version_path == exports[name]
    x = inputs_for(loaded[name], batch=4)["x"]
    inputs = keras.Input(x.shape[1:])
    classifier = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(layer(inputs)["z_mean"]))
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == len(encode.variables) > 0
    assert len(classifier.trainable_weights) == 2  # the Dense kernel and bias only
    before = [w.numpy() for w in layer.weights]
    dense_before = classifier.layers[-1].kernel.numpy()
    classifier.compile(keras.optimizers.Adam(0.1), "sparse_categorical_crossentropy")
    classifier.fit(x, np.array([0, 1, 0, 1]), batch_size=2, epochs=1, verbose=0)
    assert not np.array_equal(classifier.layers[-1].kernel.numpy(), dense_before)
    for old, weight in zip(before, layer.weights):
        np.testing.assert_array_equal(weight.numpy(), old)
    got = layer(x)
    assert sorted(got) == sorted(encode.structured_outputs)
    np.testing.assert_allclose(got["z_mean"], encode(x=tf.constant(x))["z_mean"], rtol=1e-6)


def test_load_trainable_trains_the_loaded_weights(exports, loaded):
    layer = zoo.load(exports[NAMES[0]], "encode", trainable=True)
    assert len(layer.trainable_weights) == len(loaded[NAMES[0]].signatures["encode"].trainable_variables) > 0
    x = inputs_for(loaded[NAMES[0]], batch=4)["x"]
    inputs = keras.Input(x.shape[1:])
    model = keras.Model(inputs, keras.layers.Dense(1)(layer(inputs)["z_mean"]))
    before = [w.numpy() for w in layer.trainable_weights]
    model.compile(keras.optimizers.Adam(0.1), "mse")
    model.fit(x, np.ones(4), batch_size=2, epochs=1, verbose=0)
    assert all(not np.array_equal(w.numpy(), old) for old, w in zip(before, layer.trainable_weights))


def test_load_picks_the_highest_version_and_explains_errors(exports, tmp_path):
    path = exports[NAMES[0]]
    for version in ("2", "10"):
        shutil.copytree(path, tmp_path / "recipe" / version)
    assert zoo.load(str(tmp_path / "recipe")).version_path == str(tmp_path / "recipe" / "10")  # not "2"
    with pytest.raises(zoo.ZooError, match="no export at"):
        zoo.load(str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(zoo.ZooError, match="neither saved_model.pb nor integer version"):
        zoo.load(str(tmp_path / "empty"))
    with pytest.raises(zoo.ZooError, match="no signature 'decoder'") as error:
        zoo.load(path, "decoder")
    assert all(signature in str(error.value) for signature in SIGNATURE_INPUTS)


def test_shipped_export_agrees_across_serving_paths(shipped_smallest_export, tmp_path):
    """Every signature through a TF1 session and REST; `saved_model_cli` (a new process per
    call, about 5 s each) for one signature here; the tiny exports above run it on all. The
    default tier takes the smallest shipped export, `-m slow` every one: the paths are the same
    code for every export, and the default tier serves each interface's requests elsewhere
    (labels: test_serving_labels and test_conditional; M2's classify and the VQ-VAE's codes:
    the driver's cases, through `tf.saved_model.load`)."""
    shipped_export = shipped_smallest_export
    loaded = tf.saved_model.load(shipped_export)
    with open(os.path.join(shipped_export, "config.json")) as f:
        model = json.load(f)["model"]
    extra = sampler_signatures(shipped_export) + (["classify"] if model.get("classifier") else [])
    expected_signatures = sorted(VQ_SIGNATURE_INPUTS if "quantizer" in model else {*SIGNATURE_INPUTS, *extra})
    assert sorted(loaded.signatures) == expected_signatures, "export older than zoo.export: re-export it"
    assert sorted(r.predict_log.request.model_spec.signature_name for r in warmup_records(shipped_export)) \
        == expected_signatures
    inputs = inputs_for(loaded)
    expected = direct_outputs(loaded, inputs)
    session = session_outputs(shipped_export, inputs)
    for signature in expected_signatures:
        assert_same(session[signature], expected[signature], where=f"tf1 session {signature}")
        assert_same(rest_outputs(loaded, signature, inputs), expected[signature], where=f"REST {signature}")
    sent = signature_inputs(loaded, "elbo", inputs)
    assert_same(cli_outputs(shipped_export, "elbo", sent, tmp_path), expected["elbo"], where="saved_model_cli elbo")


def test_shipped_models_config_lists_the_shipped_recipes(shipped_recipes):
    assert (SAVED_MODELS / MODELS_CONFIG).is_file(), "saved_models/models.config is missing"
    _assert_lists(_models_config(SAVED_MODELS), shipped_recipes)
