"""The shared test driver, in the style of keras-hub's `run_serialization_test` and
`run_model_saving_test`: one call checks a block, or a model, the way every block and every
kind of model must pass.

- `run_block_test(cls, arguments)`: the config round trip (get_config/from_config and Keras'
  own serialize/deserialize give the same config, and the same constructor arguments back).
- `run_model_test(model, folder)`: the config round trip; a training step changes every
  trainable weight (but the ones the case names) and an evaluation step changes no weight;
  a `.keras` save reloads in-process with identical weights and identical signature outputs;
  and the model's export, whose reload is left to `reload_exports`.
- `reload_exports(entries, folder)`: many exports reloaded in ONE fresh process that imports
  TensorFlow alone (no zoo, TFP or tf_keras), every signature run on the inputs Python ran.
- `drive(case, cases)`: `run_model_test` for every case at once, their exports reloaded in
  one process for the whole session (fewer than one per kind of model); each case's result
  (or the error it raised) is kept for the test that asks for it.

What Python computes for each signature comes from `python_signatures` alone, so a model
that declares its own signatures needs one edit here.
"""

import dataclasses
import functools
import inspect
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np
import tf_keras as keras

# What the zoo's kinds of model serve (a test of their declarations, written out).
VAE_SIGNATURES = frozenset({"serving_default", "reconstruct", "encode", "decode", "sample", "elbo", "log_likelihood"})
VQ_SIGNATURES = frozenset({"serving_default", "reconstruct", "encode", "decode", "sample", "elbo"})
SAMPLES = 4  # the importance samples of a `log_likelihood` signature in the driver's exports: enough to compare

RELOAD_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    sys.path = [p for p in sys.path if p not in ("", ".")]
    import tensorflow as tf
    reports = []
    for export_dir, inputs_path, out_path in zip(*[iter(sys.argv[1:])] * 3):
        inputs = dict(np.load(inputs_path))
        loaded = tf.saved_model.load(export_dir)
        results = {}
        for name, fn in loaded.signatures.items():
            outputs = fn(**{arg: tf.constant(inputs[arg]) for arg in fn.structured_input_signature[1]})
            for key, value in outputs.items():
                results[f"{name}/{key}"] = value.numpy()
        np.savez(out_path, **results)
        reports.append({"signatures": sorted(loaded.signatures),
                        "inputs": {name: sorted(fn.structured_input_signature[1]) for name, fn in loaded.signatures.items()}})
    leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("zoo", "recipes", "tensorflow_probability", "tf_keras"))
    print(json.dumps({"leaked": leaked, "exports": reports}))
