"""A version folder's `model.keras`: the Keras config of the model whose weights are the
SavedModel's, so each weight is stored once and the two cannot differ.

The SavedModel beside it (written by `keras.export.ExportArchive`, which tracks the model's
`variables` as one list) holds the weights, in its checkpoint `variables/`. `model.keras` is a
Keras zip holding the config and, instead of `model.weights.h5`, a record (`zoo_weights.json`)
of the weights it was written with: each variable's object path in the model (as a
checkpoint of the model would name it, e.g. "encoder/layer_with_weights-0/kernel"), in the
order of the SavedModel's list, their shapes, and a SHA-256 digest over their values.
Loading builds the model from the config, restores each variable by its object path from
the checkpoint, and refuses a folder where a path, a shape or the digest differs: a
`model.keras` from another export, or a config that builds other variables, is refused
instead of loading other weights. `keras.models.load_model` alone refuses such a file (no
weights in it).

A `model.keras` written by an earlier zoo holds its own copy of the weights: it loads as
before, and its weights are compared with the SavedModel's, value for value."""

import hashlib
import json
import os
import tempfile
import zipfile

import numpy as np

from zoo.errors import ZooError, first_line

KERAS_FILE = "model.keras"
WEIGHTS_RECORD = "zoo_weights.json"  # in the zip, in place of Keras's model.weights.h5
KERAS_WEIGHTS = "model.weights.h5"
CHECKPOINT = os.path.join("variables", "variables")


def weights_digest(values):
    """SHA-256 over each array's dtype, shape and bytes, in order."""
    digest = hashlib.sha256()
    for value in values:
        value = np.ascontiguousarray(value)
        digest.update(f"{value.dtype.str}{value.shape}".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def write(model, folder):
    """Write `model`'s config (no weights) and the record of its weights to `folder`/model.keras.
    `model` is the one the SavedModel in `folder` was written from (its variables, in order)."""
    values = [v.numpy() for v in model.variables]
    record = {"weights": f"the SavedModel's {CHECKPOINT}, in the order of these paths",
              "paths": variable_paths(model), "shapes": [list(v.shape) for v in values],
              "sha256": weights_digest(values)}
    target = os.path.join(folder, KERAS_FILE)
    with tempfile.TemporaryDirectory() as scratch:
        full = os.path.join(scratch, KERAS_FILE)
        model.save(full)  # Keras's own config.json and metadata.json, exactly as it writes them
        with zipfile.ZipFile(full) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as slim:
            for name in source.namelist():
                if name != KERAS_WEIGHTS:
                    slim.writestr(name, source.read(name))
            slim.writestr(WEIGHTS_RECORD, json.dumps(record, indent=1))
    return target


def variable_paths(model):
    """Each of `model.variables`' object path from the model, in order: names a checkpoint of
    the model would give them (attribute names and Keras's `layer_with_weights-N`), the same
    in every process, unlike variable names, which count layers built before."""
    from tensorflow.python.checkpoint import graph_view  # TF's own naming of a checkpoint's objects

    _, node_paths = graph_view.ObjectGraphView(model).breadth_first_traversal()
    paths = {id(node): "/".join(reference.name for reference in path) for node, path in node_paths.items()}
    return [paths[id(variable)] for variable in model.variables]


def holds_weights(folder):
    """Whether `folder`/model.keras carries its own weights (written by an earlier zoo)."""
    return KERAS_WEIGHTS in _entries(folder)[0]


def load(folder):
    """The model of the version folder `folder`, its weights the SavedModel's (see the module
    docstring); one-line ZooError naming the file for anything unreadable or inconsistent."""
    import tf_keras as keras

    file = os.path.join(folder, KERAS_FILE)
    names, config, record = _entries(folder)
    saved = saved_weights(folder)
    if record is None:  # an earlier zoo's file, with its own weights
        try:
            model = keras.models.load_model(file, compile=False)
        except (OSError, ValueError, KeyError) as error:
            raise ZooError(f"{file} does not load ({first_line(error, 200)}): it is damaged; "
                           f"export the model again") from None
        _refuse_other_weights(file, [v.numpy() for v in model.variables], saved)
        return model
    try:
        model = keras.saving.deserialize_keras_object(config)
    except (TypeError, ValueError, KeyError) as error:
        raise ZooError(f"{file}: its config does not build a model of this zoo ({first_line(error, 200)})") from None
    paths, recorded = variable_paths(model), record.get("paths", [])
    if len(recorded) != len(saved) or weights_digest(saved) != record.get("sha256"):
        raise ZooError(f"{file} was written with other weights than the SavedModel's in {folder} (SHA-256 differs): "
                       f"it belongs to another export; export the model again")
    if sorted(paths) != sorted(recorded):
        odd = sorted(set(paths) ^ set(recorded))[0]
        raise ZooError(f"{file} builds other variables than its SavedModel holds (e.g. {odd!r}): "
                       f"it belongs to another export, or to another version of the zoo")
    position = {path: index for index, path in enumerate(recorded)}
    for path, variable in zip(paths, model.variables):
        value = saved[position[path]]
        if tuple(variable.shape) != value.shape:
            raise ZooError(f"{file} builds {path} with shape {tuple(variable.shape)} and its SavedModel holds "
                           f"{value.shape}: it belongs to another export")
        variable.assign(value)
    return model


def saved_weights(folder):
    """The values of the SavedModel's `variables` list (ExportArchive's, the tracked model's
    `model.variables` in order), read from its checkpoint without loading the SavedModel."""
    import tensorflow as tf
    from tensorflow.core.protobuf import trackable_object_graph_pb2

    prefix = os.path.join(folder, CHECKPOINT)
    try:
        reader = tf.train.load_checkpoint(prefix)
        graph = trackable_object_graph_pb2.TrackableObjectGraph()
        graph.ParseFromString(reader.get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH"))
        listing = next(graph.nodes[c.node_id] for c in graph.nodes[0].children if c.local_name == "variables")
        keys = [next(a.checkpoint_key for a in graph.nodes[c.node_id].attributes if a.name == "VARIABLE_VALUE")
                for c in sorted(listing.children, key=lambda c: int(c.local_name))]
        return [reader.get_tensor(key) for key in keys]
    except (tf.errors.OpError, ValueError, StopIteration) as error:
        raise ZooError(f"{prefix}: the SavedModel's weights do not read ({first_line(error, 200)})") from None


def _entries(folder):
    """(names in the zip, its Keras config, its weights record or None) of `folder`/model.keras."""
    file = os.path.join(folder, KERAS_FILE)
    try:
        with zipfile.ZipFile(file) as archive:
            names = archive.namelist()
            config = json.loads(archive.read("config.json"))
            record = json.loads(archive.read(WEIGHTS_RECORD)) if WEIGHTS_RECORD in names else None
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
        raise ZooError(f"{file} is not a readable Keras file ({first_line(error, 200)}): it is damaged or truncated; "
                       f"export the model again") from None
    if record is None and KERAS_WEIGHTS not in names:
        raise ZooError(f"{file} holds neither weights nor a record of the SavedModel's: not a file the zoo wrote")
    return names, config, record


def _refuse_other_weights(file, values, saved):
    if len(values) != len(saved):
        raise ZooError(f"{file} holds {len(values)} weights and the SavedModel beside it {len(saved)}: "
                       f"it belongs to another export")
    for index, (value, stored) in enumerate(zip(values, saved)):
        if value.shape != stored.shape or not np.array_equal(value, stored):
            raise ZooError(f"{file} holds other weights than the SavedModel beside it (variable {index} of "
                           f"{len(saved)} differs): it belongs to another export; export the model again")
