"""Posterior layers q(z|x): encoder parameters in, a TFP distribution over one code z out.

Each posterior has two forms. Called as a layer (training), it gives the distribution whose
samples gradients flow through: for Gaussians q itself, for categorical latents the relaxed
one-hot (Gumbel-softmax) distribution. `inference(params)` gives the distribution used to
score and to encode: the same Gaussian, or the discrete categorical whose samples are hard
one-hot codes. KL terms and importance weights are computed on `inference`.
"""

import math

import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras as keras

from zoo.checks import check_count, check_number
from zoo.layers.distribution_layer import DistributionLayer
from zoo.registry import Registry

tfd = tfp.distributions
tfb = tfp.bijectors
POSTERIORS = Registry("posterior")
serializable = keras.saving.register_keras_serializable(package="zoo")

MIN_STDDEV = 1e-5


class Posterior(DistributionLayer):
    """Base: a layer of `latent_dim` latent variables, sampled when made a tensor.

    `params_size` is how many values per example the encoder must output; `code_shape` the
    shape of one code z (what the decoder takes and `decode` serves).
    """

    continuous = True
    # log q(z|x) at any z in one pass (a flow's takes one pass per latent at codes it did not
    # draw itself): a VampPrior, a mixture of q at pseudo-inputs, needs it.
    one_pass_density = True
    # q(z|x) is a Normal (diagonal or full covariance): its mean and covariance are exact
    # (DIP-VAE penalizes them).
    gaussian = False
    # q(z|x) = prod_j N(z_j; loc_j, scale_j): each latent's own density is known, which the
    # minibatch estimate of the marginals q(z_j) needs (beta-TCVAE).
    factorized = False
    # Its codes may be any points of R^d (not of a sphere, a hyperbolic ball or z > 0): the
    # post-hoc samplers, densities over all of R^d, can be fitted to them.
    euclidean = True
    # What the refusal of another prior adds after "allowed: '<prior_type>' for the posterior ..."
    # (for posteriors that name their own `prior_type`): why that prior.
    prior_note = ""
    # Its draws move along the model's log p(x, z) (the HVAE's leapfrog steps): the model binds
    # that target with `given(target)` before it draws.
    needs_target = False
    # q(z|x) puts all its mass on one code (a deterministic encoder): it has no density and no
    # KL, so only objectives that use the draws alone take it (`Objective.needs_density`), and
    # the model has no likelihood (`VAE.has_likelihood`).
    point_mass = False
    # It keeps something of the training set after training (the RHVAE's metric): the VAE's
    # `fit_after_training` calls its `fit_after_training(encode, images, seed)`.
    fits_after_training = False
    # The names of the independent parts its code joins, whose KLs an objective may weigh
    # apart (JointVAE's "continuous" and "discrete": `zoo.layers.joint`); () for one part.
    part_names = ()

    def __init__(self, latent_dim, **kwargs):
        super().__init__(**kwargs)
        check_count("latent_dim", latent_dim)
        self.latent_dim = latent_dim

    @property
    def params_size(self):
        raise NotImplementedError

    @property
    def code_shape(self):
        return (self.latent_dim,)

    @property
    def layer_names(self):
        """The names of its stochastic layers when it has several (a `Ladder`); else ()."""
        return ()

    def inference(self, params):
        return self.distribution(params)

    def given(self, target):
        """The posterior whose `draws` and `inference` follow `target`, z -> log p(x, z) of the
        model's batch (needed when `needs_target`); itself for the others."""
        del target
        return self

    def sample(self, params, samples, seed=None, training=False, alg="auto_select"):
        """`samples` draws of z, [samples, batch, *code_shape]: while training from the layer's
        own distribution (gradients flow through its draws), otherwise from `inference`.
        `seed` (a shape-[2] integer tensor) makes them stateless; `alg` is the stateless RNG
        algorithm where a subclass can choose it (TFP's samplers always use the default)."""
        del alg
        dist = self(params) if training else self.inference(params)
        return dist.sample(samples, seed=seed)

    def draws(self, params, samples, seed=None, training=False, alg="auto_select"):
        """(q in inference form, `samples` draws z from it): what the objectives score. A flow
        draws z from q itself, so that log q(z) reuses the pass that made z."""
        return self.inference(params), self.sample(params, samples, seed, training, alg)

    def code(self, q):
        """The deterministic code of an input: the posterior mean."""
        return q.mean()

    def location(self, q):
        """A point per example that moves with x (active units count the latents whose point
        varies over the data): the mean of q."""
        return q.mean()

    def summary(self, q):
        """The tensors an export serves to describe q(z|x)."""
        return {"z_mean": q.mean(), "z_stddev": q.stddev()}

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim}


