"""Test helpers beside the driver (tests/driver.py): tiny recipes trained a step, a served
export in a subprocess to send it bad requests, a `.keras` file reloaded in a fresh process
with a user's own layers, and hand computations. The export and config checks here are the
driver's, for one model at a time (`example_inputs`, `assert_config_round_trip` are
re-exported for the files that import them from here)."""

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import tf_keras as keras

from driver import (Driven, assert_config_round_trip, assert_served_like_python, example_inputs,  # noqa: F401
                    reload_exports, signature_outputs)
from zoo.config import Recipe, TrainConfig, VAEConfig
from zoo.models.builder import build

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


def tiny_recipe(network, likelihood, sigma="learned", **overrides):
    """A recipe small enough to build, train a step and export in seconds (`overrides`: other
    fields as `--set` takes them, e.g. prior="vamp", components=3)."""
    network_spec = {"type": network, "hidden_units": (16,)} if network == "mlp" else {"type": network,
                                                                                     "conv_filters": (4, 8)}
    likelihood_spec = {"type": likelihood, "sigma": sigma} if likelihood == "gaussian" else {"type": likelihood}
    recipe = Recipe(name=f"test_{network}_{likelihood}", description="test",
                    model=VAEConfig(network=network_spec, posterior={"type": "diagonal_normal", "latent_dim": 3},
                                    likelihood=likelihood_spec),
                    train=TrainConfig(dataset="mnist", binarization="dynamic" if likelihood == "bernoulli" else "none"))
    return recipe.with_overrides(overrides) if overrides else recipe


def trained_a_little(recipe):
    """`recipe`'s model after one short epoch, so weights (and a learned sigma) are off init."""
    keras.utils.set_random_seed(0)
    model = build(recipe.model)
    model.compile(keras.optimizers.Adam(1e-2))
    model.fit(example_inputs(model, batch=20)["x"], batch_size=10, epochs=1, verbose=0)
    return model


def expected_outputs(model, inputs):
    """Every signature's outputs computed in Python (`log_likelihood` at its default samples)."""
    return signature_outputs(model, inputs, samples=None)


def reload_outputs(export_path, inputs, tmp_path):
    """Run every signature of `export_path` in a subprocess that imports only TensorFlow
    (tests/driver.py's `reload_exports`, for one export): (its report, its outputs)."""
    entry = Driven(None, str(export_path), inputs, {})
    reload_exports([entry], str(tmp_path))
    return entry.reload_report, entry.served


def serve_requests(export_path, bodies):
    """Send REST row-format bodies, one by one, to a subprocess that serves `export_path`
    as TF Serving's REST handler does (`serving_clients.rest_predict`), answering each
    error as {"error": ...} and going on; return its exit code, its answers and its stderr."""
    tests = pathlib.Path(__file__).resolve().parent
    env = {**os.environ, "PYTHONPATH": f"{tests}{os.pathsep}{tests.parent}", "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, "-c", SERVE_SCRIPT, export_path], input="\n".join(bodies) + "\n",
                          capture_output=True, text=True, env=env, cwd=str(tests.parent), timeout=300)
    return done.returncode, [json.loads(line) for line in done.stdout.splitlines()], done.stderr


def assert_export_matches_model(model, export_path, tmp_path, *, samples, rtol=1e-5, atol=1e-5):
    """The export loads without zoo, has every signature, and each output matches Python (one
    subprocess per call: tests/driver.py's `drive` reloads many exports in one); `samples`:
    the K the export's importance-sampling signatures were written with. It has no default:
    a default of the model's K = 5,000 silently compared exports written with the recipe's K."""
    inputs = example_inputs(model)
    entry = Driven(model, str(export_path), inputs, signature_outputs(model, inputs, samples=samples))
    reload_exports([entry], str(tmp_path))
    assert_served_like_python(entry, rtol, atol)
    return entry.served


def folder_snapshot(folder):
    """{relative path: bytes, None for a folder} of everything under `folder`, hidden files
    included: equal snapshots mean nothing was added, removed or changed."""
    folder = pathlib.Path(folder)
    return {str(path.relative_to(folder)): path.read_bytes() if path.is_file() else None
            for path in sorted(folder.rglob("*"))}


