"""`python -m zoo.training.export_kept KEPT_FOLDER EXPORT_DIR [--force]`: export a trained
model that `zoo train` kept because its export failed (`zoo.training.destinations.keep`),
with the config and metrics the run measured, as `zoo train` would have (`--force` as
`zoo train --force-export`: past the export gate)."""

import glob
import json
import os
import sys

from zoo.errors import ZooError


def export_kept(folder, export_dir, force=False):
    """Export the model kept in `folder` into `export_dir/<name>/<next version>`; return its path."""
    import tf_keras as keras

    from zoo.export import serving
    from zoo.export.savedmodel import export

    files = glob.glob(os.path.join(folder, "*.keras"))
    if len(files) != 1:
        raise ZooError(f"{folder}: expected one .keras file kept by `zoo train`, found {len(files)}")
    name = os.path.basename(files[0])[:-len(".keras")]
    extra = {}
    for key in ("config", "metrics"):
        path = os.path.join(folder, f"{key}.json")
        if os.path.exists(path):
            try:
                with open(path) as f:
                    extra[key] = json.load(f)
            except ValueError as error:
                raise ZooError(f"{path}: not valid JSON ({error})") from None
    model = keras.models.load_model(files[0])
    path = export(model, os.path.join(export_dir, name), name=name, force=force, **extra)
    serving.write_models_config(export_dir)
    return path


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    force = "--force" in argv
    argv = [arg for arg in argv if arg != "--force"]
    if len(argv) != 2:
        print("usage: python -m zoo.training.export_kept KEPT_FOLDER EXPORT_DIR [--force]", file=sys.stderr)
        return 2
    try:
        print(f"exported to {export_kept(*argv, force=force)}")
    except ZooError as error:
        print(f"zoo: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