@serializable
@POSTERIORS.register("diagonal_normal")
class DiagonalNormal(Posterior):
    """q(z|x) = N(loc, diag(scale^2)) with scale = softplus(raw) + 1e-5.

    Example:
        q = DiagonalNormal(20)(encoder(x)); z = tf.convert_to_tensor(q)
    """

    gaussian = factorized = True

    @property
    def params_size(self):
        return 2 * self.latent_dim

    def distribution(self, params):
        return diagonal_normal(params)

    def sample(self, params, samples, seed=None, training=False, alg="auto_select"):
        """z = loc + scale * eps, the draws TFP's `sample` makes for the same seed when
        alg="auto_select"; inside XLA on CPU alg="threefry" draws eps ~6x faster (0.04 vs
        0.25 ms for a 128 x 20 batch), which is 10% of an MNIST MLP training step."""
        if seed is None:
            return super().sample(params, samples, seed, training)
        return stateless_normal_draw(self.distribution(params).distribution, samples, seed, alg)


def diagonal_normal(params):
    """N(loc, diag(scale^2)) from [..., 2 d] encoder outputs: loc, then raw scales (softplus + 1e-5)."""
    loc, raw_scale = tf.split(params, 2, axis=-1)
    return tfd.Independent(tfd.Normal(loc, tf.nn.softplus(raw_scale) + MIN_STDDEV), reinterpreted_batch_ndims=1)


def annealed_temperature(initial, minimum, decay, epochs_trained):
    """A Gumbel-softmax temperature after `epochs_trained` epochs, max(minimum, initial *
    exp(-decay * epochs)): smooth gradients early, nearly discrete samples later (Jang et al. 2017)."""
    return max(minimum, initial * math.exp(-decay * epochs_trained))


def stateless_normal_draw(normal, samples, seed, alg="auto_select"):
    """loc + scale * eps for a `tfd.Normal`, eps ~ N(0, 1) drawn from the stateless `seed` by
    `alg`: [samples, *batch] (`samples` None: [*batch]); with alg="auto_select" the numbers
    `normal.sample(samples, seed=seed)` gives."""
    shape = normal.batch_shape_tensor()
    shape = shape if samples is None else tf.concat([[samples], shape], 0)
    return normal.loc + normal.scale * tf.random.stateless_normal(shape, seed, alg=alg)


@serializable
@POSTERIORS.register("full_normal")
class FullCovarianceNormal(Posterior):
    """q(z|x) = N(loc, L L^T) with a full lower-triangular L (softplus diagonal + 1e-5), so
    the posterior can express correlations between latents.

    Example:
        q = FullCovarianceNormal(4)(params)  # params: [B, 4 + 4 * 5 / 2]
    """

    gaussian = True

    @property
    def params_size(self):
        d = self.latent_dim
        return d + d * (d + 1) // 2

    def distribution(self, params):
        loc, raw_tril = tf.split(params, [self.latent_dim, -1], axis=-1)
        scale_tril = tfb.FillScaleTriL(diag_shift=MIN_STDDEV)(raw_tril)
        return tfd.MultivariateNormalTriL(loc, scale_tril)

    def summary(self, q):
        return {**super().summary(q), "z_scale_tril": q.scale.to_dense()}


