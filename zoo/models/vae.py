"""The VAE: encoder -> q(z|x) -> z -> decoder -> p(x|z), with a prior p(z), as a keras.Model."""

import functools
import time

import numpy as np
import tensorflow as tf
import tf_keras as keras

from zoo import seeds
from zoo.config import rules
from zoo.errors import DataError, ZooError
from zoo.layers.samplers import PRIOR, Sampler
from zoo.layers.conditions import Condition
from zoo.layers.likelihoods import ImageLikelihood
from zoo.layers.posteriors import Posterior
from zoo.layers.priors import Prior, StandardNormal
from zoo.models import importance_sampling, signatures
from zoo.models.base import LikelihoodModel, Signature, input_shape_of, run_network, sample_count
from zoo.objectives import ELBO, Objective

LOG_LIKELIHOOD_BATCH = 50  # images scored at once by `log_likelihood`, as `zoo evaluate` does

METRIC_NAMES = ("loss", "reconstruction", "kl")


@keras.saving.register_keras_serializable(package="zoo")
class VAE(LikelihoodModel):
    """A variational autoencoder composed of two networks and four blocks.

    The contract, checked when the model is built (one-line `ZooError` otherwise): the
    encoder maps images [B, H, W, C] to `posterior.params_size` values per example; the
    decoder maps codes [B, *posterior.code_shape] to `likelihood.params_shape((H, W, C))`
    values per example (for a Bernoulli, [B, H, W, C] logits).

    `call(x)` returns p(x|z) (a TFP distribution, z one draw from q(z|x)); `encode(x)` q(z|x);
    `decode(z)` p(x|z). With a `condition` the model is conditional, q(z|x,y) p(x|z,y) and
    p(z) or a learned p(z|y): both networks take a second input, the condition vector [B, size]
    (`zoo.build` makes such networks; your own take `[x, c]` and `[z, c]`), every method takes
    `y` beside `x` or `z`, and `fit` takes (images, labels). `fit` minimises the objective (by default the negative ELBO in nats
    per example) and reports its reconstruction and KL terms; `evaluate` draws z with a fixed
    seed, so it gives the same numbers every time; the KL is counted exactly once.

    Args:
        encoder: any Keras layer or model, images -> posterior parameters.
        posterior: a posterior layer, e.g. `DiagonalNormal(latent_dim=20)`.
        decoder: any Keras layer or model, codes -> likelihood parameters.
        likelihood: an image likelihood layer, e.g. `Bernoulli()`.
        prior: p(z), e.g. `StandardNormal()` (the default) or `VampPrior(components=200)`.
        objective: e.g. `ELBO()` (the default), `ELBO(beta=4.0, warmup_epochs=10)`, `IWAE(samples=5)`,
            `BetaTCVAE(dataset_size=len(images))`, `DIPVAE("ii")`.
        image_shape: (H, W, C); read from the encoder's Input when it has one.
        samplers: post-hoc samplers fitted to the encoded training set after training
            (`fit_samplers`), each drawn from by `sample(n, sampler=its kind)` and served as
            its own signature: e.g. `[GaussianMixture(10), TwoStageVAE(), MaskedAutoregressiveFlow()]`
            (`zoo.layers.samplers`). The prior is always there ("prior").
        aggregate_posterior: a `GaussianMixture` (the earlier name of the one sampler), added to `samplers`.
        condition: what y is, e.g. `ClassLabel(10)` (labels 0..9) or `ConditionVector(40)`;
            None (the default): an unconditional VAE.

    Example:
        encoder = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                                    keras.layers.Dense(256, "relu"), keras.layers.Dense(40)])
        decoder = keras.Sequential([keras.Input((20,)), keras.layers.Dense(256, "relu"),
                                    keras.layers.Dense(784), keras.layers.Reshape((28, 28, 1))])
        vae = VAE(encoder, DiagonalNormal(20), decoder, Bernoulli())
        vae.compile(keras.optimizers.Adam(1e-3)); vae.fit(images, epochs=5)
        vae.sample(16); vae.log_likelihood(images[:10], samples=1000)

        # conditional ("draw me a 7"): zoo.build(VAEConfig(condition={"type": "class_label"}))
        cvae.fit(images, labels, epochs=5); cvae.sample(4, y=7)
    """

    METRIC_NAMES = METRIC_NAMES

    KIND = "VAE"
    HAS_CLASSIFIER = False  # a classifier q(y|x) inside the inference model (M2), as the rules ask
    embeds = True

    @property
    def loss_is(self):
        """What `fit` minimises, as its objective says (nats per image), and what -log p(x|z)
        is when the likelihood is a cost rather than a density."""
        if self.likelihood.is_density:
            return self.objective.loss_is
        return f"{self.objective.loss_is}; here -log p(x|z) is {self.likelihood.cost_is}: a cost, not a density, so no bound"

    # A model without a likelihood (a point-mass q(z|x), or a reconstruction cost that is not a
    # density) has no ELBO and no log p(x): it is scored by its reconstructions, exports no
    # `elbo` or `log_likelihood` signature and has no baseline to beat (docs/autoencoders.md).

    @property
    def has_likelihood(self):
        """Whether log p(x) is defined: q(z|x) has a density and p(x|z) is one."""
        return not self.posterior.point_mass and self.likelihood.is_density

    @property
    def scoring(self):
        """Importance-sampled log p(x); reconstruction error for a model without a likelihood."""
        return "importance_sampling" if self.has_likelihood else "reconstruction_error"

    @property
    def slice_figure(self):
        """The `elbo` signature's -ELBO; without a likelihood, the `reconstruct` signature's squared error."""
        if self.has_likelihood:
            return super().slice_figure
        return ("reconstruct", "squared_error", 1.0, "squared_error")

    def test_figures(self, logs):
        """The test -ELBO and its parts; without a likelihood, the loss, the reconstruction cost
        and the mean squared error per pixel (no -ELBO is recorded)."""
        if self.has_likelihood:
            return super().test_figures(logs)
        return {"test_loss": logs["loss"], "test_reconstruction": logs["reconstruction"],
                "test_squared_error": logs["squared_error"]}

    def test_report(self, figures):
        if self.has_likelihood:
            return super().test_report(figures)
        return (f"Test loss {figures['test_loss']:.2f} (reconstruction cost {figures['test_reconstruction']:.2f}); "
                f"mean squared error {figures['test_squared_error']:.5f} per pixel; no likelihood")

    def pixel_marginal(self, train_images):
        """The trivial baseline the export gate holds the test -ELBO to; None without a likelihood,
        and None when the objective uses the draws alone (`needs_density` False: the WAE with a
        Gaussian encoder), whose training charges no KL, so its -ELBO is a figure it never
        minimised (the WAE's 271 nats against a baseline of 206) and no test of a broken model."""
        return super().pixel_marginal(train_images) if self.has_likelihood and self.objective.needs_density else None

    def require_likelihood(self, what):
        """Refuse, in one line, `what` (a bound on log p(x)) of a model without a likelihood."""
        if not self.has_likelihood:
            raise ZooError(f"{what}: this {self.KIND} has no likelihood ({self.without_likelihood_because()}); "
                           "score it by reconstruction error (zoo evaluate does)")

    def without_likelihood_because(self):
        if self.posterior.point_mass:
            return f"its posterior {type(self.posterior).__name__} is a point mass, with no density"
        return f"its reconstruction cost {type(self.likelihood).__name__} is not a density"

    def kind_figures(self, test_images, figures, levels, verbose=True):
        """What the loss is, beside the figures (an objective's loss need not be the -ELBO)."""
        return {"loss_is": self.loss_is}

    @property
    def label_use(self):
        """"condition" for a conditional model (fit and scores take labels), else "none"."""
        return "none" if self.condition is None else "condition"

    @property
    def classes(self):
        """The number of class labels of a `ClassLabel` condition, else None."""
        return getattr(self.condition, "classes", None)

    def __init__(self, encoder, posterior, decoder, likelihood, prior=None, objective=None,
                 image_shape=None, aggregate_posterior=None, condition=None, samplers=(), **kwargs):
        super().__init__(**kwargs)
        prior = StandardNormal() if prior is None else prior
        objective = ELBO() if objective is None else objective
        for role, value, kind in (("encoder", encoder, keras.layers.Layer), ("decoder", decoder, keras.layers.Layer),
                                  ("posterior", posterior, Posterior), ("likelihood", likelihood, ImageLikelihood),
                                  ("prior", prior, Prior), ("objective", objective, Objective)):
            if not isinstance(value, kind):
                raise ZooError(f"VAE {role}: expected a {kind.__module__}.{kind.__name__}, got {type(value).__name__}")
        samplers = checked_samplers(samplers, aggregate_posterior)
        if condition is not None and not isinstance(condition, Condition):
            raise ZooError(f"VAE condition: expected a zoo.layers.conditions.Condition (e.g. ClassLabel(10)), "
                           f"got {type(condition).__name__}")
        self.check_blocks(posterior, prior, objective, condition, samplers)
        objective.check_ready()
        self.condition = condition
        self.encoder, self.posterior, self.decoder, self.likelihood = encoder, posterior, decoder, likelihood
        self.prior, self.objective, self.samplers = prior, objective, samplers
        # The Gaussian mixture's weights keep the object path ("aggregate_posterior/loc") that
        # exports made before the sampler slot recorded, so their model.keras still loads.
        self.aggregate_posterior = next((s for s in samplers if s.kind == "gaussian_mixture"), None)
        # Epochs trained so far, saved with the weights: schedules (KL warm-up, temperature)
        # read it, so a restored or fine-tuned model continues where it was.
        self.epochs_trained = self.epoch_counter()
        self.trackers = [keras.metrics.Mean(name)
                         for name in self.tracked_names() + self.layer_metric_names + tuple(objective.metric_names)]
        self.image_shape = None
        image_shape = image_shape or input_shape_of(encoder)
        if image_shape is not None:
            self.build((None, *image_shape))

    def check_blocks(self, posterior, prior, objective, condition, samplers=()):
        """Refuse blocks that do not fit together, by the zoo's one set of rules
        (`zoo.config.rules`, which the config path asks too)."""
        rules.check_vae_blocks(posterior, prior, objective, condition, classifier=self.HAS_CLASSIFIER or None,
                               samplers=[sampler.kind for sampler in samplers])
        objective.check(posterior)

    def tracked_names(self):
        """METRIC_NAMES, without the KL of a point mass (it has none), with the mean squared
        error per pixel of a model without a likelihood (its test figure)."""
        names = tuple(name for name in self.METRIC_NAMES if name != "kl" or not self.posterior.point_mass)
        return names + (() if self.has_likelihood else ("squared_error",))

    @property
    def code_shape(self):
        return tuple(self.posterior.code_shape)

    @property
    def layer_metric_names(self):
        """The KL of each stochastic layer, reported beside the total (kl_z1, kl_z2, ...)."""
        return tuple(f"kl_{name}" for name in self.posterior.layer_names)

    def build(self, input_shape):
        """Build every block for images of `input_shape[1:]` and check the contract between them."""
        image_shape = tuple(input_shape[1:])
        if len(image_shape) != 3 or not all(isinstance(d, int) and d > 0 for d in image_shape):
            raise ZooError(f"image_shape must be (height, width, channels); got {image_shape}")
        if self.image_shape is not None and self.image_shape != image_shape:
            raise DataError(f"this VAE takes images of shape {self.image_shape}, not {image_shape}")
        if self.built:
            return
        self.image_shape = image_shape
        condition = None if self.condition is None else tf.zeros([1, self.condition.size])
        with_condition = "" if condition is None else f" and condition vectors of size {self.condition.size}"
        params = run_network("encoder", self.encoder, _joined(tf.zeros([1, *image_shape]), condition),
                      f"images of shape {image_shape}{with_condition}")
        if tuple(params.shape[1:]) != (self.posterior.params_size,):
            raise ZooError(f"the encoder outputs {tuple(params.shape[1:])} per example; "
                           f"{type(self.posterior).__name__} needs ({self.posterior.params_size},) "
                           f"(posterior.params_size): end the encoder with keras.layers.Dense({self.posterior.params_size})")
        self.posterior(tf.cast(params, tf.float32))
        self.prior.attach(self.posterior, image_shape, self._posterior_of,
                          condition_size=None if self.condition is None else self.condition.size)
        expected = self.likelihood.params_shape(image_shape)
        output = run_network("decoder", self.decoder, _joined(tf.zeros([1, *self.code_shape]), condition),
                      f"codes of shape {self.code_shape}{with_condition}")
        if tuple(output.shape[1:]) != expected:
            raise ZooError(f"the decoder outputs {tuple(output.shape[1:])} per code; {type(self.likelihood).__name__} "
                           f"needs {expected} for images of shape {image_shape} (likelihood.params_shape): "
                           f"end the decoder with keras.layers.Reshape({expected}) or a Conv2D({expected[-1]}, ...)")
        self.likelihood(tf.cast(output, tf.float32))
        for sampler in self.samplers:
            sampler.attach(self.posterior)
        self._build_input_shape = tf.TensorShape(input_shape)
        self.built = True

    # The model as a graphical model: q(z|x), p(x|z), p(z), and what follows from them.

    def encode(self, x, y=None, training=None):
        """q(z|x) (q(z|x,y) if conditional): while training, the posterior layer's output
        (relaxed for categorical latents); otherwise its inference form (hard one-hot codes
        for categorical latents)."""
        params = self._encoder_params(x, self.condition_vector(y), training)
        return self.posterior(params) if training else self.posterior.inference(params)

    def decode(self, z, y=None, training=None):
        """p(x|z) (p(x|z,y) if conditional), a TFP distribution over whole images."""
        return self._decode(z, self.condition_vector(y), training)

    def call(self, inputs, training=None):
        """p(x|z) at one draw z ~ q(z|x); a conditional model takes `(x, y)`."""
        x, y = inputs if self.condition is not None and isinstance(inputs, (tuple, list)) else (inputs, None)
        condition = self.condition_vector(y)
        q = self.posterior(self._encoder_params(x, condition, training))
        return self._decode(tf.convert_to_tensor(q), condition, training)

    def sample(self, n, seed=None, mean=True, y=None, sampler=PRIOR):
        """`n` generated images [n, H, W, C]: z ~ p(z), then the mean of p(x|z) (or, with
        `mean=False`, a draw from it). `seed`: an int for repeatable draws. A conditional
        model takes `y`: one label (or vector) for all n, or n of them ("draw me a 7": y=7).
        `sampler`: "prior", or the kind of a fitted sampler to draw z from instead
        (`sampler_names`); it draws as its export signature does, row i from seed row i."""
        n = sample_count(n)
        if sampler != PRIOR:
            self.sampler(sampler)  # a one-line error naming the fitted ones
            seed = int(np.random.SeedSequence().generate_state(1)[0]) if seed is None else seed
            rows = tf.random.stateless_uniform([n], seeds.stream(seed, seeds.PRIOR_STREAM), minval=None,
                                               maxval=None, dtype=tf.int64)
            functions = self.__dict__.setdefault("_sampler_functions", {})  # traced once per sampler
            if sampler not in functions:
                functions[sampler] = tf.function(functools.partial(signatures.sample_from, self, sampler=sampler))
            return functions[sampler](rows)["x_mean" if mean else "x_sample"]
        if self.condition is not None and y is not None:
            y = np.asarray(y)
            if y.ndim == self.condition.spec().shape.rank - 1:  # one condition for all n
                y = np.repeat(y[None], n, axis=0)
            y = self.condition.check(y, "y")
            if len(y) != n:
                raise DataError(f"sample({n}): y holds {len(y)} conditions; give one, or {n}")
        condition = self.condition_vector(y)
        z = self.prior.given(condition).sample(n, seed=None if seed is None else seeds.stream(seed, seeds.PRIOR_STREAM))
        p = self._decode(z, condition)
        if mean:
            return p.mean()
        return p.sample(seed=None if seed is None else seeds.stream(seed, seeds.LIKELIHOOD_STREAM))

    def reconstruct(self, x, y=None):
        """The decoded posterior code of each image (the mean of p(x|z) at z = q's mean or mode)."""
        return self.reconstruction(self._checked(x), self._checked_condition(y))["x_mean"]

    def reconstruction(self, x, y=None):
        """{"x_mean": the decoded posterior code, and what describes q(z|x) (`posterior.summary`)}:
        what `predict` and the `reconstruct` signature return."""
        q = self.encode(x, y)
        x_mean = self.decode(self.posterior.code(q), y).mean()
        if self.has_likelihood:
            return {"x_mean": x_mean, **self.posterior.summary(q)}
        return {"x_mean": x_mean, **self.posterior.summary(q), "squared_error": squared_error(x_mean, x)}

    def elbo(self, x, y=None, seed=seeds.ELBO_SEED):
        """Per-example ELBO [B] in nats at one draw of z (a fixed seed: repeatable), beta = 1;
        for a conditional model the bound on log p(x|y)."""
        self.require_likelihood("elbo")
        reconstruction, kl = self.elbo_terms(self._checked(x), self._checked_condition(y), seed)
        return -(reconstruction + kl)

    def elbo_terms(self, x, y=None, seed=None):
        """-log p(x|z) and KL(q(z|x) || p(z)) per example at one draw of z, as the ELBO counts them."""
        q, z, log_likelihood = self.draw(x, 1, seed=seed, y=y)
        return -log_likelihood[0], self.prior.given(self.condition_vector(y)).kl(q, z)

    def log_likelihood(self, x, y=None, samples=5000, seed=seeds.LOG_LIKELIHOOD_SEED, batch_size=LOG_LIKELIHOOD_BATCH):
        """Per-example log p(x), a tensor [N] (log p(x|y) if conditional) estimated with `samples`
        importance samples (the IWAE bound; see `zoo.models.importance_sampling`), computed in
        compiled batches of `batch_size`: the path `zoo evaluate` takes, at its speed."""
        self.require_likelihood("log_likelihood")
        return tf.constant(self.importance_sampled_batches(x, y, samples, seed, batch_size)["log_likelihood"])

    def importance_sampled(self, x, y=None, samples=5000, seed=seeds.LOG_LIKELIHOOD_SEED):
        """Per-example {"log_likelihood", "elbo", "reconstruction", "kl"} tensors [B] from the
        same `samples` draws of q(z|x) (of log p(x|y) at y if conditional); traceable."""
        self.require_likelihood("importance sampling")
        return importance_sampling.log_likelihood(self, x, samples, seed, y=y)

    def importance_sampled_batches(self, x, y=None, samples=5000, seed=seeds.LOG_LIKELIHOOD_SEED,
                                   batch_size=LOG_LIKELIHOOD_BATCH, progress=None):
        """`importance_sampled` over all of `x` (numpy [N, ...]) in compiled batches; numpy
        results [N]; `progress(log_likelihoods so far)` after each batch."""
        self.require_likelihood("importance sampling")
        x = np.asarray(x)
        self.check_images(x)
        y = None if y is None else np.asarray(self._checked_condition(y))
        if y is not None and len(y) != len(x):
            raise DataError(f"{len(x)} images but {len(y)} labels")
        seed = tuple(int(s) for s in np.asarray(seed).reshape(-1))
        trace = (samples, seed, y is None)
        functions = self.__dict__.setdefault("_importance_functions", {})  # one trace per (K, seed)
        if trace not in functions:
            functions[trace] = tf.function(
                (lambda batch: self.importance_sampled(batch, None, samples, seed)) if y is None
                else (lambda batch, labels: self.importance_sampled(batch, labels, samples, seed)))
        estimate, parts = functions[trace], []
        for first in range(0, len(x), batch_size):
            batch = (tf.constant(x[first:first + batch_size], tf.float32),)
            if y is not None:
                batch += (tf.constant(y[first:first + batch_size]),)
            parts.append({k: v.numpy() for k, v in estimate(*batch).items()})
            if progress:
                progress(np.concatenate([p["log_likelihood"] for p in parts]))
        return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}

    def draw(self, x, samples=1, training=False, seed=None, alg="auto_select", y=None, with_error=False):
        """q(z|x) (inference form), draws z [S, B, ...] and log p(x|z) [S, B] for each draw.

        While training, z comes from the posterior layer itself (relaxed one-hot vectors for
        categorical latents); otherwise from q. With `seed` (a shape-[2] integer tensor) the
        draws are stateless, so the same x and seed give the same numbers in Python and in an
        export; `alg` picks the stateless RNG ("threefry" is fast inside XLA on CPU).
        `with_error`: also the squared error per pixel of p(x|z)'s mean at each draw [S, B],
        from the same decoder pass (a model without a likelihood reports it).
        """
        condition = self.condition_vector(y)
        params = self._encoder_params(x, condition, training)
        posterior = self.posterior.given(self.joint_target(x, condition, training))
        q, z = posterior.draws(params, samples, seed, training, alg)
        return (q, z, *self._log_likelihoods(x, z, samples, condition, training, with_error=True)) if with_error \
            else (q, z, self._log_likelihoods(x, z, samples, condition, training))

    def joint_target(self, x, condition=None, training=None):
        """z [S, B, ...] -> log p(x|z) + log p(z) [S, B] of the images x [B, ...] (at their
        condition vectors if conditional): what a posterior that moves its draws along the
        model's joint follows (`posterior.needs_target`, the HVAE's)."""
        return lambda z: (self._log_likelihoods(x, z, tf.shape(z)[0], condition, training)
                          + self.prior.given(condition).distribution().log_prob(z))

    def _log_likelihoods(self, x, z, samples, condition=None, training=None, with_error=False):
        """log p(x|z) [S, B] of the images x [B, ...] at each of the S draws z [S, B, ...] (at
        the condition vectors [B, size] if conditional): one decoder pass over all S * B codes;
        `with_error`: and the squared error per pixel of p(x|z)'s mean [S, B]."""
        batch = tf.shape(x)[0]
        flat_z = tf.reshape(z, tf.concat([[samples * batch], tf.shape(z)[2:]], 0))
        flat_x = tf.reshape(tf.broadcast_to(x, tf.concat([[samples], tf.shape(x)], 0)),
                            tf.concat([[samples * batch], tf.shape(x)[1:]], 0))
        if condition is not None:
            condition = tf.tile(condition, [samples, 1])
        p = self._decode(flat_z, condition, training)
        log_px = tf.reshape(p.log_prob(flat_x), [samples, batch])
        return (log_px, tf.reshape(squared_error(p.mean(), flat_x), [samples, batch])) if with_error else log_px

    @property
    def local_inference_refusal(self):
        """None when q(z|x) is one continuous layer of an unconditional model, whose encoder
        output (`posterior_params`) can be optimized per image against `log_joint`; else why not."""
        if not self.has_likelihood:
            return f"this {self.KIND} has no likelihood ({self.without_likelihood_because()}): no log p(x, z) to fit q to"
        if self.condition is not None or self.HAS_CLASSIFIER:
            return f"a conditional {self.KIND}'s q(z|x,y) is not optimized per image yet"
        if not self.posterior.continuous:
            return "categorical latents have no reparameterized draws to optimize q(z|x) per image with"
        if self.posterior.layer_names:
            return f"{type(self.posterior).__name__}: hierarchical latents are not optimized per image yet"
        if self.posterior.needs_target:
            return f"{type(self.posterior).__name__}: its flow follows the model's log p(x, z), not optimized per image yet"
        return None

    def posterior_params(self, x):
        """The encoder's output for images x, [B, posterior.params_size]: q(z|x) is
        `posterior.inference(posterior_params(x))`."""
        return self._encoder_params(x)

    def log_joint(self, x, z):
        """log p(x|z) + log p(z) [S, B] at codes z [S, B, *code_shape] of the images x [B, ...]
        (an unconditional model)."""
        return self._log_likelihoods(x, z, tf.shape(z)[0]) + self.prior.distribution().log_prob(z)

    def terms(self, x, training=False, seed=None, alg="auto_select", y=None):
        """The objective's per-example {"loss", "reconstruction", "kl"} on the batch x (with
        its conditions y if conditional), and what `extend_terms` adds."""
        drawn = self.draw(x, self.objective.samples, training, seed, alg, y=y, with_error=not self.has_likelihood)
        q, z, log_likelihood = drawn[:3]
        condition = self.condition_vector(y)
        prior = self.prior.given(condition)
        terms = self.objective_terms(q, z, log_likelihood, prior, condition, seed, training)
        if not self.has_likelihood:
            terms["squared_error"] = tf.reduce_mean(drawn[3], axis=0)
        per_layer = terms.pop("kl_per_layer", None)
        if self.layer_metric_names:
            terms.update(zip(self.layer_metric_names, tf.unstack(per_layer, axis=-1)))
        return self.extend_terms(terms, x, q, z, prior, training, seed, alg)

    def extend_terms(self, terms, x, q, z, prior, training=False, seed=None, alg="auto_select"):
        """The hook a model with more to its loss extends (the adversarial VAE's penalty): the
        objective's `terms` at the draws z [S, B, ...] of q(z|x) from the images x, under `prior`."""
        return terms

    def objective_terms(self, q, z, log_likelihood, prior, condition=None, seed=None, training=False):
        """The objective's terms at the draws z, given what it declares it needs beside q, z,
        log p(x|z) and p(z): the decoder's penalty, draws of p(z), a seed for its own draws;
        with the KL of a posterior that has one when the objective uses the draws alone."""
        penalty = self.objective.decoder_penalty
        given = {} if penalty is None else {"decoder_penalty": self.decoder_penalty(penalty, z, condition, training)}
        if self.objective.prior_draws:
            given["prior_z"] = self.prior_draws(prior, z, seed)
        if self.objective.own_draws:
            given["seed"] = self.objective_seed(seed)
        terms = self.objective.terms(q, z, log_likelihood, prior, **given)
        if "kl" not in terms and not self.posterior.point_mass:  # an objective that uses the draws alone
            terms["kl_per_layer"] = prior.kl_per_layer(q, z)
            terms["kl"] = tf.reduce_sum(terms["kl_per_layer"], axis=-1)
        return terms

    def prior_draws(self, prior, z, seed=None):
        """Draws of p(z) shaped as the codes z [S, B, ...], for an objective that compares q(z)
        with p(z) (`objective.prior_draws`): stateless when `seed` is given (its own stream of
        the batch's seed), so a compiled step and `evaluate` repeat them."""
        if seed is not None:
            seed = tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int32), seeds.PRIOR_DRAWS_STREAM)
        distribution = prior.distribution()
        shape = tf.shape(z)[:2 - distribution.batch_shape.rank]  # [S, B], or [S] for p(z|y) of the batch
        return tf.reshape(tf.cast(distribution.sample(shape, seed=seed), z.dtype), tf.shape(z))

    @staticmethod
    def objective_seed(seed=None):
        """The seed of an objective's own draws (`objective.own_draws`): the batch's stateless
        seed on its own stream, so a compiled step and `evaluate` repeat them; None without one."""
        if seed is None:
            return None
        return tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int32), seeds.OBJECTIVE_DRAWS_STREAM)

    def decoder_penalty(self, kind, z, condition=None, training=None):
        """What an objective that regularizes the decoder asks for (`Objective.decoder_penalty`):
        "weights", the sum of squares of the decoder network's trainable weights (kernels and
        biases), a scalar; "gradient", ||d/dz sum_pixels mean of p(x|z)||^2 at each draw, [B]
        (averaged over the S draws z [S, B, d]), through which the loss reaches both networks."""
        if kind == "weights":
            return tf.add_n([tf.reduce_sum(tf.square(tf.cast(v, tf.float32))) for v in self.decoder.trainable_variables])
        if kind != "gradient":
            raise ZooError(f"decoder_penalty: 'weights' or 'gradient', not {kind!r}")
        samples, batch = tf.shape(z)[0], tf.shape(z)[1]
        flat_z = tf.reshape(z, tf.concat([[samples * batch], tf.shape(z)[2:]], 0))
        if condition is not None:
            condition = tf.tile(condition, [samples, 1])
        with tf.GradientTape() as tape:
            tape.watch(flat_z)
            total = tf.reduce_sum(self._decode(flat_z, condition, training).mean())
        gradient = tape.gradient(total, flat_z)
        norms = tf.reduce_sum(tf.reshape(tf.square(gradient), [samples * batch, -1]), axis=-1)
        return tf.reduce_mean(tf.reshape(norms, [samples, batch]), axis=0)

    def condition_vector(self, y):
        """The condition vector [B, size] of `y` (None for an unconditional model), or a
        one-line error when `y` is missing or not wanted."""
        if self.condition is None:
            if y is not None:
                raise ZooError("this VAE is not conditional: it takes no y (build it with a condition)")
            return None
        if y is None:
            raise ZooError(f"this VAE is conditional ({type(self.condition).__name__}): pass y, e.g. "
                           "vae.sample(4, y=7), vae.elbo(x, y), vae.fit(images, labels)")
        return self.condition.vector(y)

    def _encoder_params(self, x, condition=None, training=None):
        return tf.cast(self.encoder(_joined(x, condition), training=training), tf.float32)

    def _decode(self, z, condition, training=None):
        return self.likelihood(self._decoder_params(z, condition, training))

    def _decoder_params(self, z, condition=None, training=None):
        return tf.cast(self.decoder(_joined(z, condition), training=training), tf.float32)

    def _posterior_of(self, x):
        """q(z|x) in inference form, as the VampPrior needs it at its pseudo-inputs."""
        return self.posterior.inference(self._encoder_params(x))

    # Training: `fit`, `evaluate` and the image checks are ZooModel's.

    def check_labels(self, x, y):
        """The labels given beside arrays of images: needed by (and checked for) a conditional
        model, refused by an unconditional one."""
        if self.condition is None:
            return super().check_labels(x, y)
        if isinstance(x, tf.data.Dataset) or x is None:
            return
        if y is None:
            raise DataError(f"this VAE is conditional ({type(self.condition).__name__}): pass the labels, "
                            "fit(images, labels)")
        y = self.condition.check(np.asarray(y), "the labels")
        if len(y) != len(x):
            raise DataError(f"{len(x)} images but {len(y)} labels")

    def _checked_condition(self, y):
        """`y` checked by the condition when it is concrete (one-line DataError), else as given;
        refused by a model without a condition (before any tracing, so the line stays one)."""
        if y is None:
            return y
        if self.condition is None:
            raise DataError(f"this {self.KIND} is not conditional: it takes no y (build it with a condition)")
        if isinstance(y, (np.ndarray, list, int, np.integer)) or (isinstance(y, tf.Tensor) and tf.executing_eagerly()):
            return self.condition.check(np.asarray(y), "y")
        return y

    def scheduled_blocks(self):
        """The blocks whose state follows the epoch (`on_epoch(epochs_trained)`)."""
        return [block for block in (self.objective, self.posterior, self.prior, self.likelihood)
                if hasattr(block, "on_epoch")]

    # What the rest of the zoo asks of a VAE (zoo.models.base).

    def signatures(self, samples=5000):
        """reconstruct (also serving_default), encode, decode, sample, elbo and log_likelihood
        (K = `samples`; neither without a likelihood), each taking `y` too when conditional; and each sampler's own
        (`sample_aggregate_posterior`, `sample_two_stage`, `sample_flow`)."""
        made = {"serving_default": (signatures.reconstruct, ("x",)), "reconstruct": (signatures.reconstruct, ("x",)),
                "encode": (signatures.encode, ("x",)), "decode": (signatures.decode, ("z",)),
                "sample": (signatures.sample, ("seed",))}
        if self.has_likelihood:  # no bound on log p(x) without one
            made.update(elbo=(signatures.elbo, ("x",)),
                        log_likelihood=(functools.partial(signatures.log_likelihood, num_samples=samples), ("x",)))
        needs_y = self.signatures_taking_labels(made)
        declared = {name: Signature(functools.partial(function, self), inputs + (("y",) if name in needs_y else ()))
                    for name, (function, inputs) in made.items()}
        for sampler in self.samplers:
            declared[sampler.signature] = Signature(
                functools.partial(signatures.sample_from, self, sampler=sampler.kind), ("seed",))
        return declared

    def signatures_taking_labels(self, made):
        """Which signatures take `y`: all of a conditional model's."""
        return set(made) if self.condition is not None else set()

    def serving_spec(self, name):
        if name == "z":
            return tf.TensorSpec([None, *self.code_shape], tf.float32, name="z")
        if name == "y":
            return self.condition.spec()
        return super().serving_spec(name)

    @property
    def picture_names(self):
        """Reconstructions, samples and interpolations; latent traversals for a vector of
        continuous latents; the latent plane and scatter plot for 2 latents; a row of samples
        per sampler when it has fitted samplers; a conditional model's samples one row per class."""
        if self.condition is not None:
            return ("reconstructions", "interpolations") + (("class_samples",) if self.classes else ())
        names = ("reconstructions", "samples", "interpolations")
        if self.posterior.continuous and len(self.code_shape) == 1:
            names += ("latent_traversals",)
        if self.code_shape == (2,):
            names += ("latent_grid", "latent_scatter")
        if len(self.sampler_names) > 1:
            names += ("sampler_samples",)
        return names

    def codes(self, x, y=None):
        """q(z|x)'s deterministic code (`posterior.code`: the mean, a flow's f(mean), the
        ladder's layer means, one-hot modes for categorical latents)."""
        return self.posterior.code(self.encode(x, y))

    def embed(self, x, y=None, batch_size=1000):
        """The code of q(z|x) of each image as a vector, numpy [N, d]: the mean for a Gaussian
        q, the flow applied to it for IAF, every layer's mean for the ladder (bottom first),
        the one-hot modes of categorical latents; at the labels `y` if conditional."""
        return super().embed(x, y, batch_size)

    def decode_mean(self, z, y=None):
        return self.decode(z, y).mean()

    @property
    def sampler_names(self):
        """What `sample(n, sampler=...)` draws z from: "prior", then each sampler's kind."""
        return (PRIOR, *(sampler.kind for sampler in self.samplers))

    def sampler(self, name):
        """The sampler of kind `name`; a one-line error naming the ones the model has otherwise."""
        found = {sampler.kind: sampler for sampler in self.samplers}
        if name not in found:
            raise ZooError(f"this {self.KIND} has no sampler {name!r}: it has {', '.join(self.sampler_names)} "
                           "(add one with samplers=[...] or `zoo fit-samplers`)")
        return found[name]

    def with_samplers(self, samplers):
        """A copy of this model, its weights and its other fitted samplers, that holds `samplers`
        (unfitted `Sampler`s, each replacing one of its kind): what `zoo fit-samplers` fits.
        Refused in one line when the model's codes cannot take a sampler (`zoo.config.rules`)."""
        kinds = {sampler.kind for sampler in samplers}
        kept = [sampler for sampler in self.samplers if sampler.kind not in kinds]
        config = self.get_config()
        config.pop("aggregate_posterior", None)
        config["samplers"] = [keras.saving.serialize_keras_object(sampler) for sampler in [*kept, *samplers]]
        model = type(self).from_config(config)
        for mine, theirs in [(self._unsampled_variables(), model._unsampled_variables()),
                             *((old.variables, new.variables) for old, new in zip(kept, model.samplers))]:
            for value, variable in zip(mine, theirs):
                variable.assign(value)
        return model

    def _unsampled_variables(self):
        """The model's variables but its samplers', in order (the same config gives the same order)."""
        sampled = {id(v) for sampler in self.samplers for v in sampler.variables}
        return [v for v in self.variables if id(v) not in sampled]

    def fit_samplers(self, images, seed=0, verbose=True):
        """Fit each sampler to the codes of `images` (float32 [N, H, W, C], the training set):
        q(z|x)'s code (`posterior.code`, e.g. the mean) of each. Returns {kind: what its fit took}."""
        if not self.samplers:
            return {}
        codes = self.embed(np.asarray(images))
        taken = {}
        for sampler in self.samplers:
            if verbose:
                print(f"Fitting the {sampler.kind} sampler to {len(codes)} codes of {codes.shape[1]} latents",
                      flush=True)
            start, cpu = time.perf_counter(), time.process_time()
            taken[sampler.kind] = {**sampler.fit(codes, seed=seed, verbose=verbose),
                                   "seconds": round(time.perf_counter() - start, 1),
                                   "cpu_seconds": round(time.process_time() - cpu, 1)}
        return taken

    def fit_after_training(self, images, batch_size, learning_rate, seed, backup_dir=None, verbose=True):
        """Fit the samplers, when the model has any, to the encoded `images`."""
        taken = self.fit_samplers(images, seed=seed, verbose=verbose)
        stages = {"samplers": taken} if taken else {}
        if self.posterior.fits_after_training:  # the RHVAE's metric: the centroids of training codes
            stages["posterior_fit"] = self.posterior.fit_after_training(self.posterior_params, np.asarray(images), seed)
        return stages

    @property
    def metrics(self):
        return self.trackers

    @tf.autograph.experimental.do_not_convert  # plain TF already: AutoGraph would only cost tracing time
    def train_step(self, data):
        x, y = self._inputs(data)
        return self.update(x, y=y)

    def _inputs(self, data):
        """(images, conditions) of a batch from `fit`/`evaluate`: labels are the conditions of a
        conditional model and ignored by an unconditional one."""
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        if self.condition is None:
            return x, None
        if y is None:
            raise DataError(f"this VAE is conditional ({type(self.condition).__name__}): fit and evaluate "
                            "take (images, labels)")
        return x, y

    def update(self, x, seed=None, alg="auto_select", y=None):
        """One optimizer step on the batch `x` (z drawn with the stateless `seed` and RNG
        algorithm `alg` if given).

        The loss is divided by the number of replicas: the optimizer sums the replicas'
        gradients, so the step follows the mean over the global batch.
        """
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        split = self.objective.split_gradients
        with tf.GradientTape(persistent=split) as tape:
            terms = self.terms(x, training=True, seed=seed, alg=alg, y=y)
            losses = [tf.reduce_mean(terms[name]) for name in ("loss", "encoder_loss")[:1 + split]]
            if self.losses:
                losses = [loss + tf.add_n(self.losses) for loss in losses]
            losses = [loss / replicas for loss in losses]
        if split:
            self.optimizer.apply_gradients(split_gradients(tape, *losses, self.trainable_variables,
                                                           self.encoder.trainable_variables
                                                           + self.posterior.trainable_variables))
        else:
            self.optimizer.minimize(losses[0], self.trainable_variables, tape=tape)
        return self._record(terms)

    @tf.autograph.experimental.do_not_convert  # plain TF already: AutoGraph would only cost tracing time
    def test_step(self, data):
        x, y = self._inputs(data)
        return self._record(self.terms(x, training=False, seed=seeds.ELBO_SEED, y=y))

    @tf.autograph.experimental.do_not_convert  # plain TF already: AutoGraph would only cost tracing time
    def predict_step(self, data):
        return self.reconstruction(*self._inputs(data))

    def _record(self, terms):
        for tracker in self.trackers:
            tracker.update_state(terms[tracker.name])
        return {tracker.name: tracker.result() for tracker in self.trackers}

    # Saving.

    def get_config(self):
        config = {"name": self.name, "image_shape": self.image_shape}
        for role in ("encoder", "posterior", "decoder", "likelihood", "prior", "objective"):
            config[role] = keras.saving.serialize_keras_object(getattr(self, role))
        if self.condition is not None:
            config["condition"] = keras.saving.serialize_keras_object(self.condition)
        if self.samplers:
            config["samplers"] = [keras.saving.serialize_keras_object(sampler) for sampler in self.samplers]
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for role in ("encoder", "posterior", "decoder", "likelihood", "prior", "objective", "aggregate_posterior",
                     "condition"):
            if config.get(role) is not None:
                config[role] = keras.saving.deserialize_keras_object(config[role], custom_objects=custom_objects)
        config["samplers"] = [keras.saving.deserialize_keras_object(sampler, custom_objects=custom_objects)
                              for sampler in config.get("samplers", ())]
        if config.get("image_shape") is not None:
            config["image_shape"] = tuple(config["image_shape"])
        return cls(**config)


