"""One run per `--workdir` at a time: an OS lock (`flock`) on `workdir/lock`, held for the
whole run, with the owner's PID written in it.

Two runs sharing a workdir would overwrite each other's `recipe.json`, resume each other's
weights and interleave `history.csv`. The lock is the kernel's, so it is released when its
process ends however it ends (a SIGKILL included): no stale lock to remove by hand.
"""

import contextlib
import fcntl
import os

from zoo.errors import ZooError

LOCK_FILE = "lock"


class WorkdirInUse(ZooError):
    """Another process holds the workdir's lock."""


@contextlib.contextmanager
def owned(workdir):
    """Hold `workdir`'s lock (making the folder) while the block runs; a second holder, in
    another process or this one, is refused with the first's PID. `workdir=None`: no lock."""
    if not workdir:
        yield
        return
    os.makedirs(workdir, exist_ok=True)
    path = os.path.join(workdir, LOCK_FILE)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WorkdirInUse(f"--workdir {workdir} is in use by another run (PID {_owner(descriptor)}, "
                               f"which holds {path}): wait for it to end, or use another --workdir") from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(descriptor, 0)  # the file stays (removing it would race a waiting run)
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


def _owner(descriptor):
    text = os.pread(descriptor, 32, 0).decode(errors="replace").strip()
    return text or "unknown"
