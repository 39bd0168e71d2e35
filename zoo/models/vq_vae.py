"""The VQ-VAE (van den Oord et al. 2017): encoder -> vector quantizer -> decoder -> p(x|z_q),
and an autoregressive prior over the grid of codes, trained after the autoencoder, to generate."""

import functools
import math
import time

import numpy as np
import tensorflow as tf
import tf_keras as keras

from zoo import seeds
from zoo.errors import DataError, ZooError
from zoo.layers.code_prior import PixelCNNPrior, PriorTrainer
from zoo.layers.likelihoods import ImageLikelihood
from zoo.layers.quantizer import VectorQuantizer, perplexity
from zoo.models import compiled_loop, signatures
from zoo.models.callbacks import CompactProgress, FiniteBackup
from zoo.models.base import LikelihoodModel, Signature, input_shape_of, run_network, sample_count

METRIC_NAMES = ("loss", "reconstruction", "codebook", "commitment", "perplexity")
BATCH = 1000  # images encoded at once outside training


@keras.saving.register_keras_serializable(package="zoo")
class VQVAE(LikelihoodModel):
    """A vector-quantized autoencoder with a learned prior over its codes.

    The encoder maps images [B, H, W, C] to a grid of vectors [B, H', W', D]; the quantizer
    replaces each by the nearest of its K codebook vectors (the codes k(x), int64 [B, H', W']);
    the decoder maps the grid of codebook vectors to the likelihood's parameters. q(z|x) is the
    point mass at k(x), so with a prior p(k) over code grids the ELBO is
    log p(x | z_q(x)) + log p(k(x)): KL(q || p) = -log p(k(x)) (van den Oord et al. sec. 3.1).

    Training has two stages. `fit` trains the autoencoder under a uniform prior, on
    -log p(x|z_q) + codebook loss + beta * commitment loss: that loss is not a bound on
    anything, and `fit` reports its parts (reconstruction = -log p(x|z_q) in nats, codebook,
    commitment) and the codebook perplexity of each batch. `fit_prior(images)` then trains
    the prior (a `PixelCNNPrior`) on the codes of the images. Only then are `elbo`,
    `bits_per_dim` and `sample` what they claim to be worth; `evaluate` reports `kl` =
    -log p(k(x)) under the prior as it is (an untrained one is uniform: H' W' log K).

    Args:
        encoder: any Keras layer or model, images -> [B, H', W', quantizer.code_dim].
        quantizer: `VectorQuantizer(codebook_size, code_dim)`, `VectorQuantizerEMA(...)` or
            `HierarchicalResidualQuantizer(...)` (HRQ-VAE: codes are paths [B, H', W', D]; the prior
            models the quantizer's `paths` categories per position).
        decoder: any Keras layer or model, [B, H', W', code_dim] -> likelihood parameters.
        likelihood: an image likelihood layer, e.g. `Bernoulli()`.
        prior: a `PixelCNNPrior` (default `PixelCNNPrior()`), attached to K and the grid here.
        image_shape: (H, W, C); read from the encoder's Input when it has one.

    Example:
        encoder = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(32, 3, 2, "same", activation="relu"),
                                    keras.layers.Conv2D(64, 3, 2, "same", activation="relu"), keras.layers.Conv2D(16, 1)])
        decoder = keras.Sequential([keras.Input((7, 7, 16)),
                                    keras.layers.Conv2DTranspose(64, 3, 2, "same", activation="relu"),
                                    keras.layers.Conv2DTranspose(32, 3, 2, "same", activation="relu"),
                                    keras.layers.Conv2D(1, 3, padding="same")])          # Bernoulli logits
        vq = VQVAE(encoder, VectorQuantizer(64, 16), decoder, Bernoulli(), PixelCNNPrior(filters=32))
        vq.compile(keras.optimizers.Adam(1e-3)); vq.fit(images, epochs=5)
        vq.fit_prior(images, epochs=5)
        vq.sample(16, seed=0); vq.bits_per_dim(test_images); vq.codebook_usage(test_images)
    """

    METRIC_NAMES = METRIC_NAMES
    KIND = "VQ-VAE"
    scoring = "exact_bound"
    loss_is = "the autoencoder's training loss: -log p(x|z_q) + codebook + beta * commitment (no bound)"
    picture_names = ("reconstructions", "samples")
    draws = False  # a training step draws nothing: q is a point mass

    def __init__(self, encoder, quantizer, decoder, likelihood, prior=None, image_shape=None, prior_epochs=10,
                 **kwargs):
        super().__init__(**kwargs)
        prior = PixelCNNPrior() if prior is None else prior
        for role, value, kind in (("encoder", encoder, keras.layers.Layer), ("decoder", decoder, keras.layers.Layer),
                                  ("quantizer", quantizer, VectorQuantizer), ("likelihood", likelihood, ImageLikelihood),
                                  ("prior", prior, PixelCNNPrior)):
            if not isinstance(value, kind):
                raise ZooError(f"VQVAE {role}: expected a {kind.__module__}.{kind.__name__}, got {type(value).__name__}")
        self.encoder, self.quantizer, self.decoder = encoder, quantizer, decoder
        self.likelihood, self.prior, self.prior_epochs = likelihood, prior, prior_epochs
        # Epochs of each stage, saved with the weights.
        self.epochs_trained = self.epoch_counter()
        self.prior_epochs_trained = self.epoch_counter("prior_epochs_trained")
        self.trackers = [keras.metrics.Mean(name) for name in self.METRIC_NAMES]
        # Only `evaluate` scores the codes under the prior: a training step does not run it.
        self.kl_tracker = keras.metrics.Mean("kl")
        self.image_shape = self.grid_shape = None
        image_shape = image_shape or input_shape_of(encoder)
        if image_shape is not None:
            self.build((None, *image_shape))

    @property
    def codebook_size(self):
        return self.quantizer.codebook_size

    @property
    def code_count(self):
        """How many different codes a position can take: K, or a hierarchical quantizer's K^D paths."""
        return self.quantizer.paths

    @property
    def code_shape(self):
        """The shape of one quantized grid z_q: (H', W', code_dim)."""
        return (*self.grid_shape, self.quantizer.code_dim)

    def build(self, input_shape):
        """Build every block for images of `input_shape[1:]` and check the contract between them."""
        image_shape = tuple(input_shape[1:])
        if len(image_shape) != 3 or not all(isinstance(d, int) and d > 0 for d in image_shape):
            raise ZooError(f"image_shape must be (height, width, channels); got {image_shape}")
        if self.image_shape is not None and self.image_shape != image_shape:
            raise DataError(f"this VQ-VAE takes images of shape {self.image_shape}, not {image_shape}")
        if self.built:
            return
        self.image_shape = image_shape
        code_dim = self.quantizer.code_dim
        z_e = run_network("encoder", self.encoder, tf.zeros([1, *image_shape]), f"images of shape {image_shape}")
        if z_e.shape.rank != 4 or z_e.shape[-1] != code_dim:
            raise ZooError(f"the encoder outputs {tuple(z_e.shape[1:])} per image; a VQ-VAE needs a grid of vectors "
                           f"(height, width, {code_dim}) (quantizer.code_dim): end the encoder with "
                           f"keras.layers.Conv2D({code_dim}, 1)")
        self.grid_shape = tuple(z_e.shape[1:3])
        self.quantizer(tf.cast(z_e, tf.float32))
        self.prior.attach(self.quantizer.paths, self.grid_shape)
        expected = self.likelihood.params_shape(image_shape)
        output = run_network("decoder", self.decoder, tf.zeros([1, *self.code_shape]),
                      f"grids of code vectors of shape {self.code_shape}")
        if tuple(output.shape[1:]) != expected:
            raise ZooError(f"the decoder outputs {tuple(output.shape[1:])} per grid; {type(self.likelihood).__name__} "
                           f"needs {expected} for images of shape {image_shape} (likelihood.params_shape)")
        self.likelihood(tf.cast(output, tf.float32))
        self._build_input_shape = tf.TensorShape(input_shape)
        self.built = True

    # The model: codes, decoding, the prior, and the bound they give.

    def encode(self, x, training=None):
        """The codes k(x): int64 [B, H', W'], the nearest codebook vector at each position (a
        hierarchical quantizer's: [B, H', W', D], a path at each position)."""
        return self.quantizer.nearest(self.encoder_output(x, training))

    def decode(self, codes, training=None):
        """p(x | z_q) for code grids [B, H', W'] (integers in 0..K-1), a TFP distribution over images."""
        return self.likelihood(self._decoder_params(self.quantizer.lookup(codes), training))

    def call(self, x, training=None):
        """p(x | z_q(x)), the quantized grid passed on with the straight-through gradient."""
        quantized = self.quantizer(self.encoder_output(x, training), training=training)
        return self.likelihood(self._decoder_params(quantized, training))

    def reconstruct(self, x):
        """The mean of p(x | z_q(x)) of each image."""
        return self.reconstruction(self._checked(x))["x_mean"]

    def reconstruction(self, x):
        """{"x_mean": the decoded codes, "codes": the codes}: what `predict` and the
        `reconstruct` signature return."""
        codes = self.encode(x)
        return {"x_mean": self.decode(codes).mean(), "codes": codes}

    def sample(self, n, seed=None, mean=True):
        """`n` generated images [n, H, W, C]: codes k ~ p(k) from the prior, then the mean of
        p(x | z_q(k)) (or, with `mean=False`, a draw from it). `seed`: an int for repeatable draws."""
        n = sample_count(n)
        if seed is None:
            rows = tf.random.uniform([n], maxval=2 ** 62, dtype=tf.int64)
        else:
            rows = tf.random.stateless_uniform([n], seeds.stream(seed, seeds.PRIOR_STREAM), minval=None, maxval=None,
                                               dtype=tf.int64)
        p = self.decode(self.sample_codes(rows))
        if mean:
            return p.mean()
        return p.sample(seed=None if seed is None else seeds.stream(seed, seeds.LIKELIHOOD_STREAM))

    def sample_codes(self, seed):
        """Code grids [B, H', W'] drawn from the prior; row b depends only on the int64 seed[b]."""
        streams = tf.map_fn(lambda s: seeds.stream(s, seeds.PRIOR_STREAM), tf.cast(seed, tf.int64),
                            fn_output_signature=tf.int32)
        return self.quantizer.path_codes(self.prior.sample(streams))

    def elbo_terms(self, x):
        """-log p(x | z_q(x)) and KL(q || p) = -log p(k(x)) per example, in nats (nothing is
        drawn: q is a point mass)."""
        codes = self.encode(x)
        return -self.decode(codes).log_prob(x), -self.prior.log_prob(self.quantizer.path_index(codes))

    def elbo(self, x):
        """Per-example ELBO [B] in nats: log p(x | z_q(x)) + log p(k(x)). With a point-mass q
        it is also what importance sampling would give: no tighter estimate of log p(x) exists here."""
        reconstruction, kl = self.elbo_terms(self._checked(x))
        return -(reconstruction + kl)

    def bits_per_dim(self, x, levels=256):
        """The bound -ELBO per image in bits per pixel value [B]; see `to_bits_per_dim`."""
        return self.to_bits_per_dim(-self.elbo(x), levels)

    def to_bits_per_dim(self, nats, levels=256):
        """Nats per image -> bits per pixel value: nats / (D ln 2) for a discrete likelihood (a
        bound on -log2 P(x) / D); a density of [0, 1] pixels is first moved to the 0..levels-1
        scale (+ ln(levels - 1) per pixel), as `zoo evaluate` does for VAEs."""
        pixels = math.prod(self.image_shape)
        shift = 0.0 if getattr(self.likelihood, "discrete", False) else math.log(levels - 1)
        return (nats / pixels + shift) / math.log(2)

    def codes_of(self, x, batch_size=BATCH):
        """The codes of every image, int64 numpy [N, H', W']: `x` an array of images or a
        tf.data.Dataset of image batches (or of (images, ...) tuples)."""
        if isinstance(x, tf.data.Dataset):
            batches = (batch[0] if isinstance(batch, tuple) else batch for batch in x)
        else:
            x = np.asarray(x)
            self.check_images(x)
            batches = (x[i:i + batch_size] for i in range(0, len(x), batch_size))
        parts = [self.encode(tf.convert_to_tensor(batch, tf.float32)).numpy() for batch in batches]
        return np.concatenate(parts) if parts else np.zeros([0, *self.grid_shape, *self.quantizer.path_shape], np.int64)

    def codebook_usage(self, x, batch_size=BATCH):
        """How the codebook is used on images `x`: {"perplexity": exp(entropy of the code
        frequencies) (K at best), "dead_codes": codes no image uses, "codes_used"}."""
        return self.quantizer.usage_of(self.codes_of(x, batch_size))

    def encoder_output(self, x, training=None):
        """The encoder's grid of vectors z_e [B, H', W', code_dim], before quantization."""
        return tf.cast(self.encoder(x, training=training), tf.float32)

    def _decoder_params(self, z_q, training=None):
        return tf.cast(self.decoder(z_q, training=training), tf.float32)

    # Training: the autoencoder with `fit` (ImageModel's: the images checked first, a
    # ResidentImages trained by the compiled loop), then the prior with `fit_prior`.

    def fit_prior(self, x, epochs=10, batch_size=100, learning_rate=1e-3, callbacks=None, verbose="auto",
                  validation_data=None, backup_dir=None):
        """The second stage: fit the prior to the codes the encoder gives the images `x` now
        (an array, or a tf.data.Dataset of image batches), with a fresh Adam at `learning_rate`
        (`zoo.layers.code_prior.PriorTrainer`). Returns its History; the loss is -log p(k) in
        nats per image. `backup_dir`: the prior and its optimizer are backed up there after
        each epoch, and a call that finds a backup resumes after its epoch (`zoo train` puts it
        in the workdir); delete the folder to start again."""
        codes = self.quantizer.path_index(self.codes_of(x)).numpy()
        with self.distribute_strategy.scope():  # the strategy the prior's weights were made under
            trainer = PriorTrainer(self.prior)
            trainer(codes[:1])  # built, as a backup needs it to be before `fit`
            trainer.compile(keras.optimizers.Adam(learning_rate), jit_compile=compiled_loop.xla_pays(self),
                            steps_per_execution=self._steps_per_execution.numpy().item() if self._is_compiled else 1)
        before = float(self.prior_epochs_trained.numpy())
        # epoch counts from 0 in this call, and from the backup's next epoch when resuming
        count = keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: self.prior_epochs_trained.assign(before + epoch + 1.0))
        backup = [FiniteBackup(backup_dir)] if backup_dir else []
        validation = None if validation_data is None else self.quantizer.path_index(self.codes_of(validation_data)).numpy()
        return trainer.fit(codes, batch_size=batch_size, epochs=epochs, verbose=verbose,
                           callbacks=[count] + list(callbacks or []) + backup, validation_data=validation)

    def evaluate(self, x=None, *args, **kwargs):
        self.kl_tracker.reset_state()
        return super().evaluate(x, *args, **kwargs)

    @property
    def metrics(self):
        return self.trackers

    def autoencoder_variables(self):
        """The trainable variables `fit` updates: all but the prior's."""
        prior = {v.ref() for v in self.prior.trainable_variables}
        return [v for v in self.trainable_variables if v.ref() not in prior]

    def terms(self, x, training=False):
        """Per-example {"loss": -log p(x|z_q) + the quantizer's loss, "reconstruction",
        "codebook", "commitment", "perplexity" (of the batch's codes)} and "codes"."""
        quantized = self.quantizer.quantize(self.encoder_output(x, training), training=training)
        reconstruction = -self.likelihood(self._decoder_params(quantized["quantized"], training)).log_prob(x)
        return {"loss": reconstruction + self.quantizer.loss(quantized), "reconstruction": reconstruction,
                "codebook": quantized["codebook_loss"], "commitment": quantized["commitment_loss"],
                "perplexity": tf.fill(tf.shape(reconstruction), perplexity(quantized["counts"])),
                "codes": quantized["codes"]}

    @tf.autograph.experimental.do_not_convert  # plain TF already: AutoGraph would only cost tracing time
    def train_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        return self.update(x)

    def update(self, x):
        """One optimizer step of the autoencoder on the batch `x` (nothing is drawn). The loss
        is divided by the number of replicas, whose gradients the optimizer sums."""
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        with tf.init_scope():  # Adam's slots for every trainable variable, as a reloaded model makes them
            self.optimizer.build(self.trainable_variables)
        with tf.GradientTape() as tape:
            terms = self.terms(x, training=True)
            loss = tf.reduce_mean(terms["loss"])
            if self.losses:
                loss += tf.add_n(self.losses)
            loss /= replicas
        self.optimizer.minimize(loss, self.autoencoder_variables(), tape=tape)
        return self._record(terms)

    @tf.autograph.experimental.do_not_convert
    def test_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        terms = self.terms(x, training=False)
        self.kl_tracker.update_state(-self.prior.log_prob(self.quantizer.path_index(terms["codes"])))
        return {**self._record(terms), "kl": self.kl_tracker.result()}

    @tf.autograph.experimental.do_not_convert
    def predict_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        return self.reconstruction(x)

    def _record(self, terms):
        for tracker in self.trackers:
            tracker.update_state(terms[tracker.name])
        return {tracker.name: tracker.result() for tracker in self.trackers}

    # What the rest of the zoo asks of a VQ-VAE (zoo.models.base).

    def signatures(self, samples=5000):
        """reconstruct (also serving_default), encode (codes, z_e, z_q), decode (codes), sample
        (from the prior over codes) and elbo (exact: `samples` does not apply)."""
        made = {"serving_default": (signatures.reconstruct_codes, ("x",)),
                "reconstruct": (signatures.reconstruct_codes, ("x",)), "encode": (signatures.encode_codes, ("x",)),
                "decode": (signatures.decode_codes, ("codes",)), "sample": (signatures.sample_codes, ("seed",)),
                "elbo": (signatures.exact_elbo, ("x",))}
        return {name: Signature(functools.partial(function, self), inputs) for name, (function, inputs) in made.items()}

    def serving_spec(self, name):
        if name == "codes":
            return tf.TensorSpec([None, *self.grid_shape, *self.quantizer.path_shape], tf.int64, name="codes")
        return super().serving_spec(name)

    def codes(self, x, y=None):
        """The codes k(x) (a grid of integers per image); a VQ-VAE has no labels."""
        self.check_labels(x, y)
        return self.encode(x)

    def decode_mean(self, z, y=None):
        self.check_labels(z, y)
        return self.decode(z).mean()

    def fit_after_training(self, images, batch_size, learning_rate, seed, backup_dir=None, verbose=True):
        """The second stage: the prior fitted to the codes of `images` for `prior_epochs`, backed
        up each epoch in `backup_dir`/prior; returns what it took."""
        epochs = self.prior_epochs
        if verbose:
            print(f"Training the prior over the codes of {len(images)} training images: {epochs} "
                  f"epoch{'s' if epochs != 1 else ''}", flush=True)
        start = time.perf_counter()
        backup_dir = None if backup_dir is None else f"{backup_dir}/prior"
        if verbose and backup_dir and tf.io.gfile.exists(backup_dir):
            print(f"Resuming the prior from the backup in {backup_dir}", flush=True)
        progress = [CompactProgress(epochs)] if verbose else None
        history = self.fit_prior(images, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                                 callbacks=progress, verbose=0, backup_dir=backup_dir)
        losses = history.history.get("loss", [])  # empty if the backup held the last epoch
        return {"prior_epochs": epochs, "prior_train_seconds": round(time.perf_counter() - start, 1),
                **({"prior_final_train_loss": losses[-1]} if losses else {})}

    def kind_figures(self, test_images, figures, levels, verbose=True):
        """The bound in bits per pixel value, and how the codebook is used on the test images."""
        usage = self.codebook_usage(test_images)
        result = {"test_bits_per_dim": self.to_bits_per_dim(figures["test_neg_elbo"], levels or 256),
                  "test_codebook_perplexity": usage["perplexity"], "test_dead_codes": usage["dead_codes"],
                  "codebook_size": self.codebook_size, **self.quantizer.usage_figures(usage), "loss_is": self.loss_is,
                  "test_neg_elbo_is": "-log p(x|z_q(x)) - log p_prior(k(x)), the learned prior's bound"}
        if verbose:
            print(f"Bound {result['test_bits_per_dim']:.4f} bits/dim; codebook perplexity "
                  f"{usage['perplexity']:.1f} of {self.code_count} codes, {usage['dead_codes']} unused on the "
                  "test images", flush=True)
        return result

    # Saving.

    def get_config(self):
        config = {"name": self.name, "image_shape": self.image_shape}
        for role in ("encoder", "quantizer", "decoder", "likelihood", "prior"):
            config[role] = keras.saving.serialize_keras_object(getattr(self, role))
        config["prior_epochs"] = self.prior_epochs
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for role in ("encoder", "quantizer", "decoder", "likelihood", "prior"):
            config[role] = keras.saving.deserialize_keras_object(config[role], custom_objects=custom_objects)
        if config.get("image_shape") is not None:
            config["image_shape"] = tuple(config["image_shape"])
        return cls(**config)
