"""Rewrite export version folders written by an earlier zoo so each weight is stored once.

An earlier `model.keras` repeats the SavedModel's variables. For each version folder given
(default: every saved_models/<recipe>/<version>), this loads the model as the zoo does (its
`model.keras` weights compared value for value with the SavedModel's, refused if they
differ), writes the config-only `model.keras` of `zoo.models.keras_file` beside a temporary
name, loads the folder again in the new layout and checks every weight is unchanged, then
renames it into place. The SavedModel, warm-up requests, config.json, metrics.json and
pictures are not touched, so what TF Serving serves and every figure stay as they were.
Folders already in the new layout are left alone. Nothing is retrained.

    .venv/bin/python tools/store_weights_once.py                       # every shipped version
    .venv/bin/python tools/store_weights_once.py saved_models/mnist_mlp_ladder_vampprior_long/1
"""

import argparse
import os
import pathlib
import sys
import tempfile

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]


def rewrite(folder):
    """Rewrite `folder`/model.keras in the new layout; returns (bytes before, bytes after), or
    None when it already is."""
    from zoo.models import keras_file
    from zoo.models.kinds import load_preset

    target = os.path.join(folder, keras_file.KERAS_FILE)
    if not keras_file.holds_weights(folder):
        return None
    before = os.path.getsize(target)
    model = load_preset(folder, compile=False)  # refuses a model.keras whose weights are not the SavedModel's
    weights = [v.numpy() for v in model.variables]
    with tempfile.TemporaryDirectory(dir=folder, prefix=".relayout-") as scratch:
        keras_file.write(model, scratch)
        os.symlink(os.path.abspath(os.path.join(folder, "variables")), os.path.join(scratch, "variables"))
        reloaded = keras_file.load(scratch)
        assert len(reloaded.variables) == len(weights)
        for variable, value in zip(reloaded.variables, weights):
            np.testing.assert_array_equal(variable.numpy(), value, err_msg=variable.name)
        os.replace(os.path.join(scratch, keras_file.KERAS_FILE), target)
    return before, os.path.getsize(target)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", help="version folders (default: every saved_models/*/*)")
    folders = parser.parse_args(argv).folders or sorted(
        str(pb.parent) for pb in (ROOT / "saved_models").glob("*/*/saved_model.pb"))
    for folder in folders:
        sizes = rewrite(folder)
        print(f"{folder}: " + ("already stores each weight once" if sizes is None else
                               f"model.keras {sizes[0]:,} -> {sizes[1]:,} bytes"), flush=True)


if __name__ == "__main__":
    sys.exit(main())
