"""`ZooModel`: the one interface every kind of model in the zoo implements.

A kind of model *declares* what the rest of the zoo needs, so training, evaluation, pictures
and export ask it instead of probing it:

    signatures()      its serving signatures: {name: Signature(function, input names)}
    serving_spec(name) the batched TensorSpec of each signature input ("x", "z", "seed", "y", ...)
    label_use         "none", "condition" (fit and score need labels) or "semi_supervised"
                      (labels optional; a classifier q(y|x) inside)
    classes           how many classes its labels have (None: no class labels)
    scoring           how `zoo evaluate` scores it: "importance_sampling" (a bound on log p(x)
                      tightened with K samples), "exact_bound" (its bound is exact: a point-mass
                      q) or "reconstruction_error" (no likelihood)
    loss_is           what the loss `fit` minimises is, in words, written beside the figures
    picture_names     which pictures of `zoo.evaluation.pictures` it has
    embeds            whether `embed(x)` gives a vector code per image ([N, d])
    generates         whether `sample(n, seed=...)` draws new images (given `y` if it takes labels)
    sampler_names     what `sample` can draw z from: "prior", then its fitted post-hoc samplers
    test_figures(logs), slice_figure, kind_figures(...), fit_after_training(...)
                      what `zoo train` records and runs after `fit`
    pixel_marginal(train_images) the trivial baseline its test -ELBO must beat to be exported
                      (each pixel's own marginal, no latent; None: no fair one)
    local_inference_refusal why q(z|x) cannot be optimized per image (None: it can, through
                      `posterior_params(x)` and `log_joint(x, z)`; the inference gaps)

and implements `update(x, seed, alg, y)` (one optimizer step; the compiled loop calls it),
`codes` and `decode_mean` (what pictures show). What every kind shares is here: images are
checked before any step and every later `tf.data` batch as it comes (`zoo.models.batch_checks`),
`fit` takes a `ResidentImages` (the compiled multi-step loop), the
blocks' epoch schedules run, `export(path)` writes a serving SavedModel, and
`from_preset(name)` loads a shipped one of this class.
"""

import json
import math
import typing
import zipfile

import numpy as np
import tensorflow as tf
import tf_keras as keras

from zoo import plugins
from zoo.data.resident import ResidentImages
from zoo.errors import DataError, ZooError, first_line
from zoo.models import batch_checks, compiled_loop
from zoo.models.presets import KERAS_FILE, load_keras_file, preset_path, presets
from zoo.models.schedules import EpochSchedules

LABEL_USES = ("none", "condition", "semi_supervised")
SCORINGS = ("importance_sampling", "exact_bound", "reconstruction_error")
EMBED_BATCH = 1000


class Signature(typing.NamedTuple):
    """One serving signature: `function(**inputs)` -> {output name: tensor}, and its input names
    (each described by the model's `serving_spec`)."""
    function: typing.Callable
    inputs: tuple


