"""Keras callbacks of the zoo: what `model.fit` should record beyond the loss."""

import os

import tensorflow as tf
import tf_keras as keras

from zoo.evaluation import pictures
from zoo.errors import ConfigError

PICTURES_RUN = "pictures"


class PictureLogger(keras.callbacks.Callback):
    """Writes `zoo.evaluation.pictures.make` to TensorBoard as training goes, to watch a VAE learn.

    The images go to the run `log_dir/pictures`, beside the `train` and `validation` runs
    of `keras.callbacks.TensorBoard(log_dir)`, one image summary per picture name with the
    epoch (from 0) as step: every `every_n_epochs` epochs, and after the last epoch even
    when it is not a multiple, so the final model is always shown. Bad images fail here,
    before training, with a `DataError`.

    Args:
        log_dir: the TensorBoard log folder.
        images: float32 [N, H, W, C] in [0, 1], as the model is tested on.
        labels: integer labels [N] for the 2-D latent scatter plot, or None.
        every_n_epochs: how often to write pictures (each costs an encoding of `images`).
        seed: fixes the prior samples, so each epoch shows the same draws decoded.

    Example:
        model.fit(x, epochs=20, callbacks=[
            keras.callbacks.TensorBoard("logs"),
            PictureLogger("logs", test_images, test_labels, every_n_epochs=5)])
    """

    def __init__(self, log_dir, images, labels=None, every_n_epochs=1, seed=0):
        super().__init__()
        if isinstance(every_n_epochs, bool) or not isinstance(every_n_epochs, int) or every_n_epochs < 1:
            raise ConfigError("every_n_epochs", every_n_epochs, "an integer >= 1")
        self.log_dir = log_dir
        self.images = pictures.check_images(images)
        self.labels = pictures.check_labels(labels, len(self.images))
        self.every_n_epochs = every_n_epochs
        self.seed = seed
        self._writer = None
        self._last_epoch = self._logged_epoch = None

    def on_train_begin(self, logs=None):
        pictures.check_images(self.images, self.model.image_shape)
        self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, PICTURES_RUN))

    def on_epoch_end(self, epoch, logs=None):
        self._last_epoch = epoch
        if (epoch + 1) % self.every_n_epochs == 0:
            self._log(epoch)

    def on_train_end(self, logs=None):
        if self._last_epoch is not None and self._logged_epoch != self._last_epoch:
            self._log(self._last_epoch)
        self._writer.close()

    def _log(self, epoch):
        with self._writer.as_default():
            for name, picture in pictures.make(self.model, self.images, self.labels, self.seed).items():
                tf.summary.image(name, picture[None], step=epoch)
        self._writer.flush()
        self._logged_epoch = epoch


class HistoryCSV(keras.callbacks.CSVLogger):
    """keras' `CSVLogger` with the columns the epochs have: keras adds a `val_` column for every
    metric when the first epoch has none (for runs validating every few epochs), which `zoo
    train` never does, so they would stay NA."""

    def on_epoch_end(self, epoch, logs=None):
        if self.keys is None:
            self.keys = sorted(logs or {})
        super().on_epoch_end(epoch, logs)
