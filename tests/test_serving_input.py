"""Bad requests get a clear error or a defined answer, never a dead server (issue 6).

Every case goes to every signature of a tiny export loaded with `tf.saved_model.load`;
some go as REST bodies to a subprocess serving the export, which must answer a good request
after them. README ("Serving with TF Serving") lists what each case gets; zoo/export/request_checks.py
says why the signatures check their own input."""

import dataclasses
import json
import os
import re

import numpy as np
import pytest
import tensorflow as tf

from harness import example_inputs, serve_requests, tiny_recipe
from serving_clients import rest_predict, rest_request_body
from zoo.export.savedmodel import export
from driver import VAE_SIGNATURES
from zoo.models.builder import build

RECIPE = tiny_recipe("mlp", "bernoulli", aggregate_posterior_components=2)  # every signature
RECIPE = dataclasses.replace(RECIPE, train=dataclasses.replace(RECIPE.train, log_likelihood_samples=20))
# The signatures of a model with an aggregate-posterior sampler (the `served` fixture checks the
# export has exactly these), with their inputs.
INPUTS = {"serving_default": "x", "reconstruct": "x", "encode": "x", "decode": "z", "sample": "seed", "elbo": "x",
          "log_likelihood": "x", "sample_aggregate_posterior": "seed"}
assert set(INPUTS) > set(VAE_SIGNATURES)
SIGNATURES = sorted(INPUTS)
FLOAT_SIGNATURES = [name for name in SIGNATURES if INPUTS[name] != "seed"]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The export's path, the export loaded, and a good batch of 5 for each input."""
    model = build(RECIPE.model)
    assert {name: signature.inputs for name, signature in model.signatures().items()} == {
        name: (input_name,) for name, input_name in INPUTS.items()}
    path = export(model, os.path.join(tmp_path_factory.mktemp("exports"), RECIPE.name), config=RECIPE.to_dict(),
                  metrics={}, name=RECIPE.name)
    loaded = tf.saved_model.load(path)
    assert sorted(loaded.signatures) == SIGNATURES
    return path, loaded, example_inputs(model)


def _signature(served, name):
    """The signature, its input's name and a good batch for it."""
    _, loaded, inputs = served
    fn = loaded.signatures[name]
    (input_name,) = fn.structured_input_signature[1]
    return fn, input_name, inputs[input_name]


def shape_error(input_name, sent, good):
    """The message of the signature's shape check (tf.ensure_shape) for a request `sent`."""
    got = ",".join(map(str, sent.shape))
    need = "".join(f",{size}" for size in good.shape[1:])
    return re.escape(f"Shape of tensor {input_name} [{got}] is not compatible with expected shape [?{need}]")


def bad_shapes(good):
    """Requests of the wrong rank, and of the wrong size (27x27 images, a latent short of one)."""
    shapes = {"rank too low": good[0], "rank too high": good[None]}
    if good.ndim > 1:
        shapes["wrong size"] = np.zeros([len(good), *(max(size - 1, 1) for size in good.shape[1:])], good.dtype)
    return shapes


def bad_dtypes(good):
    """{dtype name in TF's message: a request of that dtype}: ints for floats, floats for seeds, strings."""
    other = {"int32": good.astype(np.int32)} if good.dtype == np.float32 else {"float": good.astype(np.float32)}
    return {**other, "string": np.full(good.shape, "a")}


@pytest.mark.parametrize("name", SIGNATURES)
def test_a_wrong_shape_or_dtype_gets_a_clear_error(served, name):
    fn, input_name, good = _signature(served, name)
    for sent in bad_shapes(good).values():
        with pytest.raises(tf.errors.InvalidArgumentError, match=shape_error(input_name, sent, good)):
            fn(**{input_name: tf.constant(sent)})
    need = "float" if good.dtype == np.float32 else "int64"
    for dtype, sent in bad_dtypes(good).items():
        message = f"expected to be a {need} tensor but is a {dtype} tensor"
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            fn(**{input_name: tf.constant(sent)})


@pytest.mark.parametrize("name", FLOAT_SIGNATURES)
def test_a_row_with_nan_or_inf_gets_nan_and_the_other_rows_their_answer(served, name):
    fn, input_name, good = _signature(served, name)
    sent = good.copy()
    sent[1].flat[-1], sent[3].flat[0] = np.nan, -np.inf
    expected, got = fn(**{input_name: tf.constant(good)}), fn(**{input_name: tf.constant(sent)})
    for key, value in got.items():
        value = value.numpy()
        assert np.isnan(value[[1, 3]]).all(), key
        np.testing.assert_allclose(value[[0, 2, 4]], expected[key].numpy()[[0, 2, 4]], rtol=1e-5, atol=1e-6,
                                   err_msg=key)


@pytest.mark.parametrize("name", SIGNATURES)
def test_an_empty_batch_gets_empty_outputs(served, name):
    fn, input_name, good = _signature(served, name)
    expected, got = fn(**{input_name: tf.constant(good)}), fn(**{input_name: tf.constant(good[:0])})
    assert sorted(got) == sorted(expected)
    for key, value in got.items():
        assert value.shape == (0, *expected[key].shape[1:]) and value.dtype == expected[key].dtype, key


def test_a_served_export_survives_bad_requests_and_answers_a_good_one(served):
    path, loaded, inputs = served
    x, z = inputs["x"][:2], inputs["z"][:2]
    nan_x = x.copy()
    nan_x[0, 0, 0, 0] = np.nan
    bodies = {  # case -> (body, what the answer must say)
        "27x27 images": (rest_request_body("encode", {"x": x[:, 1:, 1:]}),
                         shape_error("x", x[:, 1:, 1:], x)),
        "latent short of one": (rest_request_body("decode", {"z": z[:, 1:]}), shape_error("z", z[:, 1:], z)),
        "strings for pixels": (json.dumps({"signature_name": "elbo", "instances": ["a", "b"]}),
                               "TypeError: .*dtype float"),
        "fractional seeds": (json.dumps({"signature_name": "sample", "instances": [1.5, 2.5]}),
                             "TypeError: .*dtype int64"),
        "images of two sizes": (json.dumps({"signature_name": "reconstruct",
                                            "instances": [x[0].tolist(), x[0, 1:, 1:].tolist()]}),
                                "ValueError: .*non-rectangular"),
        "a NaN pixel": (rest_request_body("reconstruct", {"x": nan_x}), None),
        "good": (rest_request_body("encode", {"x": x}), None),
    }
    code, answers, stderr = serve_requests(path, [body for body, _ in bodies.values()])
    assert code == 0 and len(answers) == len(bodies), stderr[-3000:]
    answers = dict(zip(bodies, answers))
    for case, (_, error) in bodies.items():
        if error:
            assert re.search(error, answers[case].get("error", ""), re.S), (case, answers[case])
    nan_row, finite_row = answers["a NaN pixel"]["predictions"]
    assert all(np.isnan(value).all() for value in nan_row.values())
    assert all(np.isfinite(value).all() for value in finite_row.values())
    expected = json.loads(rest_predict(loaded, bodies["good"][0]))["predictions"]
    for key in expected[0]:
        np.testing.assert_allclose([row[key] for row in answers["good"]["predictions"]],
                                   [row[key] for row in expected], rtol=1e-6, err_msg=key)