def squared_error(x_mean, x):
    """The mean squared error per pixel of each image [B]."""
    return tf.reduce_mean(tf.reshape(tf.square(x_mean - x), [tf.shape(x)[0], -1]), axis=-1)


def checked_samplers(samplers, aggregate_posterior=None):
    """The samplers as a list (the earlier `aggregate_posterior` among them): `Sampler`s, one of each kind."""
    samplers = [*samplers, *([] if aggregate_posterior is None else [aggregate_posterior])]
    for sampler in samplers:
        if not isinstance(sampler, Sampler):
            raise ZooError(f"VAE samplers: expected zoo.layers.samplers.Sampler objects (e.g. GaussianMixture(10)), "
                           f"got {type(sampler).__name__}")
    kinds = [sampler.kind for sampler in samplers]
    if len(set(kinds)) != len(kinds):
        raise ZooError(f"VAE samplers: one of each kind, got {', '.join(kinds)}")
    return samplers


def split_gradients(tape, loss, encoder_loss, variables, inference_variables):
    """[(gradient, variable)]: the inference networks' (`inference_variables`) gradients from
    `encoder_loss`, every other variable's from `loss` (PIWAE's two bounds, one step)."""
    inference = {id(variable) for variable in inference_variables}
    parts = ([v for v in variables if id(v) in inference], [v for v in variables if id(v) not in inference])
    return [*zip(tape.gradient(encoder_loss, parts[0]), parts[0]), *zip(tape.gradient(loss, parts[1]), parts[1])]


def _joined(value, condition):
    """A network's input: `value` alone, or [value, condition vector] for a conditional model."""
    return value if condition is None else [value, condition]