class ZooModel(keras.Model):
    """A keras Model of images [B, H, W, C] that declares what it is (see the module docstring)."""

    KIND = "model"  # how messages name it: "this VAE takes ..."
    label_use = "none"
    classes = None
    scoring = "reconstruction_error"
    loss_is = "the training loss"
    picture_names = ("reconstructions",)
    embeds = False
    draws = True  # `update` takes `seed` and `alg` for its random draws (the compiled loop gives them)
    # (signature, output, sign, name): the figure `zoo train` records on the first test images
    # through the export's own signature, so a test can replay it on the SavedModel.
    slice_figure = ("elbo", "elbo", -1.0, "neg_elbo")
    _resident = None  # the ResidentImages the train function was made for
    _check_batches = True  # every tf.data batch checked; off only to measure what that costs (benchmarks)

    # What a kind declares.

    def signatures(self, samples=5000):
        """{name: Signature} of the export; `samples`: K of signatures that importance-sample."""
        raise NotImplementedError(f"{type(self).__name__} declares no signatures")

    def serving_spec(self, name):
        """The batched TensorSpec a signature input takes; images ("x") and seeds here."""
        if name == "x":
            return tf.TensorSpec([None, *self.image_shape], tf.float32, name="x")
        if name == "seed":
            return tf.TensorSpec([None], tf.int64, name="seed")
        raise ZooError(f"{type(self).__name__} has no signature input {name!r}")

    def example_pixels(self, rng, shape):
        """Pixels like the ones it is trained on, for warm-up requests (uniform in [0, 1])."""
        return rng.random(shape)

    @property
    def sampler_names(self):
        """What `sample(n, sampler=...)` draws from: "prior" (the model's own generative path),
        then any fitted post-hoc samplers (a VAE's `samplers`)."""
        return ("prior",)

    @property
    def generates(self):
        """Whether `sample(n, seed=...)` draws new images [n, H, W, C] in [0, 1] (given `y` for a
        model with labels): what sample quality asks. Its pictures show samples when it does."""
        return bool({"samples", "class_samples"} & set(self.picture_names))

    def test_figures(self, logs):
        """The test figures `zoo train` records, from `evaluate`'s logs on the test split."""
        return {f"test_{name}": value for name, value in logs.items()}

    def test_report(self, figures):
        """One line on the test figures, for people ("test_loss 0.031, ...")."""
        return ", ".join(f"{name} {value:.4g}" for name, value in figures.items() if isinstance(value, float))

    def kind_figures(self, test_images, figures, levels, verbose=True):
        """Figures particular to this kind, beside `test_figures` (none by default)."""
        return {}

    def fit_after_training(self, images, batch_size, learning_rate, seed, backup_dir=None, verbose=True):
        """Stages that follow `fit` on the training images (none by default); returns what they took."""
        return {}

    def pixel_marginal(self, train_images):
        """p(x) of images with no latent, fitted to `train_images`, in the units of the test
        -ELBO: the baseline an export must beat (`zoo.export.baseline`). None: no fair one
        (a model scored by reconstruction error)."""
        return None

    def scheduled_blocks(self):
        """The blocks whose state follows the epoch (`on_epoch(epochs_trained)`)."""
        return []

    @property
    def local_inference_refusal(self):
        """Why its q(z|x) cannot be optimized image by image from the encoder's output (the
        inference gaps, `zoo.evaluation.inference_gaps`), in one line; None when it can."""
        return f"a {self.KIND} has no posterior q(z|x) whose parameters can be optimized per image"

    def codes(self, x, y=None):
        """The deterministic code of each image, as pictures show it (none by default)."""
        raise ZooError(f"a {self.KIND} has no codes to show")

    def decode_mean(self, z, y=None):
        """The mean image of each code."""
        raise ZooError(f"a {self.KIND} does not decode codes")

    def embed(self, x, y=None, batch_size=EMBED_BATCH):
        """A vector code per image, numpy float32 [N, d], in batches (models with `embeds`)."""
        if not self.embeds:
            raise ZooError(f"a {self.KIND} has no vector code per image to embed")
        x = np.asarray(x)
        self.check_images(x)
        parts = []
        for first in range(0, len(x), batch_size):
            batch = tf.convert_to_tensor(x[first:first + batch_size], tf.float32)
            labels = None if y is None else np.asarray(y)[first:first + batch_size]
            parts.append(tf.reshape(self.codes(batch, labels), [len(batch), -1]).numpy())
        return np.concatenate(parts) if parts else np.zeros([0, 0], np.float32)

    # What every kind shares: checked images, fit on resident images, schedules.

    def epoch_counter(self, name="epochs_trained"):
        """A scalar weight counting epochs, saved with the model. Every kind keeps one as
        `epochs_trained`: `fit` moves it (`EpochSchedules`) and schedules read it, so a
        restored or fine-tuned model continues where it was."""
        return self.add_weight(name=name, shape=(), trainable=False, initializer="zeros")

    def fit(self, x=None, *args, callbacks=None, **kwargs):
        """keras `fit`, with the blocks' epoch schedules added (`EpochSchedules`) and the images
        checked (shape, dtype, pixel range) before any step.

        `x` may be a `zoo.data.ResidentImages`: the images then stay on the device and each
        call of the train function runs `steps_per_execution` steps (set in `compile`) as
        one XLA program (`zoo.models.compiled_loop`); an epoch is the set's `steps_per_epoch`.
        """
        # first: a backup sees this epoch's count
        stop = (batch_checks.StopAtBadBatchReplicated() if self.distribute_strategy.num_replicas_in_sync > 1
                else batch_checks.StopAtBadBatch())
        callbacks = [EpochSchedules(), stop] + list(callbacks or [])
        resident = x if isinstance(x, ResidentImages) else None
        if resident is not None:
            self.check_resident(resident)
            with self.distribute_strategy.scope():  # the strategy the model was built under
                distributed = tf.distribute.has_strategy()
            if distributed:
                raise ZooError("ResidentImages trains under the default strategy only; under a "
                               "tf.distribute strategy pass a tf.data.Dataset")
            if kwargs.setdefault("steps_per_epoch", resident.steps_per_epoch) != resident.steps_per_epoch:
                raise ZooError(f"steps_per_epoch must be {resident.steps_per_epoch} "
                               "(the ResidentImages' own) or left out")
            x = resident.placeholder()
        else:
            self.check_data(x)
            self.check_labels(x, args[0] if args else kwargs.get("y"))
            x = self._every_batch_checked(x)
        if resident is not self._resident:
            self._resident, self.train_function = resident, None
        try:
            return super().fit(x, *args, callbacks=callbacks, **kwargs)
        except tf.errors.InvalidArgumentError as error:  # a batch the checked dataset refused
            if batch_checks.refused_code(error) is None:
                raise
            raise stop.stopped(batch_checks.refused_code(error)) from None

    def evaluate(self, x=None, *args, callbacks=None, **kwargs):
        """keras `evaluate`, with the images checked as `fit` checks them (every batch too)."""
        self.check_data(x)
        self.check_labels(x, args[0] if args else kwargs.get("y"))
        stop = batch_checks.StopAtBadBatch()
        try:
            return super().evaluate(self._every_batch_checked(x), *args, callbacks=[stop] + list(callbacks or []),
                                    **kwargs)
        except tf.errors.InvalidArgumentError as error:
            if batch_checks.refused_code(error) is None:
                raise
            raise stop.stopped_evaluating(batch_checks.refused_code(error)) from None

    def _every_batch_checked(self, x):
        """A tf.data dataset whose every batch is checked as it comes (`batch_checks`)."""
        return batch_checks.checked_dataset(self, x) if isinstance(x, tf.data.Dataset) and self._check_batches else x

    def make_train_function(self, force=False):
        if self._resident is None or (self.train_function is not None and not force):
            return super().make_train_function(force)
        self.train_function = compiled_loop.train_function(self, self._resident)
        return self.train_function

    def check_labels(self, x, y):
        """The labels given beside arrays of images: refused for a model without labels."""
        if y is not None and self.label_use == "none" and not isinstance(x, tf.data.Dataset):
            raise DataError(f"this {self.KIND} takes no labels (it is not conditional)")

    def check_data(self, x):
        """Check what `fit`/`evaluate` get before any step: arrays and tensors whole, a
        tf.data.Dataset by its element spec and its first batch (every later batch is checked
        as it comes: `zoo.models.batch_checks`)."""
        if isinstance(x, tf.data.Dataset):
            spec = x.element_spec
            if self.label_use == "condition" and not (isinstance(spec, tuple) and len(spec) >= 2):
                raise DataError(f"this {self.KIND} is conditional: the dataset's elements must be "
                                "(images, labels) pairs")
            spec = spec[0] if isinstance(spec, tuple) else spec
            if not isinstance(spec, tf.TensorSpec):
                raise DataError(f"the dataset's elements must be image batches (or (images, ...) tuples); "
                                f"got {spec}")
            first = next(iter(x.take(1)), None)
            if first is not None:
                self.check_images(first[0] if isinstance(first, tuple) else first, "the dataset's first batch")
        elif isinstance(x, (np.ndarray, tf.Tensor, list)):
            self.check_images(x, "the images")

    def check_resident(self, resident):
        """`ResidentImages` checked whole before any step (every batch the compiled loop makes
        comes from them): a few images for the shape, and all of them for the pixel range."""
        self.check_images(resident.sample_batch(), "the ResidentImages")
        low, high = (float(tf.reduce_min(resident.images)) * resident.scale,
                     float(tf.reduce_max(resident.images)) * resident.scale)
        self.check_pixel_range(low, high, "the ResidentImages")

    def check_pixel_range(self, low, high, what):
        pixel_range = self.pixel_range()
        if pixel_range is not None and not pixel_range[0] <= low <= high <= pixel_range[1]:
            raise DataError(f"{self.pixel_owner()} models pixels in [{pixel_range[0]:g}, {pixel_range[1]:g}]; values in "
                            f"{what} run from {low:g} to {high:g} (scale them, e.g. x / {255 if high > 16 else 16:g})")

    def pixel_range(self):
        """(low, high) of the pixels it can score, or None for any float."""
        return (0.0, 1.0)

    def pixel_owner(self):
        """What refusals name as modelling the pixels (a VAE's likelihood)."""
        return f"this {self.KIND}"

    def check_images(self, x, what="the images"):
        """Refuse images this model cannot score, with one line: a shape other than the model's,
        uint8 or other non-float pixels, values outside `pixel_range` (0..255 grey levels given
        to a Bernoulli would train without complaint), NaN or Inf."""
        x = np.asarray(x)
        if not self.built:
            self.build((None, *x.shape[1:]))
        if x.ndim != 4 or tuple(x.shape[1:]) != self.image_shape:
            raise DataError(f"{what}: shape {x.shape}; this {self.KIND} takes [batch, "
                            f"{', '.join(map(str, self.image_shape))}]"
                            + (" (add a channel axis: x[..., None])" if x.shape[1:] == self.image_shape[:2] else ""))
        if x.dtype == np.uint8:
            raise DataError(uint8_advice(x, what, self.KIND))
        if not (np.issubdtype(x.dtype, np.floating) or x.dtype == bool):
            raise DataError(f"pixels of dtype {x.dtype} in {what}; this {self.KIND} takes float32 pixels in [0, 1]")
        if x.size == 0 or x.dtype == bool:
            return
        low, high = float(np.min(x)), float(np.max(x))
        if not (math.isfinite(low) and math.isfinite(high)):
            raise DataError(f"NaN or Inf values in {what}")
        self.check_pixel_range(low, high, what)

    def _checked(self, x):
        if isinstance(x, np.ndarray) or (isinstance(x, tf.Tensor) and tf.executing_eagerly()):
            self.check_images(x)
        return tf.convert_to_tensor(x, tf.float32)

    # Export and presets.

    def export(self, path, config=None, metrics=None, name=None, samples=None, force=False):
        """Write the next version of this model's serving SavedModel into `path` (TF Serving's
        layout: path/1, path/2, ...) with every declared signature, and the Keras file presets
        load; returns the version folder. `samples`: the K of signatures that importance-sample
        (default: the recipe's in `config`, else 5000). `force`: export even a model with NaN
        weights or figures, or worse than its baseline. See `zoo.export.savedmodel.export`."""
        return plugins.get("export")(self, path, config=config, metrics=metrics, name=name,
                                     log_likelihood_samples=samples, force=force)

    @classmethod
    def from_preset(cls, preset, compile=True):
        """A shipped model of this class by name (`zoo.presets()`) or an export's folder, trained
        weights loaded, compiled as it was trained, ready to `fit` or fine-tune. A folder that
        holds another kind of model is refused with the class to ask instead."""
        path = preset_path(preset)
        found = saved_class_name(path)
        wanted = {c.__name__ for c in _subclasses(cls)}
        if found is not None and found not in wanted:
            raise ZooError(f"{preset!r} holds a {found}, not a {cls.__name__}: load it with zoo.{found}.from_preset"
                           f" (shipped presets: {', '.join(presets()) or 'none'})")
        model = load_keras_file(path, compile)
        if not isinstance(model, cls):
            raise ZooError(f"{preset!r} holds a {type(model).__name__}, not a {cls.__name__}")
        return model