""")


# What a model serves, and on what. -------------------------------------------------------------

def python_signatures(model, samples=None):
    """{signature: zoo.models.base.Signature(function(*inputs) -> {output: tensor}, input names)}:
    what the model declares its export serves, computed in Python (importance-sampling
    signatures with `samples` draws, when given; else the model's default)."""
    return model.signatures() if samples is None else model.signatures(samples=samples)


def example_inputs(model, batch=5, seed=0):
    """One batch for each input the model's signatures declare (`model.serving_spec`): pixels
    it can score (`model.example_pixels`), normal z, int64 seeds, conditions y, code indices;
    zeros of its dtype for an input of another name."""
    rng = np.random.default_rng(seed)
    specs = {name: model.serving_spec(name) for signature in model.signatures().values() for name in signature.inputs}
    makers = {"x": lambda shape: model.example_pixels(rng, shape), "z": rng.standard_normal,
              "seed": lambda shape: np.arange(shape[0]) * 1000 + 7,
              "y": lambda shape: model.condition.example(rng, shape[0]),
              "codes": lambda shape: rng.integers(0, model.codebook_size, shape)}
    return {name: np.asarray(makers.get(name, np.zeros)([batch, *spec.shape[1:]])).astype(spec.dtype.as_numpy_dtype)
            for name, spec in specs.items()}


def training_batch(model, batch=8, seed=1):
    """(x, y) that `fit` and `evaluate` take for `model` (y None when it takes no labels; for a
    semi-supervised model half the labels hidden)."""
    rng = np.random.default_rng(seed)
    x = model.example_pixels(rng, (batch, *model.image_shape)).astype(np.float32)
    if model.label_use == "none":
        return x, None
    y = model.condition.example(rng, batch)
    return x, (np.where(np.arange(batch) % 2, y, -1) if model.label_use == "semi_supervised" else y)


def signature_outputs(model, inputs, samples=SAMPLES):
    """{"signature/output": numpy array} of every signature, computed in Python."""
    results = {}
    for name, signature in python_signatures(model, samples).items():
        for key, value in signature.function(*(inputs[n] for n in signature.inputs)).items():
            results[f"{name}/{key}"] = np.asarray(value)
    return results


# Blocks. ---------------------------------------------------------------------------------------

def _as_json(config):
    return json.dumps(config, sort_keys=True, default=str)


def assert_config_round_trip(block):
    """keras-hub's `run_serialization_test`: config -> from_config -> the same config (as JSON),
    and the same config again through Keras' own (de)serialization; returns the copy."""
    config = block.get_config()
    again = type(block).from_config(config)
    assert _as_json(again.get_config()) == _as_json(config)
    revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(block))
    assert type(revived) is type(block)
    assert _as_json(revived.get_config()) == _as_json(config)
    return again


def constructor_arguments(cls):
    """The names of every argument of `cls`'s constructor, up its zoo base classes."""
    names = []
    for klass in cls.__mro__:
        if not klass.__module__.startswith("zoo.") or "__init__" not in vars(klass):
            continue
        parameters = inspect.signature(klass.__init__).parameters
        names += [n for n, p in parameters.items() if n != "self" and p.kind == p.POSITIONAL_OR_KEYWORD and n not in names]
        if not any(p.kind == p.VAR_KEYWORD for p in parameters.values()):
            break
    return names


def _described(value):
    if isinstance(value, keras.layers.Layer):  # a block inside a block (TopDown's top prior)
        return type(value).__name__ + _as_json(value.get_config())
    return _as_json(value)


def run_block_test(cls, arguments):
    """The block `cls(**arguments)` round-trips its config, its copy holds the same value of
    every constructor argument, and the arguments given are the ones it holds."""
    block = cls(**arguments)
    again = assert_config_round_trip(block)
    for argument in constructor_arguments(cls):  # a starting value of a weight is kept as initial_<argument>
        attribute = f"initial_{argument}" if hasattr(block, f"initial_{argument}") else argument
        assert _described(getattr(again, attribute, None)) == _described(getattr(block, attribute, None)), argument
    for argument, value in arguments.items():
        if not isinstance(value, dict):  # a block given by its spec is compared above
            attribute = f"initial_{argument}" if hasattr(block, f"initial_{argument}") else argument
            assert _as_json(getattr(again, attribute, None)) == _as_json(value), argument
    return block, again


# Models. ---------------------------------------------------------------------------------------

def _snapshot(variables):
    """{index: value} of `variables` (tf_keras names repeat across layers, so indices)."""
    return {i: v.numpy().copy() for i, v in enumerate(variables)}


def _changed(before, variables):
    return {i for i, value in _snapshot(variables).items() if not np.array_equal(value, before[i])}


def _state(model):
    """The model's weights but its metrics' running totals, which `evaluate` restarts by design."""
    metrics = list(model.metrics) + [m for m in vars(model).values() if isinstance(m, keras.metrics.Metric)]
    metric_variables = {id(v) for metric in metrics for v in metric.variables}
    return [v for v in model.weights if id(v) not in metric_variables]


