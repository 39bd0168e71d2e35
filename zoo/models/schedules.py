"""The one callback that moves the blocks' epoch schedules (KL warm-up, the Gumbel-softmax
temperature): `VAE.fit` adds it, so a plain `model.fit` follows the same schedule as
`zoo train`.

Each block that has a schedule sets its value from `model.epochs_trained`, a weight saved
with the model: a run resumed from a backup, a reloaded `.keras` file or a preset being
fine-tuned continues the schedule where it was, instead of restarting its warm-up.
"""

import tf_keras as keras


class EpochSchedules(keras.callbacks.Callback):
    """Before each epoch, `block.on_epoch(epochs_trained)` for every scheduled block of the
    model; after it, `epochs_trained` + 1 and the blocks' values in the epoch's logs.

    Put it before a backup callback (as `VAE.fit` does), so the backup holds the count."""

    def __init__(self):
        super().__init__()
        self._values = {}

    def on_epoch_begin(self, epoch, logs=None):
        epochs_trained = int(self.model.epochs_trained.numpy())
        self._values = {}
        for block in self.model.scheduled_blocks():
            self._values.update(block.on_epoch(epochs_trained))

    def on_epoch_end(self, epoch, logs=None):
        self.model.epochs_trained.assign_add(1.0)
        if logs is not None:
            logs.update(self._values)
