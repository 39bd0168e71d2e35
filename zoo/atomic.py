"""Files and folders that appear whole or not at all, and never over an existing one.

A reader (TF Serving polling an export folder, a user opening `metrics.json`) sees either
the old state or the complete new one: things are written under a temporary name and
renamed into place.
"""

import contextlib
import ctypes
import errno
import json
import os

AT_FDCWD, RENAME_NOREPLACE = -100, 1  # from Linux's <fcntl.h> and <linux/fs.h>


def _renameat2():
    """glibc's renameat2 (Linux), or None where the C library has none."""
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError, TypeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return function


_RENAMEAT2 = _renameat2()


def rename_no_replace(source, target):
    """Rename `source` to `target`, or raise FileExistsError if `target` exists.

    A plain rename of a folder silently replaces an empty folder at `target`, so it cannot
    promise that. On Linux the check and the rename are one step (renameat2 with
    RENAME_NOREPLACE); where that is missing, the check comes just before the rename.
    """
    if _RENAMEAT2 is not None:
        if _RENAMEAT2(AT_FDCWD, os.fsencode(source), AT_FDCWD, os.fsencode(target), RENAME_NOREPLACE) == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.ENOSYS, errno.EINVAL):  # EINVAL: a file system without the flag
            raise OSError(code, os.strerror(code), source, None, target)
    if os.path.lexists(target):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), target)
    try:
        os.rename(source, target)
    except OSError:
        if os.path.lexists(target):  # it appeared after the check (and held files)
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), target) from None
        raise


def write_json(path, value):
    """Write `value` to `path` via a temporary file and a rename, so a reader never sees
    half a file; if writing fails, the old file stays as it was and no temporary file is left."""
    staging = f"{path}.tmp-{os.getpid()}"
    try:
        with open(staging, "w") as f:
            json.dump(value, f, indent=2, sort_keys=True)
            f.write("\n")
        os.replace(staging, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(staging)
        raise
