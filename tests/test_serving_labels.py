"""A conditional export and an M2 export run the ways TF Serving and its tools run them (TF1
session by tensor name, REST rows with two inputs, warm-up replay) and agree with
`tf.saved_model.load`; tests/test_serving.py does the same for unconditional models."""

import json

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from serving_clients import (assert_same, direct_outputs, inputs_for, rest_outputs, rest_predict, rest_request_body,
                             session_outputs, signature_inputs, warmup_records)
from zoo.config import VAEConfig
from zoo.export.savedmodel import export
from zoo.models.builder import build

CONFIGS = {
    "cvae": dict(condition={"type": "class_label", "classes": 3}, prior="conditional_normal"),
    "m2": dict(condition={"type": "class_label", "classes": 3}, classifier={"type": "mlp", "hidden_units": (8,)},
               objective={"type": "semi_supervised"}),
}


# The M2 export's serving is in the slow tier; the default tier serves M2 through the driver's m2 case.
@pytest.fixture(scope="module", params=["cvae", pytest.param("m2", marks=pytest.mark.slow)])
def served(request, tmp_path_factory):
    keras.utils.set_random_seed(0)
    model = build(VAEConfig(network={"type": "mlp", "hidden_units": (16,)},
                            posterior={"type": "diagonal_normal", "latent_dim": 3}, **CONFIGS[request.param]))
    rng = np.random.default_rng(0)
    x, y = (rng.random((12, 28, 28, 1)) < 0.3).astype(np.float32), np.arange(12) % 3
    model.compile(keras.optimizers.Adam(1e-2))
    model.fit(x, y, batch_size=6, epochs=1, verbose=0)
    path = export(model, str(tmp_path_factory.mktemp("exports") / request.param), name=request.param,
                  log_likelihood_samples=10)
    return request.param, path, tf.saved_model.load(path)


def test_tf1_session_by_tensor_names_matches_tf2_load(served):
    _, path, loaded = served
    inputs = inputs_for(loaded)
    got, expected = session_outputs(path, inputs), direct_outputs(loaded, inputs)
    assert sorted(got) == sorted(expected)
    for signature in expected:
        assert_same(got[signature], expected[signature], where=signature)


def test_rest_rows_with_two_inputs_match_direct_call(served):
    name, _, loaded = served
    inputs = inputs_for(loaded)
    expected = direct_outputs(loaded, inputs)
    two_inputs = [s for s, fn in loaded.signatures.items() if len(fn.structured_input_signature[1]) == 2]
    assert set(two_inputs) == ({"decode", "sample"} if name == "m2" else set(loaded.signatures))
    for signature in loaded.signatures:
        body = json.loads(rest_request_body(signature, signature_inputs(loaded, signature, inputs)))
        if signature in two_inputs:  # each row a dict of both inputs
            assert sorted(body["instances"][0]) == sorted(loaded.signatures[signature].structured_input_signature[1])
        assert_same(rest_outputs(loaded, signature, inputs), expected[signature], rtol=1e-6, atol=0, where=signature)


def test_warmup_requests_carry_y_and_replay(served):
    name, path, loaded = served
    requests = {r.predict_log.request.model_spec.signature_name: r.predict_log.request for r in warmup_records(path)}
    assert sorted(requests) == sorted(loaded.signatures)
    for signature, request in requests.items():
        fn = loaded.signatures[signature]
        arrays = {key: tf.make_ndarray(proto) for key, proto in request.inputs.items()}
        assert set(arrays) == set(fn.structured_input_signature[1]), signature
        if "y" in arrays:
            assert arrays["y"].dtype == np.int64 and 0 <= arrays["y"].min() and arrays["y"].max() < 3
        for key, value in fn(**arrays).items():
            assert np.all(np.isfinite(value.numpy())), (signature, key)


def test_a_label_out_of_range_is_refused_with_the_range(served):
    name, _, loaded = served
    body = json.dumps({"signature_name": "sample", "inputs": {"seed": [1, 2], "y": [0, 5]}})
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"outside 0\.\.2 \(this model has 3 classes\)"):
        rest_predict(loaded, body)