class LikelihoodModel(ZooModel):
    """A model with a likelihood p(x|z) (`self.likelihood`): its pixels are the ones the
    likelihood models, and its test figure is the negative ELBO and its two terms."""

    def example_pixels(self, rng, shape):
        return self.likelihood.example_pixels(rng, shape)

    def pixel_range(self):
        return self.likelihood.pixel_range

    def pixel_owner(self):
        return type(self.likelihood).__name__

    def pixel_marginal(self, train_images):
        return self.likelihood.marginal(train_images)

    def test_report(self, figures):
        return (f"Test -ELBO {figures['test_neg_elbo']:.2f} nats (reconstruction {figures['test_reconstruction']:.2f} "
                f"+ KL {figures['test_kl']:.2f})")

    def test_figures(self, logs):
        """The test -ELBO (reconstruction + KL at beta 1), its parts, and the training loss."""
        return {"test_neg_elbo": logs["reconstruction"] + logs["kl"], "test_reconstruction": logs["reconstruction"],
                "test_kl": logs["kl"], "test_loss": logs["loss"]}


def sample_count(n):
    """`n` of `sample(n)` as an int: a whole number >= 0, or a one-line DataError (2.5 images
    were 2 before)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer, float, np.floating)) or not float(n).is_integer() \
            or n < 0:
        raise DataError(f"sample(n): n is how many images to draw, a whole number >= 0; got {n!r}")
    return int(n)


def _subclasses(cls):
    found = {cls}
    for sub in cls.__subclasses__():
        found |= _subclasses(sub)
    return found


def saved_class_name(path):
    """The class name of the model in a version folder's `model.keras` (read from its config,
    nothing built), or None when there is none to read."""
    try:
        with zipfile.ZipFile(f"{path}/{KERAS_FILE}") as archive:
            return json.loads(archive.read("config.json")).get("class_name")
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None


def uint8_advice(x, what, kind):
    """The uint8 refusal, with the scaling that fits the values at hand: / 255 for 8-bit images,
    / 16 for the 17 grey levels of scikit-learn's digits."""
    top = int(np.max(x)) if x.size else 255
    divisor = 16 if top <= 16 else 255
    return (f"uint8 pixels (0..{top}) in {what}; this {kind} takes float pixels in [0, 1]: pass "
            f"x.astype('float32') / {divisor} ({divisor + 1} grey levels)")


def input_shape_of(encoder):
    """(H, W, C) from an encoder that declares its Input, else None (then the first data decide)."""
    try:
        shape = encoder.input_shape
    except (AttributeError, RuntimeError, ValueError):
        return None
    if isinstance(shape, tuple) and len(shape) == 4 and all(isinstance(d, int) for d in shape[1:]):
        return tuple(shape[1:])
    return None


def run_network(role, network, value, what):
    """`network(value)`, or a one-line ZooError saying the network cannot take `what`."""
    try:
        return network(value)
    except Exception as error:  # any Keras or TF error: the user's network does not fit
        raise ZooError(f"the {role} cannot take {what}: {first_line(error, 300)}") from None
