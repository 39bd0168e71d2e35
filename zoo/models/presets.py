"""Presets, keras-hub style: a shipped model by name, or any export folder, as a trained,
compiled model ready to `fit`, fine-tune, sample or score.

    vae = zoo.VAE.from_preset("mnist_mlp_vampprior")   # refuses a folder holding another class
    model = zoo.load_preset("mnist_conv_vq")            # whatever kind the folder holds
    zoo.presets()   # {name: description}

A preset is an export version folder (`saved_models/<name>/<version>/`) holding
`model.keras` (the Keras config; the weights are the SavedModel's, `zoo.models.keras_file`)
beside the serving SavedModel, and the recipe
(`config.json`) that says how it was trained. Shipped presets are found in the folder named
by `$ZOO_PRESETS` or, by default, the `saved_models/` folder of this checkout.
"""

import json
import os
import pathlib

from zoo.errors import ZooError
from zoo.models import keras_file as keras_file_format
from zoo.models.keras_file import KERAS_FILE


def presets_dir():
    return pathlib.Path(os.environ.get("ZOO_PRESETS") or pathlib.Path(__file__).resolve().parents[2] / "saved_models")


def resolve_version(path):
    """A version folder as given, or a model folder's highest integer version, which must be
    a complete export: an incomplete one is named, never passed over for a lower one (TF
    Serving would serve that highest folder too)."""
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise ZooError(f"no export at {path!r}: expected a folder such as saved_models/<name>/<version>")
    if os.path.exists(os.path.join(path, "saved_model.pb")):
        return path
    versions = sorted(int(name) for name in os.listdir(path) if name.isdigit())
    if not versions:
        raise ZooError(f"{path!r} holds neither saved_model.pb nor integer version folders")
    highest = os.path.join(path, str(versions[-1]))
    if not os.path.exists(os.path.join(highest, "saved_model.pb")):
        complete = [v for v in versions if os.path.exists(os.path.join(path, str(v), "saved_model.pb"))]
        raise ZooError(f"{highest} is not a complete export (no saved_model.pb): remove it"
                       + (f", or pass the version folder {os.path.join(path, str(complete[-1]))}" if complete else ""))
    return highest


def presets():
    """{name: description} of the shipped presets (the latest version of each)."""
    found = {}
    root = presets_dir()
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        try:
            version = resolve_version(folder)
        except ZooError:
            continue
        if os.path.isfile(os.path.join(version, KERAS_FILE)):
            found[folder.name] = read_json(version, "config.json", default={}).get("description", "")
    return found


def read_json(path, name, default=None):
    """The JSON object in `path`/`name` (`default` when there is no file and one is given);
    one line naming the file when it does not read or holds something else."""
    file = os.path.join(path, name)
    if not os.path.isfile(file):
        if default is not None:
            return default
        raise ZooError(f"{path}: no {name}; it is not an export written by zoo")
    try:
        with open(file) as f:
            value = json.load(f)
    except (OSError, UnicodeDecodeError) as error:
        raise ZooError(f"{file} does not read: {error}") from None
    except ValueError as error:
        raise ZooError(f"{file} is not valid JSON ({error})") from None
    if not isinstance(value, dict):
        raise ZooError(f"{file} holds a {type(value).__name__}, not a JSON object")
    return value


def preset_path(preset):
    """The version folder of a preset name or an export path."""
    if os.path.isdir(os.fspath(preset)):
        return resolve_version(preset)
    candidate = presets_dir() / str(preset)
    if candidate.is_dir():
        return resolve_version(candidate)
    raise ZooError(f"no preset {preset!r}: not a folder, and not one of {', '.join(presets()) or 'none'} "
                   f"(in {presets_dir()})")


def load_keras_file(path, compile=True):
    """The model of the version folder `path` (its class and blocks must be registered, i.e.
    their modules imported): built from `model.keras`, its weights the SavedModel's
    (`zoo.models.keras_file`), compiled with the optimizer settings of its recipe (Adam at
    its learning rate) when `compile`."""
    import tf_keras as keras

    keras_file = os.path.join(path, KERAS_FILE)
    if not os.path.isfile(keras_file):
        raise ZooError(f"{path} has no {KERAS_FILE}: it was exported by an older zoo (export it again)")
    model = keras_file_format.load(path)
    if compile:
        train = read_json(path, "config.json", default={}).get("train", {})
        model.compile(keras.optimizers.Adam(train.get("learning_rate", 1e-3)),
                      jit_compile=train.get("jit_compile", True),
                      steps_per_execution=train.get("steps_per_execution", 1))
    return model