class RelaxedCategoricalLatents(Posterior):
    """Base of the posteriors with a K-way categorical part relaxed in training (Gumbel-softmax
    at `temperature`, a non-trainable weight its `on_epoch` schedule lowers as
    `annealed_temperature`): `RelaxedCategorical` and JointVAE's `JointPosterior`."""

    def __init__(self, latent_dim, categories, temperature, min_temperature, temperature_decay, **kwargs):
        super().__init__(latent_dim, **kwargs)
        check_count("categories", categories, minimum=2)
        check_number("temperature", temperature, positive=True)
        check_number("min_temperature", min_temperature, positive=True)
        check_number("temperature_decay", temperature_decay)
        self.categories = categories
        self.initial_temperature, self.min_temperature = temperature, min_temperature
        self.temperature_decay = temperature_decay
        self.temperature = self.add_weight(  # made here: scoring may come before any training call
            name="temperature", shape=(), trainable=False,
            initializer=tf.constant_initializer(temperature))

    def scheduled(self, epochs_trained):
        """The temperature after `epochs_trained` epochs (`annealed_temperature`)."""
        return annealed_temperature(self.initial_temperature, self.min_temperature, self.temperature_decay,
                                    epochs_trained)

    def on_epoch(self, epochs_trained):
        """Set this epoch's temperature; returns it for the training log."""
        value = self.scheduled(epochs_trained)
        self.temperature.assign(value)
        return {"temperature": value}

    def get_config(self):
        return {**super().get_config(), "categories": self.categories,
                "temperature": self.initial_temperature, "min_temperature": self.min_temperature,
                "temperature_decay": self.temperature_decay}


@serializable
@POSTERIORS.register("categorical")
class RelaxedCategorical(RelaxedCategoricalLatents):
    """`latent_dim` independent K-way categorical latents, each coded one-hot: z is [N, K].

    Training samples are relaxed one-hot vectors (Gumbel-softmax / Concrete, Jang et al.
    2017; Maddison et al. 2017) at the current `temperature`, a non-trainable weight that
    its `on_epoch` schedule lowers; inference uses the discrete categorical,
    so codes are hard one-hot vectors and KL terms are those of the discrete distributions.

    Example:
        q = RelaxedCategorical(30, 10)(encoder(x))  # relaxed samples [B, 30, 10]
    """

    continuous = False

    def __init__(self, latent_dim, categories=10, temperature=1.0, min_temperature=0.5,
                 temperature_decay=0.03, **kwargs):
        super().__init__(latent_dim, categories, temperature, min_temperature, temperature_decay, **kwargs)

    @property
    def params_size(self):
        return self.latent_dim * self.categories

    @property
    def code_shape(self):
        return (self.latent_dim, self.categories)

    def logits(self, params):
        return tf.reshape(params, [-1, self.latent_dim, self.categories])

    def distribution(self, params):
        return tfd.Independent(tfd.RelaxedOneHotCategorical(self.temperature, logits=self.logits(params)),
                               reinterpreted_batch_ndims=1)

    def inference(self, params):
        return tfd.Independent(tfd.OneHotCategorical(logits=self.logits(params), dtype=tf.float32),
                               reinterpreted_batch_ndims=1)

    def code(self, q):
        """The most probable value of each latent, one-hot."""
        return q.mode()

    def summary(self, q):
        return {"z_probs": q.distribution.probs_parameter()}




@serializable
@POSTERIORS.register("point_mass")
class PointMass(Posterior):
    """A deterministic encoder: z is the encoder's output, q(z|x) a point mass on it (TFP's
    `Deterministic`), with no density and no KL. The autoencoders (plain, RAE) and a WAE with a
    deterministic encoder take it; an objective that needs log q(z|x) or a KL is refused
    (`zoo.config.rules`), and the model has no likelihood (`VAE.has_likelihood`): it is scored
    by reconstruction error and generates through its prior or a fitted sampler.

    Example:
        VAE(encoder, PointMass(20), decoder, Bernoulli(), objective=RAE(kind="l2"))
    """

    point_mass = True
    one_pass_density = False  # no density at all: a VampPrior's q(z|u) cannot be scored

    @property
    def params_size(self):
        return self.latent_dim

    def distribution(self, params):
        return tfd.Independent(tfd.Deterministic(params), reinterpreted_batch_ndims=1)

    def summary(self, q):
        """The code itself (no spread to describe)."""
        return {"z_mean": q.mean()}
