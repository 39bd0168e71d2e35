"""TensorFlow's C++ start-up lines (oneDNN, cudart, cuInit, CPU instructions), kept off stderr.

`TF_CPP_MIN_LOG_LEVEL=3` hides most of them, but TensorFlow 2.21 prints six lines while its
libraries load, before its logging reads that variable ("All log messages before
absl::InitializeLog() is called are written to STDERR", then the oneDNN and cudart notes,
once per library). So `import zoo` (and with it the CLI) sets the variable and loads
`tensorflow`, whenever it is first imported, with stderr held in a file, then writes back
every line but those. Nothing changes when the user set `TF_CPP_MIN_LOG_LEVEL` themselves,
imported TensorFlow first, or passed `zoo --debug` (which calls `show()`).
"""

import contextlib
import importlib.abc
import importlib.util
import os
import re
import sys
import tempfile

LEVEL = "TF_CPP_MIN_LOG_LEVEL"
STARTUP_LINE = re.compile(r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$"
                          r"|[IWEF]\d{4} [\d:.]+ +\d+ [\w.]+:\d+\] ")
_state = {"set_level": False}


def hide():
    """Hide the start-up lines of a TensorFlow not yet imported, unless the user chose a level."""
    if LEVEL in os.environ or "tensorflow" in sys.modules or any(isinstance(f, _QuietImport) for f in sys.meta_path):
        return
    os.environ[LEVEL] = "3"
    _state["set_level"] = True
    sys.meta_path.insert(0, _QuietImport())


def show():
    """Undo `hide` (for `--debug`): TensorFlow logs as it would without the zoo."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _QuietImport)]
    if _state["set_level"]:
        os.environ.pop(LEVEL, None)
        _state["set_level"] = False


class _QuietImport(importlib.abc.MetaPathFinder):
    """Finds `tensorflow` once, and loads it with the start-up lines filtered out of stderr."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self.loader  # the module keeps its own loader
        with filtered_stderr():
            self.loader.exec_module(module)


@contextlib.contextmanager
def filtered_stderr():
    """Hold what is written to file descriptor 2 (C++ and Python alike) and write it back
    without TensorFlow's start-up lines."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no descriptor 2 to hold: write as usual
        yield
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(OSError, ValueError, AttributeError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            kept = [line for line in held.read().decode(errors="replace").splitlines(keepends=True)
                    if not STARTUP_LINE.match(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()