def assert_training_step_changes_weights(model, x, y, frozen=()):
    """One `fit` step changes every trainable weight but those of the model's parts named in
    `frozen` (attributes of the model, e.g. a VQ-VAE's "prior", trained by `fit_prior`)."""
    held = {id(v) for part in frozen for v in getattr(model, part).trainable_weights}
    variables = model.trainable_weights
    before = _snapshot(variables)
    model.fit(x, y, batch_size=len(x), epochs=1, verbose=0, shuffle=False)
    changed = _changed(before, variables)
    unexpected = sorted(variables[i].name for i in set(before) - changed if id(variables[i]) not in held)
    assert not unexpected, f"a training step left these trainable weights unchanged: {unexpected}"
    moved = sorted(variables[i].name for i in changed if id(variables[i]) in held)
    assert not moved, f"a training step changed weights of {frozen}: {moved}"


def assert_evaluation_changes_no_weight(model, x, y):
    variables = _state(model)
    before = _snapshot(variables)
    model.evaluate(x, y, batch_size=len(x), verbose=0)
    changed = sorted(variables[i].name for i in _changed(before, variables))
    assert not changed, f"an evaluation step changed {changed}"


def assert_keras_reload_identical(model, folder, inputs, samples=SAMPLES):
    """`.keras` save, `keras.models.load_model` in this process: the same config, the same
    weights and optimizer state, identical outputs from every signature; returns the outputs."""
    path = os.path.join(folder, "model.keras")
    model.save(path)
    reloaded = keras.models.load_model(path)
    assert type(reloaded) is type(model)
    assert _as_json(reloaded.get_config()) == _as_json(model.get_config())
    assert [w.shape for w in reloaded.weights] == [w.shape for w in model.weights]
    for a, b in zip(model.weights, reloaded.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.name)
    if model.optimizer is not None:  # the optimizer came back too: `fit` continues where it was
        assert reloaded.optimizer.iterations.numpy() == model.optimizer.iterations.numpy() > 0
        for a, b in zip(model.optimizer.variables(), reloaded.optimizer.variables()):
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=f"optimizer {a.name}")
    expected, got = signature_outputs(model, inputs, samples), signature_outputs(reloaded, inputs, samples)
    assert sorted(got) == sorted(expected)
    for key, value in expected.items():
        np.testing.assert_array_equal(got[key], value, err_msg=f".keras reload: {key}")
    return expected


def export_model(model, folder, name="model", samples=SAMPLES):
    """`model.export`: its next version under folder/name, `log_likelihood` at `samples` (the
    recipe setting export reads; `model.export` takes no count of its own)."""
    return model.export(os.path.join(folder, name), config={"train": {"log_likelihood_samples": samples}})


@dataclasses.dataclass
class Driven:
    """What `run_model_test` made of one model: the trained model, its export and the inputs
    and outputs Python gave; `served` (the outputs of the reloaded export) and `reload_report`
    come from `reload_exports`; `seconds` are the time of each part."""
    model: object
    export_path: str
    inputs: dict
    expected: dict
    served: dict = None
    reload_report: dict = None
    seconds: dict = dataclasses.field(default_factory=dict)


def run_model_test(model, folder, frozen=(), samples=SAMPLES, learning_rate=1e-2):
    """keras-hub's `run_model_saving_test` for a zoo model: config round trip, a training step
    that changes the weights and an evaluation step that does not, `.keras` reload with
    identical outputs, and an export (left for `reload_exports` to check)."""
    seconds = {}
    start = time.perf_counter()
    assert_config_round_trip(model)
    seconds["config"] = time.perf_counter() - start
    x, y = training_batch(model)
    model.compile(keras.optimizers.Adam(learning_rate))
    start = time.perf_counter()
    assert_training_step_changes_weights(model, x, y, frozen)
    assert_evaluation_changes_no_weight(model, x, y)
    seconds["train_and_evaluate"] = time.perf_counter() - start
    inputs = example_inputs(model)
    start = time.perf_counter()
    expected = assert_keras_reload_identical(model, folder, inputs, samples)
    seconds["keras_reload"] = time.perf_counter() - start
    start = time.perf_counter()
    path = export_model(model, os.path.join(folder, "exports"), samples=samples)
    seconds["export"] = time.perf_counter() - start
    return Driven(model, path, inputs, expected, seconds=seconds)


