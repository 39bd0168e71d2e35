"""Callbacks of a model's own training stages (`fit` in `zoo train`, a VQ-VAE's `fit_prior`):
`FiniteBackup`, which never saves a diverged state and never deletes itself, and
`CompactProgress`, about ten progress lines a run."""

import math
import time

import tensorflow as tf
import tf_keras as keras

from zoo.errors import ZooError, os_reason


class FiniteBackup(keras.callbacks.BackupAndRestore):
    """`BackupAndRestore` that backs up only finite states and leaves deleting to its caller.

    Keras' own, when `TerminateOnNaN` stops a diverging run, still backs up the NaN weights
    at the end of that epoch and then deletes the backup when training ends, so nothing
    good is left. This one skips the backup of an epoch whose loss, weights or optimizer
    state hold a NaN or Inf (and sets `diverged`), so the last finite epoch stays; and it
    never deletes the backup itself: `delete()` does, once the run is exported, so a run
    killed while it evaluates or exports resumes after its last epoch, not from scratch.
    Put it after callbacks that log the epoch (a CSV row written before the backup is at
    worst repeated by a resumed run, never lost).

    Args:
        backup_dir: where the checkpoint goes (Keras writes it to `backup_dir/chief`).

    Example:
        backup = FiniteBackup("run/backup")
        model.fit(x, epochs=10, callbacks=[keras.callbacks.TerminateOnNaN(), backup])
        if not backup.diverged:
            ...  # export
            backup.delete()
    """

    def __init__(self, backup_dir):
        super().__init__(backup_dir, delete_checkpoint=False)
        self.diverged = False

    def on_epoch_end(self, epoch, logs=None):
        if all(math.isfinite(float(value)) for value in (logs or {}).values()) and all_finite(
                self.model.variables + self.model.optimizer.variables()):
            try:
                super().on_epoch_end(epoch, logs)
            except (OSError, tf.errors.OpError) as error:  # a full or read-only disk
                raise ZooError(f"writing the backup of epoch {epoch + 1} to {self.backup_dir} failed "
                               f"({os_reason(error)}); the backup before it is kept: free space and run "
                               "the same command again to resume") from None
        else:
            self.diverged = True

    def delete(self):
        """Remove the backup (only where Keras writes it: the chief of a cluster)."""
        if self.model.distribute_strategy.extended.should_checkpoint and tf.io.gfile.exists(self.backup_dir):
            tf.io.gfile.rmtree(self.backup_dir)


def all_finite(variables):
    """Whether every floating-point value in `variables` is finite (no NaN, no Inf)."""
    return all(bool(tf.reduce_all(tf.math.is_finite(v))) for v in variables if v.dtype.is_floating)


class CompactProgress(keras.callbacks.Callback):
    """About `lines` progress lines for a whole run, whatever its length: the epoch, the
    epoch's loss and its terms, and the time so far (Keras' own prints a line per epoch).

    Example:
        model.fit(x, epochs=300, verbose=0, callbacks=[CompactProgress(300)])
    """

    def __init__(self, epochs, lines=10):
        super().__init__()
        self.epochs, self.every = epochs, max(1, round(epochs / lines))
        self.start = None

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every and epoch + 1 != self.epochs and epoch != 0:
            return
        terms = ", ".join(f"{key} {value:.2f}" for key, value in (logs or {}).items()
                          if key in ("loss", "reconstruction", "kl", "classification") or key.startswith("kl_z"))
        extra = ", ".join(f"{key} {value:.3g}" for key, value in (logs or {}).items()
                          if key in ("kl_weight", "temperature", "perplexity"))
        print(f"  epoch {epoch + 1}/{self.epochs}: {terms}{'; ' + extra if extra else ''} "
              f"({time.perf_counter() - self.start:.0f} s)", flush=True)
