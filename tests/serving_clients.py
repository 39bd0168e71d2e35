"""Run an export the ways TF Serving and its tools do, each returning {signature: {output: array}}.

TF Serving cannot run here, so each path is emulated with the same machinery the server
uses: the TF1 SavedModel loader in a graph session (as the C++ server loads models),
`saved_model_cli run`, and the REST API's JSON row format.
"""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2

from zoo.export.serving import WARMUP_FILE, example_inputs

SAVED_MODEL_CLI = str(pathlib.Path(sys.executable).parent / "saved_model_cli")
CLI_ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}


def signature_names(loaded):
    return sorted(loaded.signatures)


def inputs_for(loaded, batch=2):
    """A small batch for every input any signature takes (x binary, so valid for any likelihood)."""
    specs = {}
    for fn in loaded.signatures.values():
        specs.update(fn.structured_input_signature[1])
    return example_inputs(specs, binary=True, batch=batch)


def signature_inputs(loaded, name, inputs):
    return {key: inputs[key] for key in loaded.signatures[name].structured_input_signature[1]}


def direct_outputs(loaded, inputs):
    """TF2: `tf.saved_model.load(path).signatures[name](**inputs)`."""
    return {name: {key: value.numpy() for key, value in fn(**signature_inputs(loaded, name, inputs)).items()}
            for name, fn in loaded.signatures.items()}


def session_outputs(path, inputs):
    """TF1 graph session, fed and fetched by tensor name, as TF Serving's C++ loader runs it."""
    results = {}
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        meta = tf.compat.v1.saved_model.loader.load(sess, ["serve"], path)
        for name, signature in meta.signature_def.items():
            if name.startswith("__"):  # __saved_model_init_op: restores variables, not servable
                continue
            feed = {info.name: inputs[key] for key, info in signature.inputs.items()}
            results[name] = sess.run({key: info.name for key, info in signature.outputs.items()}, feed_dict=feed)
    return results


def cli(*args):
    done = subprocess.run([SAVED_MODEL_CLI, *args], capture_output=True, text=True, env=CLI_ENV, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def cli_outputs(path, name, inputs, workdir):
    """`saved_model_cli run` of one signature, inputs from .npy files, outputs read back from .npy."""
    workdir = pathlib.Path(workdir) / name
    workdir.mkdir(parents=True, exist_ok=True)
    specs = []
    for key, value in inputs.items():
        np.save(workdir / f"in_{key}.npy", value)
        specs.append(f"{key}={workdir / f'in_{key}.npy'}")
    outdir = workdir / "out"
    cli("run", "--dir", str(path), "--tag_set", "serve", "--signature_def", name,
        "--inputs", ";".join(specs), "--outdir", str(outdir), "--overwrite")
    return {file.stem: np.load(file) for file in outdir.glob("*.npy")}


def rest_request_body(signature_name, inputs):
    """The JSON a client POSTs to /v1/models/<model>:predict in the row ("instances") format:
    bare values per row for a single input, else one object per row."""
    if len(inputs) == 1:
        (value,) = inputs.values()
        instances = value.tolist()
    else:
        rows = len(next(iter(inputs.values())))
        instances = [{key: value[i].tolist() for key, value in inputs.items()} for i in range(rows)]
    return json.dumps({"signature_name": signature_name, "instances": instances})


def rest_predict(loaded, body):
    """What TF Serving's REST handler does with a row-format body ("instances", answered with
    "predictions") or a columnar one ("inputs", answered with "outputs"); returns the JSON response."""
    request = json.loads(body)
    signature = loaded.signatures[request.get("signature_name", "serving_default")]
    specs = signature.structured_input_signature[1]
    if "inputs" in request:
        columns = request["inputs"] if isinstance(request["inputs"], dict) else {next(iter(specs)): request["inputs"]}
        outputs = signature(**{key: tf.constant(columns[key], dtype=spec.dtype) for key, spec in specs.items()})
        return json.dumps({"outputs": {key: value.numpy().tolist() for key, value in outputs.items()}})
    rows = request["instances"]
    columns = {next(iter(specs)): rows} if len(specs) == 1 else {key: [row[key] for row in rows] for key in specs}
    outputs = signature(**{key: tf.constant(columns[key], dtype=spec.dtype) for key, spec in specs.items()})
    outputs = {key: value.numpy() for key, value in outputs.items()}
    if len(outputs) == 1:  # TF Serving then answers bare values per row
        predictions = next(iter(outputs.values())).tolist()
    else:
        predictions = [{key: value[i].tolist() for key, value in outputs.items()} for i in range(len(rows))]
    return json.dumps({"predictions": predictions})


def rest_outputs(loaded, name, inputs):
    """Round trip through JSON: body out, response back, rows stacked into arrays per output."""
    response = json.loads(rest_predict(loaded, rest_request_body(name, signature_inputs(loaded, name, inputs))))
    rows = response["predictions"]
    return {key: np.array([row[key] for row in rows]) for key in rows[0]}


def warmup_records(path):
    """The PredictionLog records of an export's warm-up file."""
    return [prediction_log_pb2.PredictionLog.FromString(record.numpy())
            for record in tf.data.TFRecordDataset(os.path.join(path, WARMUP_FILE))]


def assert_same(got, expected, rtol=1e-5, atol=1e-5, where=""):
    """Same output keys, same numbers."""
    assert sorted(got) == sorted(expected), where
    for key, value in expected.items():
        np.testing.assert_allclose(got[key], value, rtol=rtol, atol=atol, err_msg=f"{where}/{key}")