def reload_exports(entries, folder):
    """Reload each `Driven` export in ONE fresh process that imports TensorFlow alone; fill in
    their `served` outputs and report, and return the process's report."""
    args = []
    for index, entry in enumerate(entries):
        inputs_path, out_path = os.path.join(folder, f"inputs{index}.npz"), os.path.join(folder, f"outputs{index}.npz")
        np.savez(inputs_path, **entry.inputs)
        args += [entry.export_path, inputs_path, out_path]
    env = {**os.environ, "PYTHONPATH": "", "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, "-c", RELOAD_SCRIPT, *args], capture_output=True, text=True, env=env,
                          cwd=folder, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    for index, (entry, exported) in enumerate(zip(entries, report["exports"])):
        entry.served = dict(np.load(os.path.join(folder, f"outputs{index}.npz")))
        entry.reload_report = {"leaked": report["leaked"], **exported}
    return report


def assert_served_like_python(driven, rtol=1e-4, atol=1e-4):
    """The export reloaded without zoo, TFP or tf_keras, has every signature Python has, and
    each output matches Python's."""
    assert driven.reload_report["leaked"] == [], f"the reload imported {driven.reload_report['leaked']}"
    declared = python_signatures(driven.model)
    assert driven.reload_report["signatures"] == sorted(declared)
    assert driven.reload_report["inputs"] == {name: sorted(s.inputs) for name, s in declared.items()}
    assert sorted(driven.served) == sorted(driven.expected)
    for key, value in driven.expected.items():
        np.testing.assert_allclose(driven.served[key], value, rtol=rtol, atol=atol, err_msg=key)


# Cases: the models to drive, all run together. ---------------------------------------------------

@dataclasses.dataclass(frozen=True)
class ModelCase:
    """A model for the driver: `build()` makes it afresh (seeded); `kind` is its class's name
    (each kind of model has a case); `frozen` names the parts (attributes) whose weights a `fit`
    step leaves alone by design (a VQ-VAE's code prior, trained by `fit_prior`)."""
    name: str
    kind: str
    build: object
    blocks: frozenset = frozenset()  # {(registry, type name)} of the blocks it holds
    frozen: tuple = ()
    samples: int = SAMPLES
    rtol: float = 1e-4
    atol: float = 1e-4


_FOLDER = tempfile.TemporaryDirectory(prefix="zoo-driver-")  # removed when the session ends


@functools.lru_cache(maxsize=None)
def _drive_all(cases):
    """{case name: Driven or the exception it raised} for `cases`, their exports reloaded
    together in one process (TensorFlow's start-up paid once for every kind of model)."""
    results, driven = {}, []
    for case in cases:
        folder = tempfile.mkdtemp(prefix=f"{case.name}-", dir=_FOLDER.name)
        try:
            keras.utils.set_random_seed(0)
            model = case.build()
            assert type(model).__name__ == case.kind, f"{case.name} builds a {type(model).__name__}, not a {case.kind}"
            results[case.name] = run_model_test(model, folder, case.frozen, case.samples)
            driven.append(results[case.name])
        except Exception as error:  # kept for the case's own test to raise
            results[case.name] = error
    if driven:
        start = time.perf_counter()
        try:
            reload_exports(driven, tempfile.mkdtemp(prefix="reload-", dir=_FOLDER.name))
        except Exception as error:
            for name, result in results.items():
                if isinstance(result, Driven):
                    results[name] = error
        for entry in driven:
            entry.seconds["reload_share"] = (time.perf_counter() - start) / len(driven)
    return results


def drive(case, all_cases):
    """The driver's result for `case`, made together with every case of `all_cases` (once per
    session: one process reloads all their exports); raises what the case raised, and checks
    its served outputs."""
    result = _drive_all(tuple(all_cases))[case.name]
    if isinstance(result, Exception):
        raise result
    assert_served_like_python(result, case.rtol, case.atol)
    return result
