"""The shared test harness: tiny variants trained a step, the export check (save a model,
reload it in a fresh process without zoo or TFP, compare every signature with Python), and
a served export in a subprocess, to send it bad requests."""

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import tf_keras as keras

from zoo.config import Recipe, TrainConfig, VAEConfig
from zoo.export import signature_inputs
from zoo.model import VAE

RELOAD_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    sys.path = [p for p in sys.path if p not in ("", ".")]
    import tensorflow as tf
    export_dir, inputs_path, out_path = sys.argv[1:]
    inputs = dict(np.load(inputs_path))
    loaded = tf.saved_model.load(export_dir)
    results = {}
    for name, fn in loaded.signatures.items():
        (arg,) = fn.structured_input_signature[1].keys()
        outputs = fn(**{arg: tf.constant(inputs[arg])})
        for key, value in outputs.items():
            results[f"{name}/{key}"] = value.numpy()
    leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("zoo", "recipes", "tensorflow_probability", "tf_keras"))
    np.savez(out_path, **results)
    print(json.dumps({"leaked": leaked, "signatures": sorted(loaded.signatures)}))
""")

SERVE_SCRIPT = textwrap.dedent("""
    import json, sys
    import tensorflow as tf
    from serving_clients import rest_predict
    loaded = tf.saved_model.load(sys.argv[1])
    for body in sys.stdin:
        try:
            answer = json.loads(rest_predict(loaded, body))
        except Exception as error:  # TF Serving answers {"error": ...} with HTTP 400
            answer = {"error": f"{type(error).__name__}: {error}"}
        print(json.dumps(answer), flush=True)
""")


def tiny_recipe(network, likelihood, sigma="learned", **model):
    """A recipe small enough to build, train a step and export in seconds (`model`: other
    VAEConfig fields)."""
    return Recipe(name=f"test_{network}_{likelihood}", description="test",
                  model=VAEConfig(network=network, likelihood=likelihood, sigma=sigma, hidden_units=(16,),
                                  conv_filters=(4, 8), latent_dim=3, **model),
                  train=TrainConfig(dataset="mnist", binarization="dynamic" if likelihood == "bernoulli" else "none"))


def trained_a_little(recipe):
    """`recipe`'s model after one short epoch, so weights (and a learned sigma) are off init."""
    keras.utils.set_random_seed(0)
    model = VAE(recipe.model)
    model.compile(keras.optimizers.Adam(1e-2))
    model.fit(example_inputs(model, batch=20)["x"], batch_size=10, epochs=1, verbose=0)
    return model


def example_inputs(model, batch=5, seed=0):
    """One batch for each signature input: binary x, normal z, int64 seeds."""
    rng = np.random.default_rng(seed)
    x = (rng.random((batch, *model.variant.image_shape)) < 0.3).astype(np.float32)
    z = rng.standard_normal((batch, *model.code_shape)).astype(np.float32)
    return {"x": x, "z": z, "seed": np.arange(batch, dtype=np.int64) * 1000 + 7}


def expected_outputs(model, inputs):
    results = {}
    for name, (function, input_name) in signature_inputs(model).items():
        for key, value in function(model, inputs[input_name]).items():
            results[f"{name}/{key}"] = np.asarray(value)
    return results


def reload_outputs(export_path, inputs, tmp_path):
    """Run every signature of `export_path` in a subprocess that imports only TensorFlow."""
    inputs_path, out_path = tmp_path / "inputs.npz", tmp_path / "outputs.npz"
    np.savez(inputs_path, **inputs)
    env = {**os.environ, "PYTHONPATH": "", "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, "-c", RELOAD_SCRIPT, export_path, str(inputs_path), str(out_path)],
                          capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return report, dict(np.load(out_path))


def serve_requests(export_path, bodies):
    """Send REST row-format bodies, one by one, to a subprocess that serves `export_path`
    as TF Serving's REST handler does (`serving_clients.rest_predict`), answering each
    error as {"error": ...} and going on; return its exit code, its answers and its stderr."""
    tests = pathlib.Path(__file__).resolve().parent
    env = {**os.environ, "PYTHONPATH": f"{tests}{os.pathsep}{tests.parent}", "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, "-c", SERVE_SCRIPT, export_path], input="\n".join(bodies) + "\n",
                          capture_output=True, text=True, env=env, cwd=str(tests.parent), timeout=300)
    return done.returncode, [json.loads(line) for line in done.stdout.splitlines()], done.stderr


def assert_export_matches_model(model, export_path, tmp_path, rtol=1e-5, atol=1e-5):
    """The export loads without zoo, has every signature, and each output matches Python."""
    inputs = example_inputs(model)
    report, outputs = reload_outputs(export_path, inputs, tmp_path)
    assert report["leaked"] == [], f"the reload imported {report['leaked']}"
    assert report["signatures"] == sorted(signature_inputs(model))
    expected = expected_outputs(model, inputs)
    assert sorted(outputs) == sorted(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(outputs[key], value, rtol=rtol, atol=atol, err_msg=key)
    return outputs


def folder_snapshot(folder):
    """{relative path: bytes, None for a folder} of everything under `folder`, hidden files
    included: equal snapshots mean nothing was added, removed or changed."""
    folder = pathlib.Path(folder)
    return {str(path.relative_to(folder)): path.read_bytes() if path.is_file() else None
            for path in sorted(folder.rglob("*"))}
