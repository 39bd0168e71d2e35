"""What TF Serving reads besides the SavedModel: warm-up requests and `models.config`.

Warm-up requests (`assets.extra/tf_serving_warmup_requests` in each version) are replayed by
TF Serving when it loads the version, so the first real request does not pay for
initialising every signature. `models.config` in the export folder lists every recipe, so
one server (`--model_config_file`) serves all of them; it is merged and replaced under a lock,
so recipes exporting at once all stay in it.
"""

import contextlib
import fcntl
import os
import tempfile

import numpy as np
import tensorflow as tf
from google.protobuf import text_format
from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2
from tensorflow_serving.config import model_server_config_pb2

from zoo.errors import ZooError
from zoo.layers.likelihoods import Bernoulli, ImageLikelihood


WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")
MAX_WARMUP_RECORDS = 1000  # TF Serving rejects a warm-up file with more
MODELS_CONFIG = "models.config"


def example_inputs(specs, binary=True, batch=2, seed=0, pixels=None):
    """A small realistic batch per input spec: pixels x from `pixels(rng, shape)` (a
    likelihood's `example_pixels`; by default 0/1 when `binary`, else uniform in [0, 1]),
    latents z ~ N(0, 1), int64 seeds, conditions y (labels 0 and 1 in turn, valid for any
    number of classes, or N(0, 1) vectors), VQ-VAE codes (0 and 1 in turn). Deterministic,
    so exports are reproducible."""
    pixels = pixels or (Bernoulli if binary else ImageLikelihood).example_pixels
    rng = np.random.default_rng(seed)
    makers = {
        "x": lambda shape: pixels(rng, shape),
        "z": rng.standard_normal,
        "seed": lambda shape: np.arange(shape[0]) * 1000 + 7,
        "y": lambda shape: np.arange(shape[0]) % 2 if len(shape) == 1 else rng.standard_normal(shape),
        "codes": lambda shape: np.arange(np.prod(shape)).reshape(shape) % 2,  # valid for any codebook
    }
    other = lambda shape: np.zeros(shape)  # an input of another kind of model: zeros of its dtype
    return {name: makers.get(name, other)([batch, *spec.shape[1:]]).astype(spec.dtype.as_numpy_dtype)
            for name, spec in specs.items()}


def warmup_requests(model, model_name, batch=2):
    """One PredictionLog per export signature, each a PredictRequest for a small batch."""
    signatures = model.signatures()
    specs = {name: model.serving_spec(name) for signature in signatures.values() for name in signature.inputs}
    inputs = example_inputs(specs, pixels=model.example_pixels, batch=batch)
    logs = []
    for signature, (_, input_names) in signatures.items():
        request = predict_pb2.PredictRequest(
            model_spec=model_pb2.ModelSpec(name=model_name, signature_name=signature))
        for name in input_names:
            request.inputs[name].CopyFrom(tf.make_tensor_proto(inputs[name]))
        logs.append(prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request)))
    return logs


def write_warmup_requests(model, model_name, version_dir):
    """Write `model`'s warm-up requests into an export's version folder; return the file."""
    logs = warmup_requests(model, model_name)
    if len(logs) > MAX_WARMUP_RECORDS:
        raise ValueError(f"{len(logs)} warm-up requests; TF Serving accepts at most {MAX_WARMUP_RECORDS}")
    path = os.path.join(version_dir, WARMUP_FILE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tf.io.TFRecordWriter(path) as writer:
        for log in logs:
            writer.write(log.SerializeToString())
    return path


def served_recipes(export_dir):
    """Recipe folders in `export_dir` holding at least one integer version, sorted."""
    def has_version(folder):
        return any(name.isdigit() and os.path.isdir(os.path.join(folder, name)) for name in os.listdir(folder))

    return sorted(name for name in os.listdir(export_dir)
                  if os.path.isdir(os.path.join(export_dir, name)) and has_version(os.path.join(export_dir, name)))


def write_models_config(export_dir, base_path="/models"):
    """Write `export_dir/models.config` (a ModelServerConfig text proto) listing every
    served recipe at `base_path/<recipe>` (docker mounts the export folder at /models).

    Two recipes exporting at once both end up in it: the file is read, merged and replaced
    under an exclusive lock on the export folder itself (no lock file is left beside the
    recipes), so the second writer lists the folder after the first has written. Entries
    another tool added (another base path) are kept; a recipe of this folder that holds no
    version any more is dropped."""
    if not os.fspath(export_dir).strip():
        raise ZooError("the export folder is empty: give the folder that holds the recipes")
    path = os.path.join(export_dir, MODELS_CONFIG)
    with exclusive_lock(export_dir):
        remove_stale_files(export_dir)
        config = merged_config(read_models_config(path), served_recipes(export_dir), base_path)
        text = ("# Written by zoo train after each export: every recipe in this folder, for\n"
                "# tensorflow_model_server --model_config_file=/models/models.config\n"
                + text_format.MessageToString(config))
        fd, staging = tempfile.mkstemp(prefix=STAGING_CONFIG, dir=export_dir)
        try:  # written aside and renamed, so a server polling the file never reads half of it
            with os.fdopen(fd, "w") as f:
                f.write(text)
            os.chmod(staging, 0o644)
            os.replace(staging, path)
        finally:
            if os.path.exists(staging):
                os.remove(staging)
    return path


STAGING_CONFIG = ".models.config-"


@contextlib.contextmanager
def exclusive_lock(folder):
    """Hold an exclusive `flock` on `folder` (an open descriptor of the folder itself); the OS
    drops it if the process dies, so a killed writer never blocks the next one."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def remove_stale_files(export_dir):
    """Half-written models.config files of killed writers (only run under the lock, when no
    writer is at work)."""
    for name in os.listdir(export_dir):
        if name.startswith(STAGING_CONFIG):
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(export_dir, name))


def read_models_config(path):
    """The ModelServerConfig in `path`, or an empty one if there is none; one that cannot be
    parsed is refused rather than overwritten (it may be the user's own)."""
    config = model_server_config_pb2.ModelServerConfig()
    if not os.path.exists(path):
        return config
    try:
        with open(path) as f:
            text_format.Parse(f.read(), config)
    except (OSError, UnicodeDecodeError, text_format.ParseError) as error:
        raise ZooError(f"{path} is not a TF Serving model config ({str(error).splitlines()[0]}): "
                       "fix or remove it, and export again") from None
    return config


def merged_config(existing, recipes, base_path):
    """`existing`'s entries, without the ones of this folder whose recipe holds no version any
    more, plus an entry for each of `recipes`, sorted by name."""
    ours = {f"{base_path}/{recipe}" for recipe in recipes}
    entries = {entry.name: entry for entry in existing.model_config_list.config
               if entry.base_path in ours or not entry.base_path.startswith(f"{base_path}/")}
    for recipe in recipes:
        if recipe not in entries:
            entries[recipe] = model_server_config_pb2.ModelConfig(
                name=recipe, base_path=f"{base_path}/{recipe}", model_platform="tensorflow")
    config = model_server_config_pb2.ModelServerConfig()
    config.model_config_list.SetInParent()
    for name in sorted(entries):
        config.model_config_list.config.add().CopyFrom(entries[name])
    return config
