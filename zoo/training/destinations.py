"""The folders a run writes to, checked before it trains; and what it trained, kept when the
export fails after all (a full disk cannot be checked beforehand).

No TensorFlow here at import: the CLI checks destinations before TensorFlow starts.
"""

import contextlib
import json
import os
import sys
import tempfile

from zoo.errors import ConfigError, ZooError, os_reason

KEPT_FOLDER = "unexported"


def check_destinations(**flags):
    """Refuse each folder a run will write to unless it is, or can be made, a writable folder:
    `check_destinations(export_dir=..., workdir=...)` names the flag (--export-dir, --workdir)."""
    for name, path in flags.items():
        if path is not None:
            check_destination("--" + name.replace("_", "-"), path)


def check_destination(flag, path):
    """A one-line ConfigError unless `path` is a writable folder or can be created as one."""
    path = os.fspath(path)
    if not path.strip():
        raise ConfigError(flag, path, "a folder (an empty path is not one)")
    if os.path.exists(path) and not os.path.isdir(path):
        raise ConfigError(flag, path, "a folder (this is a file)")
    existing = path
    while not os.path.exists(existing):  # the nearest existing folder creates the rest
        parent = os.path.dirname(os.path.abspath(existing))
        if parent == os.path.abspath(existing):
            break
        existing = parent
    if not os.path.isdir(existing):
        raise ConfigError(flag, path, f"a folder that can be created ({existing} is a file)")
    if not os.access(existing, os.W_OK | os.X_OK):
        made = "writable folder" if existing == path else f"folder that can be created (cannot write in {existing})"
        raise ConfigError(flag, path, f"a {made}: permission denied")


@contextlib.contextmanager
def kept_if_export_fails(model, name, export_dir, workdir=None, config=None, metrics=None, force=False):
    """Run the export in the block; if it fails with an OSError or a TensorFlow error (a full
    disk, a folder made read-only meanwhile), save the trained `model` as a .keras file (with
    its config and metrics) in `workdir/unexported` (else a temporary folder) and raise one
    line saying where it is and the command that exports it."""
    import tensorflow as tf

    try:
        yield
    except (OSError, tf.errors.OpError) as error:
        kept = keep(model, name, workdir, config, metrics)
        raise ZooError(f"exporting {name} to {export_dir} failed ({os_reason(error)}); the trained model is kept in {kept}: "
                       f"`python -m zoo.training.export_kept {kept} {export_dir}{' --force' if force else ''}` "
                       "exports it") from None


def keep(model, name, workdir=None, config=None, metrics=None):
    """Save `model` to `<folder>/<name>.keras` with config.json and metrics.json beside it and
    return the folder: `workdir/unexported`, or a new temporary folder if that fails too."""
    places = ([os.path.join(workdir, KEPT_FOLDER)] if workdir else []) + [None]
    for place in places:
        try:
            folder = tempfile.mkdtemp(prefix=f"zoo-{name}-") if place is None else place
            os.makedirs(folder, exist_ok=True)
            model.save(os.path.join(folder, f"{name}.keras"))
            for file, value in (("config.json", config), ("metrics.json", metrics)):
                if value is not None:
                    with open(os.path.join(folder, file), "w") as f:
                        json.dump(value, f, indent=2, sort_keys=True, default=str)
            return folder
        except OSError as error:
            print(f"zoo: could not keep the trained model in {place or 'a temporary folder'} ({error})",
                  file=sys.stderr)
    raise ZooError(f"the export of {name} failed and the trained model could not be saved anywhere")