KERAS_RELOAD_SCRIPT = textwrap.dedent("""
    import importlib, json, sys
    import numpy as np
    import tf_keras as keras
    import zoo.models.vae  # registers the zoo's blocks; a user's own layers register themselves alike
    keras_path, inputs_path, out_path, *user = sys.argv[1:]
    if user:  # the folder and module of the user's own registered layers
        sys.path.insert(0, user[0])
        importlib.import_module(user[1])
    x = np.load(inputs_path)["x"]
    model = keras.models.load_model(keras_path)
    before = model.elbo(x).numpy()
    model.compile(keras.optimizers.Adam(1e-3))
    history = model.fit(x, batch_size=len(x) // 2, epochs=1, verbose=0).history
    np.savez(out_path, elbo=before, after=model.elbo(x).numpy())
    print(json.dumps({"loss": history["loss"], "epochs_trained": float(model.epochs_trained.numpy())}))
""")


def reload_keras_in_fresh_process(keras_path, x, tmp_path, module_dir=None, module=None):
    """Load `keras_path` with `keras.models.load_model` in a new process (importing `module`
    from `module_dir` first, for a user's own registered layers), score x, fit one epoch;
    returns (its report, its ELBO of x before the fit, after it)."""
    inputs_path, out_path = tmp_path / "keras_inputs.npz", tmp_path / "keras_outputs.npz"
    np.savez(inputs_path, x=x)
    args = [sys.executable, "-c", KERAS_RELOAD_SCRIPT, str(keras_path), str(inputs_path), str(out_path)]
    if module:
        args += [str(module_dir), module]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(args, capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    outputs = np.load(out_path)
    return json.loads(done.stdout.strip().splitlines()[-1]), outputs["elbo"], outputs["after"]


def normal_log_density(z, loc, scale):
    """log N(z; loc, scale) elementwise, in float64."""
    z, loc, scale = (np.asarray(a, np.float64) for a in (z, loc, scale))
    return -0.5 * ((z - loc) / scale) ** 2 - np.log(scale) - 0.5 * np.log(2 * np.pi)


def beta_tcvae_parts_by_hand(loc, scale, z, log_p, dataset_size):
    """beta-TCVAE's three parts of the KL per example [B], averaged over the draws z [S, B, D]
    of q(z|x_i) = N(loc_i, scale_i) ([B, D]) with log p(z) [S, B], by minibatch-weighted
    sampling: log q(z_i) ~= log sum_j q(z_i|x_j) - log(N M), and per latent alike."""
    per_latent = normal_log_density(z[:, :, None, :], loc[None, None], scale[None, None])  # [S, i, j, D]
    batch = loc.shape[0]
    log_nm = np.log(dataset_size * batch)
    log_q = np.einsum("siid->si", per_latent)  # each draw under its own example's q
    log_qz = np.logaddexp.reduce(per_latent.sum(-1), axis=2) - log_nm
    log_marginals = (np.logaddexp.reduce(per_latent, axis=2) - log_nm).sum(-1)
    return {"mutual_information": (log_q - log_qz).mean(0), "total_correlation": (log_qz - log_marginals).mean(0),
            "dimension_wise_kl": (log_marginals - np.asarray(log_p, np.float64)).mean(0)}


def dip_penalty_by_hand(means, covariances, kind, lambda_od, lambda_d):
    """DIP-VAE's penalty from q's means [B, D] and covariances [B, D, D] with numpy's covariance
    (1/B): C = Cov[mu] ("i"), or Cov[mu] + E[Cov(z|x)] ("ii")."""
    c = np.cov(np.asarray(means, np.float64), rowvar=False, bias=True)
    if kind == "ii":
        c = c + np.asarray(covariances, np.float64).mean(0)
    off = c - np.diag(np.diag(c))
    return lambda_od * np.sum(off ** 2) + lambda_d * np.sum((np.diag(c) - 1) ** 2)
