"""The training objectives, written once over distributions and shared by `fit`, `evaluate`,
the exports and the benchmark.

An objective gets q(z|x), the draws z [S, B, ...] from it, log p(x|z) [S, B] at those draws
and the prior layer p(z), and returns per-example tensors: `loss` (what is minimised),
`reconstruction` = -log p(x|z) and `kl` = KL(q(z|x) || p(z)), each counted once, and any
terms it names in `metric_names`. Variants change coefficients (beta, its warm-up, free
bits, the weights of the KL's parts), the estimator (ELBO or importance weighted) or add a
penalty (DIP-VAE), never copy the loss. The KL weight is a variable of the objective, so a
saved and restored model continues its warm-up at the weight it reached.
"""

import math

import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras as keras

from zoo.checks import check_count, check_number
from zoo.errors import ConfigError
from zoo.layers.priors import unwrap
from zoo.registry import Registry

tfd = tfp.distributions
OBJECTIVES = Registry("objective")
serializable = keras.saving.register_keras_serializable(package="zoo")


class Objective(keras.layers.Layer):
    """Base: the KL weight (beta, ramped linearly from 0 over `warmup_epochs` epochs; Bowman
    et al. 2016, Sønderby et al. 2016) and the number of draws of z per example.

    Args:
        beta: weight of the KL term (1.0 gives the ELBO).
        warmup_epochs: ramp the KL weight from 0 to beta over this many epochs, so the decoder
            learns to use z before the KL term pulls q(z|x) onto the prior.
        samples: draws of z per example.
    """

    loss_is = "the objective's loss per example"

    # Per-example terms reported beside loss, reconstruction and kl (the model tracks them
    # in `fit` and `evaluate`).
    metric_names = ()
    # True when the terms hold an "encoder_loss" beside "loss": `VAE.update` then takes the
    # encoder's and posterior's gradients from it and the other variables' from "loss" (PIWAE).
    split_gradients = False
    # The loss uses log q(z|x) or a KL (q must have a density); False for objectives that use
    # only the draws z (autoencoders, WAE): a point-mass posterior takes only those (zoo.config.rules).
    # Such objectives may leave "kl" and "kl_per_layer" out of `terms`; the model adds the KL
    # of a posterior that has one, as a figure.
    needs_density = True
    # What the loss needs of the decoder, computed by the model and passed to `terms` as
    # `decoder_penalty` (`VAE.decoder_penalty`): None, "weights" or "gradient" (RAE).
    decoder_penalty = None
    # True when `terms` takes `prior_z`, draws of p(z) shaped as z (MMD penalties): the model
    # draws them with the batch's stateless seed and passes them.
    prior_draws = False
    # True when `terms` takes `seed` for draws of its own (SWAE's projections): the model passes
    # its own stream of the batch's stateless seed, or None where the step has none (stateful draws).
    own_draws = False

    def __init__(self, beta=1.0, warmup_epochs=0, samples=1, **kwargs):
        super().__init__(**kwargs)
        check_number("beta", beta)
        check_count("warmup_epochs", warmup_epochs, minimum=0)
        check_count("samples", samples)
        self.beta, self.warmup_epochs, self.samples = float(beta), warmup_epochs, samples
        self.kl_weight = self.add_weight(name="kl_weight", shape=(), trainable=False,
                                         initializer=tf.constant_initializer(0.0 if warmup_epochs else beta))

    def check(self, posterior):
        """Refuse a posterior this estimator cannot use, with one line."""

    def check_ready(self):
        """Refuse, with one line, an objective a model cannot train with yet (a setting still
        missing). A config may leave such a setting out for `zoo train` to fill from the data."""

    def scheduled(self, epochs_trained):
        """The KL weight after `epochs_trained` epochs."""
        if not self.warmup_epochs:
            return self.beta
        return self.beta * min(1.0, epochs_trained / self.warmup_epochs)

    def on_epoch(self, epochs_trained):
        """Set this epoch's KL weight; returns it for the training log."""
        if not self.warmup_epochs:
            return {}
        value = self.scheduled(epochs_trained)
        self.kl_weight.assign(value)
        return {"kl_weight": value}

    def terms(self, q, z, log_likelihood, prior):
        """{"loss", "reconstruction", "kl"} per example [B], and "kl_per_layer" [B, L]: the KL of
        each stochastic layer, computed once with the total (their sum)."""
        raise NotImplementedError

    def get_config(self):
        return {**super().get_config(), "beta": self.beta, "warmup_epochs": self.warmup_epochs,
                "samples": self.samples}


@serializable
@OBJECTIVES.register("elbo")
class ELBO(Objective):
    """loss = -log p(x|z) + beta * KL (the negative ELBO when beta = 1), averaged over draws.

    Args:
        free_bits: nats of KL per latent variable that cost nothing (Kingma et al. 2016):
            per variable when q and p factorize, else on the total.
        beta, warmup_epochs, samples: as in `Objective`.

    Example:
        VAE(..., objective=ELBO(beta=4.0, warmup_epochs=10))
    """

    loss_is = "-log p(x|z) + beta * KL(q(z|x) || p(z)) per image: the negative ELBO when beta = 1"

    def __init__(self, beta=1.0, free_bits=0.0, warmup_epochs=0, samples=1, **kwargs):
        super().__init__(beta=beta, warmup_epochs=warmup_epochs, samples=samples, **kwargs)
        check_number("free_bits", free_bits)
        self.free_bits = float(free_bits)

    def terms(self, q, z, log_likelihood, prior):
        reconstruction = -tf.reduce_mean(log_likelihood, axis=0)
        kl_per_layer = prior.kl_per_layer(q, z)
        kl = tf.reduce_sum(kl_per_layer, axis=-1)
        return {"loss": reconstruction + self.kl_weight * self.kl_penalty(q, kl, prior),
                "reconstruction": reconstruction, "kl": kl, "kl_per_layer": kl_per_layer}

    def kl_penalty(self, q, kl, prior):
        """The KL as the loss charges it: with free bits, each latent's first `free_bits` nats free."""
        if not self.free_bits:
            return kl
        per_variable = prior.kl_per_variable(q)
        if per_variable is None:
            return tf.maximum(kl, self.free_bits * prior.latent_dim)
        return tf.reduce_sum(tf.maximum(per_variable, self.free_bits), axis=-1)

    def get_config(self):
        return {**super().get_config(), "free_bits": self.free_bits}


@serializable
@OBJECTIVES.register("capacity")
class Capacity(ELBO):
    """The capacity-annealed beta-VAE (Burgess et al. 2018, "Understanding disentangling in
    beta-VAE"; disentanglement_lib's `annealed_vae`): the KL of each example pushed towards a
    capacity C that grows linearly during training, so the code takes in information a little
    at a time:

        loss = -log p(x|z) + gamma * |KL(q(z|x) || p(z)) - C|,
        C = c_min + (c_max - c_min) * min(1, epochs trained / capacity_epochs)

    C is a non-trainable weight set at each epoch's start, so a restored model continues the
    schedule. disentanglement_lib counts `iteration_threshold` optimizer steps to reach c_max
    and applies |KL - C| to the batch's mean KL; the zoo counts epochs (`capacity_epochs`)
    and, as the paper's equation, charges each example's own KL. `kl` and `reconstruction`
    report the true terms, so reconstruction + kl is the -ELBO.

    Args:
        gamma: weight of |KL - C| (1000, as disentanglement_lib's study and the paper on dSprites).
        c_max: the capacity reached, in nats (disentanglement_lib's study sweeps 5..100; 25 is
            the paper's dSprites value).
        capacity_epochs: epochs over which C rises from c_min to c_max.
        c_min: the capacity at the start (0, as the paper).
        samples: draws of z per example.

    Example:
        VAE(..., objective=Capacity(gamma=1000.0, c_max=25.0, capacity_epochs=20))
    """

    loss_is = "-log p(x|z) + gamma * |KL(q(z|x) || p(z)) - C| per image, C rising over the epochs: not a bound"

    def __init__(self, gamma=1000.0, c_max=25.0, capacity_epochs=20, c_min=0.0, samples=1, **kwargs):
        for name in ("beta", "free_bits", "warmup_epochs"):  # the ELBO's, which this objective replaces
            if name in kwargs:
                raise ConfigError(name, kwargs[name], "no value: the capacity objective weighs |KL - C| by gamma "
                                  "and schedules C by capacity_epochs")
        super().__init__(beta=gamma, samples=samples, **kwargs)
        check_number("c_max", c_max)
        check_number("c_min", c_min)
        check_count("capacity_epochs", capacity_epochs, minimum=0)
        if not 0.0 <= c_min <= c_max:
            raise ConfigError("c_min", c_min, f"a capacity between 0 and c_max = {c_max} nats")
        self.gamma, self.c_max, self.c_min, self.capacity_epochs = float(gamma), float(c_max), float(c_min), capacity_epochs
        self.capacity = self.add_weight(name="capacity", shape=(), trainable=False,
                                        initializer=tf.constant_initializer(self.capacity_after(0)))

    def capacity_after(self, epochs_trained):
        """C after `epochs_trained` epochs."""
        if not self.capacity_epochs:
            return self.c_max
        return self.c_min + (self.c_max - self.c_min) * min(1.0, epochs_trained / self.capacity_epochs)

    def on_epoch(self, epochs_trained):
        value = self.capacity_after(epochs_trained)
        self.capacity.assign(value)
        return {"capacity": value}

    def kl_penalty(self, q, kl, prior):
        """|KL - C|, which the base weighs by gamma."""
        return tf.abs(kl - self.capacity)

    def get_config(self):
        config = super().get_config()
        for name in ("beta", "free_bits", "warmup_epochs"):
            config.pop(name)
        return {**config, "gamma": self.gamma, "c_max": self.c_max, "c_min": self.c_min,
                "capacity_epochs": self.capacity_epochs}


@serializable
@OBJECTIVES.register("joint_capacity")
class JointCapacity(Capacity):
    """JointVAE's objective (Dupont 2018): the capacity objective with the KL of each part of
    a joint posterior (`JointPosterior`: Gaussian, then categorical) pushed towards its own
    capacity, both rising linearly over `capacity_epochs`:

        loss = -log p(x|z, c) + gamma * |KL(q(z|x) || p(z)) - C_z| + discrete_gamma * |KL(q(c|x) || p(c)) - C_c|,
        C_c never above log K, the most a K-way variable can hold

    `kl` reports the total (so reconstruction + kl is the -ELBO), `kl_continuous` and
    `kl_discrete` the parts.

    Args:
        gamma, c_max: the continuous part's weight and capacity (Dupont's MNIST: 30, 5 nats).
        discrete_gamma, discrete_c_max: the categorical part's (Dupont's MNIST: 30, 5 nats,
            capped at log K).
        capacity_epochs: epochs over which both capacities rise from 0 (Dupont's MNIST: 25,000
            steps of 64 images, 27 epochs).
        samples: draws of (z, c) per example.

    Example:
        VAE(..., posterior=JointPosterior(10, categories=10), prior=JointPrior(), objective=JointCapacity())
    """

    loss_is = ("-log p(x|z, c) + gamma * |KL_z - C_z| + discrete_gamma * |KL_c - C_c| per image, each capacity "
               "rising over the epochs (JointVAE): not a bound")
    metric_names = ("kl_continuous", "kl_discrete")

    def __init__(self, gamma=30.0, c_max=5.0, capacity_epochs=27, discrete_gamma=30.0, discrete_c_max=5.0, samples=1,
                 **kwargs):
        if "c_min" in kwargs:
            raise ConfigError("c_min", kwargs["c_min"], "no value: JointVAE's capacities start at 0")
        super().__init__(gamma=gamma, c_max=c_max, capacity_epochs=capacity_epochs, samples=samples, **kwargs)
        check_number("discrete_gamma", discrete_gamma)
        check_number("discrete_c_max", discrete_c_max)
        self.discrete_gamma, self.discrete_c_max = float(discrete_gamma), float(discrete_c_max)
        self.discrete_capacity = self.add_weight(name="discrete_capacity", shape=(), trainable=False,
                                                 initializer=tf.constant_initializer(self.discrete_capacity_after(0)))

    def discrete_capacity_after(self, epochs_trained):
        """C_c after `epochs_trained` epochs (before its cap at log K)."""
        if not self.capacity_epochs:
            return self.discrete_c_max
        return self.discrete_c_max * min(1.0, epochs_trained / self.capacity_epochs)

    def on_epoch(self, epochs_trained):
        value = self.discrete_capacity_after(epochs_trained)
        self.discrete_capacity.assign(value)
        return {**super().on_epoch(epochs_trained), "discrete_capacity": value}

    def check(self, posterior):
        if tuple(posterior.part_names) != ("continuous", "discrete"):
            raise ConfigError("objective", OBJECTIVES.name_of(self), f"a posterior with a continuous and a discrete "
                              f"part ('joint'), not {type(posterior).__name__}")

    def terms(self, q, z, log_likelihood, prior):
        reconstruction = -tf.reduce_mean(log_likelihood, axis=0)
        kl_continuous, kl_discrete = tf.unstack(prior.kl_per_part(q, z), axis=-1)
        categories = unwrap(q).distributions[1].event_shape[-1]
        discrete_capacity = tf.minimum(self.discrete_capacity, math.log(categories))
        penalty = (self.gamma * tf.abs(kl_continuous - self.capacity)
                   + self.discrete_gamma * tf.abs(kl_discrete - discrete_capacity))
        kl = kl_continuous + kl_discrete
        return {"loss": reconstruction + penalty, "reconstruction": reconstruction, "kl": kl, "kl_per_layer": kl[:, None],
                "kl_continuous": kl_continuous, "kl_discrete": kl_discrete}

    def get_config(self):
        config = super().get_config()
        config.pop("c_min")
        return {**config, "discrete_gamma": self.discrete_gamma, "discrete_c_max": self.discrete_c_max}


def negative_bound(log_weights, groups=1):
    """-(1/M) sum_m log (1/K) sum_k w_mk per example [B]: the S = M * K log weights [S, B]
    split into M = `groups` groups of K consecutive draws, each group one importance-weighted
    bound. groups=1 is the IWAE bound of all S draws; groups=S the ELBO's Monte Carlo
    estimate, the mean log weight."""
    draws = log_weights.shape[0]
    per_group = draws // groups
    grouped = tf.reshape(log_weights, [groups, per_group, -1])
    return math.log(per_group) - tf.reduce_mean(tf.reduce_logsumexp(grouped, axis=1), axis=0)


@serializable
@OBJECTIVES.register("iwae")
class IWAE(Objective):
    """loss = -log (1/S) sum_s p(x|z_s) p(z_s)^beta / q(z_s|x)^beta, the importance-weighted
    bound of Burda et al. (2016) with S = `samples`; tighter than the ELBO as S grows.
    `reconstruction` and `kl` report the averages over the S draws. Its variants (MIWAE,
    CIWAE, PIWAE) group or mix the same log weights differently (`losses`).

    Example:
        VAE(..., objective=IWAE(samples=5))
    """

    loss_is = "the negative importance-weighted bound (IWAE) of the draws per image"

    def __init__(self, samples=5, beta=1.0, warmup_epochs=0, **kwargs):
        super().__init__(beta=beta, warmup_epochs=warmup_epochs, samples=samples, **kwargs)

    def check(self, posterior):
        if not posterior.continuous:
            raise ConfigError("objective", OBJECTIVES.name_of(self), f"'elbo' for the discrete posterior "
                              f"{type(posterior).__name__} (importance weights need q's density at relaxed draws)")

    def terms(self, q, z, log_likelihood, prior):
        log_ratios = prior.log_ratio_per_layer(q, z)  # [S, B, L]
        kl = tf.reduce_sum(log_ratios, axis=-1)
        log_w = log_likelihood - self.kl_weight * kl
        return {**self.losses(log_w), "reconstruction": -tf.reduce_mean(log_likelihood, axis=0),
                "kl": tf.reduce_mean(kl, axis=0), "kl_per_layer": tf.reduce_mean(log_ratios, axis=0)}

    def losses(self, log_weights):
        """{"loss"} per example [B] from the log weights [S, B] of the S draws."""
        return {"loss": negative_bound(log_weights)}


class GroupedIWAE(IWAE):
    """Base of MIWAE and PIWAE: S = M * K draws in M groups of K, with `M` and `K` as arguments
    (`samples` follows from them)."""

    def __init__(self, M=8, K=8, beta=1.0, warmup_epochs=0, **kwargs):
        check_count("M", M)
        check_count("K", K)
        samples = kwargs.pop("samples", M * K)
        if samples != M * K:
            raise ConfigError("samples", samples, f"M * K = {M * K} (or leave samples out)")
        super().__init__(samples=M * K, beta=beta, warmup_epochs=warmup_epochs, **kwargs)
        self.M, self.K = M, K

    def get_config(self):
        config = super().get_config()
        config.pop("samples")
        return {**config, "M": self.M, "K": self.K}


@serializable
@OBJECTIVES.register("miwae")
class MIWAE(GroupedIWAE):
    """MIWAE (Rainforth et al. 2018, "Tighter variational bounds are not necessarily
    better"): M independent IWAE bounds of K draws each, averaged:

        loss = -(1/M) sum_m log (1/K) sum_k w_mk,   w = p(x|z) p(z)^beta / q(z|x)^beta

    over M * K draws. M = 1 is the IWAE of K draws, K = 1 the ELBO averaged over M draws;
    more groups give the encoder a gradient with a better signal-to-noise ratio, a larger K
    the tighter bound. `reconstruction` and `kl` report the averages over all the draws.

    Example:
        VAE(..., objective=MIWAE(M=8, K=8))
    """

    loss_is = "the mean over M groups of the negative IWAE bound of each group's K draws (MIWAE)"

    def losses(self, log_weights):
        return {"loss": negative_bound(log_weights, groups=self.M)}


@serializable
@OBJECTIVES.register("piwae")
class PIWAE(GroupedIWAE):
    """PIWAE (Rainforth et al. 2018): the decoder (and prior) trained on the IWAE bound of all
    M * K draws, the encoder (and posterior) on the MIWAE bound of the same draws in M groups
    of K, in one optimizer step:

        loss         = -log (1/(M K)) sum_mk w_mk            (the generative networks' gradients)
        encoder_loss = -(1/M) sum_m log (1/K) sum_k w_mk      (the inference networks' gradients)

    The model reports `loss` (the IWAE bound) and `encoder_loss` (the MIWAE bound); `VAE.update`
    takes the encoder's and the posterior's gradients from `encoder_loss` because this
    objective declares `split_gradients`.

    Example:
        VAE(..., objective=PIWAE(M=8, K=8))
    """

    loss_is = ("the negative IWAE bound of all M * K draws for the decoder and the prior; the negative MIWAE bound "
               "(encoder_loss) for the encoder and the posterior")

    split_gradients = True
    metric_names = ("encoder_loss",)

    def losses(self, log_weights):
        return {"loss": negative_bound(log_weights), "encoder_loss": negative_bound(log_weights, groups=self.M)}


@serializable
@OBJECTIVES.register("ciwae")
class CIWAE(IWAE):
    """CIWAE (Rainforth et al. 2018): a convex combination of the ELBO and the IWAE bound of the
    same S draws (the paper's beta, here `elbo_weight` so it is not taken for the KL weight):

        loss = -[elbo_weight * (1/S) sum_s log w_s + (1 - elbo_weight) * log (1/S) sum_s w_s]

    elbo_weight = 0 is the IWAE, 1 the ELBO averaged over S draws.

    Example:
        VAE(..., objective=CIWAE(samples=64, elbo_weight=0.5))
    """

    loss_is = "the negative of elbo_weight * ELBO + (1 - elbo_weight) * IWAE bound of the same draws"

    def __init__(self, samples=64, elbo_weight=0.5, beta=1.0, warmup_epochs=0, **kwargs):
        super().__init__(samples=samples, beta=beta, warmup_epochs=warmup_epochs, **kwargs)
        check_number("elbo_weight", elbo_weight)
        if not 0.0 <= elbo_weight <= 1.0:
            raise ConfigError("elbo_weight", elbo_weight, "a weight between 0 (the IWAE) and 1 (the ELBO)")
        self.elbo_weight = float(elbo_weight)

    def losses(self, log_weights):
        elbo, iwae = negative_bound(log_weights, groups=self.samples), negative_bound(log_weights)
        return {"loss": self.elbo_weight * elbo + (1.0 - self.elbo_weight) * iwae}

    def get_config(self):
        return {**super().get_config(), "elbo_weight": self.elbo_weight}


ESTIMATORS = ("mws", "mss")  # beta-TCVAE's estimates of q(z): minibatch-weighted or stratified sampling


@serializable
@OBJECTIVES.register("beta_tcvae")
class BetaTCVAE(Objective):
    """beta-TCVAE (Chen et al. 2018, "Isolating sources of disentanglement in VAEs"): the KL
    split into three parts, each with its own weight, at the draws z of each example:

        loss = -log p(x|z) + alpha * [log q(z|x) - log q(z)]            index-code mutual information
                           + beta  * [log q(z) - sum_j log q(z_j)]       total correlation
                           + gamma * [sum_j log q(z_j) - log p(z)]       dimension-wise KL

    q(z) is the aggregate posterior (q(z|x) averaged over the N training examples) and q(z_j)
    its marginals. Both are estimated on the minibatch of M examples, the same way per latent,
    so q(z|x) must factorize (`DiagonalNormal`). `estimator="mws"`, minibatch-weighted sampling
    (the paper's main text): log q(z_i) ~= logsumexp_j log q(z_i|x_j) - log(N M). It is biased
    upwards where the examples' posteriors barely overlap (log q(z_i) >= log q(z_i|x_i) -
    log(N M), so the MI estimate can reach log(N M) > log N). `estimator="mss"`, minibatch
    stratified sampling (the reference code's `--mss`): weights 1/N on the example's own q,
    (N - M + 1) / (N (M - 1)) on the next one in the batch and 1 / (M - 1) on the others,
    which sum to 1, so q(z) itself is estimated without bias (its log still is not). With alpha = beta = gamma = 1
    the estimates cancel and the loss is the negative ELBO with the KL taken at the draws,
    log q(z|x) - log p(z). `kl` reports the true KL(q(z|x) || p(z)) (analytic where known),
    so reconstruction + kl is the -ELBO whatever the weights; the three parts are reported as
    "mutual_information", "total_correlation" and "dimension_wise_kl". With a prior that does
    not factorize (mixture, VampPrior) the third part is sum_j log q(z_j) - log p(z), no
    longer a sum of per-latent KLs.

    Args:
        dataset_size: N, the number of training examples (the 1/N weight of each example in
            q(z)); `zoo train` sets it from the data when the config leaves it out.
        alpha, gamma: weights of the mutual information and the dimension-wise KL (1, as the
            paper, which penalizes only the total correlation more).
        beta: weight of the total correlation: 6 by default, a middle value of the 1..10 that
            disentanglement_lib's study sweeps; beta = 1 is the ELBO.
        warmup_epochs: ramp beta from 0, as the reference code's `--beta-anneal`.
        samples: draws of z per example.
        estimator: "mws" (the default, as the paper) or "mss" (needs batches of 2 or more).

    Example:
        VAE(encoder, DiagonalNormal(10), decoder, Bernoulli(),
            objective=BetaTCVAE(dataset_size=len(images), beta=6.0))
    """

    loss_is = ("-log p(x|z) + alpha * mutual information + beta * total correlation + gamma * dimension-wise KL (the"
               " negative ELBO when all three are 1)")

    metric_names = ("mutual_information", "total_correlation", "dimension_wise_kl")

    def __init__(self, dataset_size=None, alpha=1.0, beta=6.0, gamma=1.0, warmup_epochs=0, samples=1,
                 estimator="mws", **kwargs):
        super().__init__(beta=beta, warmup_epochs=warmup_epochs, samples=samples, **kwargs)
        if dataset_size is not None:
            check_count("dataset_size", dataset_size)
        check_number("alpha", alpha)
        check_number("gamma", gamma)
        if estimator not in ESTIMATORS:
            raise ConfigError("estimator", estimator, f"one of {', '.join(map(repr, ESTIMATORS))}")
        self.dataset_size, self.alpha, self.gamma = dataset_size, float(alpha), float(gamma)
        self.estimator = estimator

    def check(self, posterior):
        if not getattr(posterior, "factorized", False):
            why = ("its latents are several stochastic layers, which the estimate cannot split"
                   if posterior.layer_names else "the minibatch estimate of q(z_j) needs q(z|x) to be one Normal "
                   "per latent: diagonal_normal")
            raise ConfigError("objective", "beta_tcvae", f"'elbo' for the posterior {type(posterior).__name__} ({why})")

    def check_ready(self):
        if self.dataset_size is None:
            raise ConfigError("objective.dataset_size", None, "the number of training examples N (q(z) weighs each "
                              "1/N): BetaTCVAE(dataset_size=len(images)); `zoo train` sets it from the data")

    def terms(self, q, z, log_likelihood, prior):
        self.check_ready()
        normal = self.marginals(q)
        batch = z.shape[1]
        if batch is not None and batch > self.dataset_size:
            raise ConfigError("objective.dataset_size", self.dataset_size, f"the number of training examples, at least "
                              f"the batch of {batch}")
        if batch is not None and batch < 2 and self.estimator == "mss":
            raise ConfigError("objective.estimator", "mss", "'mws' for batches of one (stratified sampling needs two)")
        log_q = unwrap(q).log_prob(z)  # [S, B]
        log_p = log_q - tf.reduce_sum(prior.log_ratio_per_layer(q, z), axis=-1)
        per_latent = normal.log_prob(z[..., None, :])  # [S, B, B, D]: log q(z_i,d | x_j), i the draw, j the example
        log_weights = self.log_weights(tf.shape(z)[1])  # [B, B] or a scalar: of example j's q at draw i
        log_qz = tf.reduce_logsumexp(tf.reduce_sum(per_latent, axis=-1) + log_weights, axis=2)
        log_marginals = tf.reduce_sum(tf.reduce_logsumexp(per_latent + log_weights[..., None], axis=2), axis=-1)
        parts = {"mutual_information": tf.reduce_mean(log_q - log_qz, axis=0),
                 "total_correlation": tf.reduce_mean(log_qz - log_marginals, axis=0),
                 "dimension_wise_kl": tf.reduce_mean(log_marginals - log_p, axis=0)}
        reconstruction = -tf.reduce_mean(log_likelihood, axis=0)
        kl_per_layer = prior.kl_per_layer(q, z)
        loss = (reconstruction + self.alpha * parts["mutual_information"]
                + self.kl_weight * parts["total_correlation"] + self.gamma * parts["dimension_wise_kl"])
        return {"loss": loss, "reconstruction": reconstruction, "kl": tf.reduce_sum(kl_per_layer, axis=-1),
                "kl_per_layer": kl_per_layer, **parts}

    def log_weights(self, batch):
        """log w_ij, the weight of q(z|x_j) in the estimate of q(z_i): for MWS 1 / (N M) for
        every pair (a scalar, broadcast); for MSS [B, B], 1/N on j = i, (N - M + 1) / (N (M - 1))
        on j = i + 1 (mod M), 1 / (M - 1) elsewhere (each row sums to 1)."""
        m = tf.cast(batch, tf.float32)
        n = float(self.dataset_size)
        if self.estimator == "mws":
            return -math.log(n) - tf.math.log(m)
        own = tf.eye(batch, dtype=tf.bool)
        next_one = tf.roll(own, shift=1, axis=1)
        weights = tf.where(own, 1.0 / n, tf.where(next_one, (n - m + 1.0) / (n * (m - 1.0)), 1.0 / (m - 1.0)))
        return tf.math.log(weights)

    @staticmethod
    def marginals(q):
        """The per-latent Normals of a factorized q(z|x) (loc and scale [B, D]), or a one-line error."""
        inner = getattr(unwrap(q), "distribution", None)
        if not isinstance(unwrap(q), tfd.Independent) or not isinstance(inner, tfd.Normal):
            raise ConfigError("objective", "beta_tcvae", f"a posterior whose q(z|x) is Independent(Normal), "
                              f"not {type(unwrap(q)).__name__}")
        return inner

    def get_config(self):
        return {**super().get_config(), "dataset_size": self.dataset_size, "alpha": self.alpha, "gamma": self.gamma,
                "estimator": self.estimator}


DIP_KINDS = {"i": 10.0, "ii": 1.0}  # kind -> disentanglement_lib's lambda_d_factor (lambda_d / lambda_od)


@serializable
@OBJECTIVES.register("dip_vae")
class DIPVAE(ELBO):
    """DIP-VAE (Kumar et al. 2018, "Variational inference of disentangled latent concepts from
    unlabeled observations"): the ELBO plus a penalty pulling a covariance C of the codes over
    the batch towards the identity, so the aggregate posterior has decorrelated unit latents:

        loss = -ELBO + lambda_od * sum_{i != j} C_ij^2 + lambda_d * sum_i (C_ii - 1)^2

    with C = Cov[mu(x)], the covariance of q's means (`kind` "i"), or C = Cov_q[z] =
    E[Cov(z|x)] + Cov[mu(x)] (`kind` "ii"), over the B examples of the batch with 1/B, as
    disentanglement_lib's `DIPVAE`. The penalty is one number per batch, added to each
    example's loss (so the mean loss is the batch's -ELBO plus the penalty) and reported as
    "dip_regularizer".

    Args:
        kind: "i" or "ii".
        lambda_od: weight of the off-diagonal entries. disentanglement_lib has no default
            (its study sweeps 1..50); 10 sits in that range.
        lambda_d: weight of the diagonal; None: disentanglement_lib's, 10 * lambda_od for
            "i" and lambda_od for "ii".
        beta, free_bits, warmup_epochs, samples: those of the ELBO.

    Example:
        VAE(encoder, DiagonalNormal(10), decoder, Bernoulli(), objective=DIPVAE("ii", lambda_od=5.0))
    """

    loss_is = "the negative ELBO plus the DIP penalty on the codes' covariance"

    metric_names = ("dip_regularizer",)

    def __init__(self, kind="i", lambda_od=10.0, lambda_d=None, beta=1.0, free_bits=0.0, warmup_epochs=0,
                 samples=1, **kwargs):
        super().__init__(beta=beta, free_bits=free_bits, warmup_epochs=warmup_epochs, samples=samples, **kwargs)
        if kind not in DIP_KINDS:
            raise ConfigError("kind", kind, "'i' (the covariance of q's means) or 'ii' (the covariance of z under q)")
        check_number("lambda_od", lambda_od)
        if lambda_d is not None:
            check_number("lambda_d", lambda_d)
        self.kind, self.lambda_od = kind, float(lambda_od)
        self.lambda_d = None if lambda_d is None else float(lambda_d)

    @property
    def diagonal_weight(self):
        """lambda_d, or disentanglement_lib's factor times lambda_od when it is None."""
        return DIP_KINDS[self.kind] * self.lambda_od if self.lambda_d is None else self.lambda_d

    def check(self, posterior):
        if not getattr(posterior, "gaussian", False):
            raise ConfigError("objective", "dip_vae", f"'elbo' for the posterior {type(posterior).__name__} (DIP-VAE "
                              "penalizes the mean and covariance of a Gaussian q(z|x): diagonal_normal or full_normal)")

    def terms(self, q, z, log_likelihood, prior):
        terms = super().terms(q, z, log_likelihood, prior)
        penalty = self.regularizer(q)
        terms["loss"] += penalty
        terms["dip_regularizer"] = tf.broadcast_to(penalty, tf.shape(terms["loss"]))
        return terms

    def regularizer(self, q):
        """lambda_od * sum of squared off-diagonals + lambda_d * sum of squared (diagonal - 1) of C."""
        covariance = self.covariance(unwrap(q))
        diagonal = tf.linalg.diag_part(covariance)
        off_diagonal = covariance - tf.linalg.diag(diagonal)
        return (self.lambda_od * tf.reduce_sum(tf.square(off_diagonal))
                + self.diagonal_weight * tf.reduce_sum(tf.square(diagonal - 1.0)))

    def covariance(self, q):
        """C [D, D] over the batch: Cov[mu(x)] ("i"), plus E[Cov(z|x)] ("ii")."""
        if isinstance(q, tfd.Independent) and isinstance(q.distribution, tfd.Normal):
            mean, expected = q.distribution.loc, lambda: tf.linalg.diag(tf.reduce_mean(q.distribution.variance(), 0))
        elif isinstance(q, tfd.MultivariateNormalLinearOperator):
            mean, expected = q.mean(), lambda: tf.reduce_mean(q.covariance(), axis=0)
        else:
            raise ConfigError("objective", "dip_vae", f"a Gaussian q(z|x) (Normal or MultivariateNormal), not "
                              f"{type(q).__name__}")
        centred = mean - tf.reduce_mean(mean, axis=0)
        covariance = tf.matmul(centred, centred, transpose_a=True) / tf.cast(tf.shape(mean)[0], mean.dtype)
        return covariance + expected() if self.kind == "ii" else covariance

    def get_config(self):
        return {**super().get_config(), "kind": self.kind, "lambda_od": self.lambda_od, "lambda_d": self.lambda_d}


@serializable
@OBJECTIVES.register("semi_supervised")
class SemiSupervised(Objective):
    """The semi-supervised objective of Kingma et al. (2014), M2: y is observed for labelled
    images and a latent for the others.

    For a labelled (x, y): -L(x, y) = the inner objective's loss at y, - log p(y), plus
    `alpha` times the classifier's -log q(y|x). For an unlabelled x the bound sums over every
    class, exactly (enumeration, not sampling): -U(x) = sum_y q(y|x) (-L(x, y)) - H(q(y|x)).
    The per-class bounds come from the inner objective (`ELBO` by default), so the bound is
    written once. p(y) is uniform over the classes.

    Args:
        alpha: weight of the classification loss on labelled images (the paper's alpha).
        beta, warmup_epochs, samples, free_bits: those of the inner ELBO.

    Example:
        SemiSupervisedVAE(classifier, encoder, DiagonalNormal(50), decoder, Bernoulli(),
                          classes=10, objective=SemiSupervised(alpha=50.0))
    """

    loss_is = ("the negative M2 bound (labelled and unlabelled images) plus alpha * the classifier's -log q(y|x) on "
               "labelled images")

    def __init__(self, alpha=10.0, beta=1.0, free_bits=0.0, warmup_epochs=0, samples=1, **kwargs):
        super().__init__(beta=beta, warmup_epochs=warmup_epochs, samples=samples, **kwargs)
        check_number("alpha", alpha)
        self.alpha, self.free_bits = float(alpha), float(free_bits)
        self.bound = ELBO(beta=beta, free_bits=free_bits, warmup_epochs=warmup_epochs, samples=samples,
                          name="bound")

    def on_epoch(self, epochs_trained):
        self.bound.on_epoch(epochs_trained)
        return super().on_epoch(epochs_trained)

    def terms(self, per_class, logits, labels):
        """{"loss", "reconstruction", "kl", "classification"} per example [B].

        Args:
            per_class: the inner objective's terms with each example decoded at each class,
                {"loss", "reconstruction", "kl"} of shape [K, B].
            logits: the classifier's q(y|x) logits [B, K].
            labels: [B] integer labels, -1 where the image is unlabelled.
        """
        classes = logits.shape[-1]
        log_q = tf.nn.log_softmax(logits)
        labelled = labels >= 0
        observed = tf.one_hot(tf.maximum(labels, 0), classes)
        weights = tf.where(labelled[:, None], observed, tf.exp(log_q))  # [B, K]: y given, or q(y|x)

        def expected(name):
            return tf.reduce_sum(weights * tf.transpose(per_class[name]), axis=-1)

        log_classes = math.log(classes)  # -log p(y), p(y) uniform
        kl_y = tf.where(labelled, log_classes, tf.reduce_sum(tf.exp(log_q) * log_q, axis=-1) + log_classes)
        classification = tf.where(labelled, -tf.reduce_sum(observed * log_q, axis=-1), 0.0)
        return {"loss": expected("loss") + kl_y + self.alpha * classification,
                "reconstruction": expected("reconstruction"),
                "kl": expected("kl") + kl_y,  # KL of z, and of y (-log p(y) when observed)
                "classification": classification}  # -log q(y|x) on labelled images, 0 on the others

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "free_bits": self.free_bits}



# Autoencoders without a KL (issue 28, Ghosh et al. 2020): objectives of the draws z alone
# (`needs_density = False`), so a point-mass posterior takes them; the model reports the KL of
# a posterior that has a density beside them (`VAE.terms`).


class ReconstructionOnly(Objective):
    """Base of the objectives without a KL weight: the reconstruction cost -log p(x|z) averaged
    over the draws, to which a subclass adds its penalties; `beta` and `warmup_epochs` of the
    KL are refused."""

    needs_density = False

    def __init__(self, samples=1, **kwargs):
        for name in ("warmup_epochs",):
            if name in kwargs:
                raise ConfigError(name, kwargs[name], f"no value: the {type(self).__name__} objective has no KL to warm up")
        super().__init__(samples=samples, **kwargs)

    @staticmethod
    def reconstruction(log_likelihood):
        return -tf.reduce_mean(log_likelihood, axis=0)

    def get_config(self):
        config = super().get_config()
        config.pop("warmup_epochs")
        return config


@serializable
@OBJECTIVES.register("autoencoder")
class Autoencoder(ReconstructionOnly):
    """The plain autoencoder: loss = -log p(x|z) at the code, nothing else. With a point-mass
    posterior it is a deterministic autoencoder trained on the likelihood's cost (binary cross
    entropy for a Bernoulli); generation needs a fitted sampler (its codes follow no prior).

    Example:
        VAE(encoder, PointMass(20), decoder, Bernoulli(), objective=Autoencoder())
    """

    loss_is = "-log p(x|z) per image at the code z, the reconstruction cost alone (no KL, not a bound)"

    def __init__(self, samples=1, **kwargs):
        if "beta" in kwargs:
            raise ConfigError("beta", kwargs["beta"], "no value: the autoencoder objective has no KL to weigh")
        super().__init__(samples=samples, **kwargs)

    def terms(self, q, z, log_likelihood, prior):
        reconstruction = self.reconstruction(log_likelihood)
        return {"loss": reconstruction, "reconstruction": reconstruction}

    def get_config(self):
        config = super().get_config()
        config.pop("beta")
        return config


RAE_KINDS = {"l2": "weights", "gp": "gradient"}  # kind -> what the model computes (`VAE.decoder_penalty`)


@serializable
@OBJECTIVES.register("rae")
class RAE(ReconstructionOnly):
    """The regularized autoencoder (Ghosh et al. 2020, "From variational to deterministic
    autoencoders", eq. 11): the reconstruction cost, a penalty on the codes' size and one on
    the decoder's smoothness,

        loss = -log p(x|z) + beta * ||z||^2 / 2 + decoder_weight * L_REG,

    L_REG = ||theta||^2 (kind "l2": the sum of squares of every trainable weight of the decoder
    network, kernels and biases, as the paper's weight decay on the decoder's parameters) or
    ||grad_z sum_pixels D(z)||^2 (kind "gp": D(z) the mean of p(x|z), per image). The model
    computes L_REG (`decoder_penalty`: it owns the decoder) and passes it to `terms`.

    Args:
        kind: "l2" or "gp".
        beta: weight of ||z||^2 / 2 (the paper's beta).
        decoder_weight: weight of L_REG (the paper's lambda).
        samples: draws of z per example (1: a point mass has one).

    Example:
        VAE(encoder, PointMass(20), decoder, Bernoulli(), objective=RAE(kind="gp"),
            samplers=[GaussianMixture(10)])
    """

    loss_is = "-log p(x|z) + beta * ||z||^2 / 2 + decoder_weight * a decoder penalty per image (RAE): not a bound"
    metric_names = ("code_penalty", "decoder_penalty")

    def __init__(self, kind="l2", beta=1e-4, decoder_weight=1e-7, samples=1, **kwargs):
        if kind not in RAE_KINDS:
            raise ConfigError("kind", kind, " or ".join(map(repr, RAE_KINDS)))
        check_number("decoder_weight", decoder_weight)
        super().__init__(beta=beta, samples=samples, **kwargs)
        self.kind, self.decoder_weight = kind, float(decoder_weight)

    @property
    def decoder_penalty(self):
        """What the model computes for `terms`: the decoder's weights or its gradient in z."""
        return RAE_KINDS[self.kind]

    def terms(self, q, z, log_likelihood, prior, decoder_penalty=None):
        reconstruction = self.reconstruction(log_likelihood)
        code_axes = list(range(2, z.shape.rank))  # z [S, B, *code_shape]
        code_penalty = tf.reduce_mean(0.5 * tf.reduce_sum(tf.square(z), axis=code_axes), axis=0)
        decoder_penalty = tf.broadcast_to(decoder_penalty, tf.shape(reconstruction))
        return {"loss": reconstruction + self.beta * code_penalty + self.decoder_weight * decoder_penalty,
                "reconstruction": reconstruction, "code_penalty": code_penalty, "decoder_penalty": decoder_penalty}

    def get_config(self):
        return {**super().get_config(), "kind": self.kind, "decoder_weight": self.decoder_weight}


def cost_plus_batch_penalty(log_likelihood, weight, penalty, name):
    """The terms of an objective of the draws alone (WAE-MMD, SWAE): the reconstruction cost
    -log p(x|z) [B] averaged over the draws, plus `weight` times a penalty that is one number
    per batch, reported per example under `name`."""
    reconstruction = -tf.reduce_mean(log_likelihood, axis=0)
    return {"loss": reconstruction + weight * penalty, "reconstruction": reconstruction,
            name: tf.broadcast_to(penalty, tf.shape(reconstruction))}


# Maximum mean discrepancy between the codes of a batch and draws of the prior (WAE-MMD,
# InfoVAE-MMD): the kernels and the estimator, written once for both objectives.

WAE_SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)  # the WAE authors' IMQ scales (pythae's WAE_MMD default)
MMD_KERNELS = ("imq", "rbf")


def squared_distances(a, b):
    """||a_i - b_j||^2 [..., n, m] between the rows of a [..., n, D] and b [..., m, D] (from the
    differences: the expansion |a|^2 + |b|^2 - 2ab goes negative in float32 for close points)."""
    return tf.reduce_sum(tf.square(a[..., :, None, :] - b[..., None, :, :]), axis=-1)


def mmd_kernel(squared, kernel, c_base, scales):
    """The kernel at squared distances, summed over `scales` s with C = s * c_base: "imq"
    C / (C + d^2), "rbf" exp(-d^2 / C)."""
    total = 0.0
    for scale in scales:
        c = scale * c_base
        total += c / (c + squared) if kernel == "imq" else tf.exp(-squared / c)
    return total


def mmd(codes, prior_codes, kernel="imq", bandwidth=1.0, scales=WAE_SCALES):
    """The unbiased U-statistic of MMD^2 between n codes of q(z) [..., n, D] and m draws of
    p(z) [..., m, D] (Gretton et al. 2012, eq. 3; the WAE authors' `mmd_penalty`): the mean of
    k over the pairs i != j within each sample, minus twice the mean over all n * m pairs
    across them; [...]. C = 2 D bandwidth^2 (Tolstikhin et al. 2018: 2 D sigma_z^2)."""
    codes, prior_codes = tf.cast(codes, tf.float32), tf.cast(prior_codes, tf.float32)
    c_base = 2.0 * codes.shape[-1] * float(bandwidth) ** 2

    def within(sample):
        k = mmd_kernel(squared_distances(sample, sample), kernel, c_base, scales)
        n = tf.cast(tf.shape(sample)[-2], tf.float32)
        return (tf.reduce_sum(k, axis=[-2, -1]) - tf.linalg.trace(k)) / (n * (n - 1.0))

    across = mmd_kernel(squared_distances(codes, prior_codes), kernel, c_base, scales)
    return within(codes) + within(prior_codes) - 2.0 * tf.reduce_mean(across, axis=[-2, -1])


class PriorDrawsPenalty(Objective):
    """Base of the objectives that compare q(z), the codes of the batch, with as many draws of
    p(z) (`prior_z`, which the model passes because `prior_draws` is True): a discrepancy of
    one stochastic layer's codes, one number per batch. Arguments of the base that a subclass
    names in REPLACED are refused in one line and left out of its config."""

    prior_draws = True
    REPLACED = ()  # the base's arguments this objective does not take

    def __init__(self, **kwargs):
        for name in self.REPLACED:
            if name in kwargs:
                raise ConfigError(name, kwargs[name], f"no value: {OBJECTIVES.name_of(self)} has no {name}")
        super().__init__(**kwargs)

    def check(self, posterior):
        if posterior.layer_names:
            raise ConfigError("objective", OBJECTIVES.name_of(self), f"a posterior of one stochastic layer, not "
                              f"{type(posterior).__name__} (it compares one layer's codes with p(z))")

    def per_draw(self, z, prior_z):
        """z and prior_z [S, B, ...] as [S, B, D]: each draw's batch of flat codes."""
        size = math.prod(z.shape[2:])
        return tf.reshape(z, [self.samples, -1, size]), tf.reshape(prior_z, [self.samples, -1, size])

    def get_config(self):
        config = super().get_config()
        for name in self.REPLACED:
            config.pop(name)
        return config


class MMDPenalty(PriorDrawsPenalty):
    """Base of the MMD objectives: the kernel's settings, and the MMD between q(z) and p(z).
    The MMD is one number per batch, added to each example's loss and reported as "mmd".

    Args:
        kernel: "imq" (inverse multiquadratics C / (C + ||x - y||^2), the WAE paper's) or
            "rbf" (exp(-||x - y||^2 / C)).
        bandwidth: sigma in C = scale * 2 D sigma^2, D the code size (1: the standard normal
            prior's scale, as the WAE authors and pythae).
        scales: the kernel is summed over these multiples of C.
    """

    metric_names = ("mmd",)

    def __init__(self, kernel="imq", bandwidth=1.0, scales=WAE_SCALES, **kwargs):
        super().__init__(**kwargs)
        if kernel not in MMD_KERNELS:
            raise ConfigError("kernel", kernel, " or ".join(map(repr, MMD_KERNELS)))
        check_number("bandwidth", bandwidth, positive=True)
        scales = (scales,) if isinstance(scales, (int, float)) else tuple(scales)
        if not scales:
            raise ConfigError("scales", scales, "at least one multiple of C, e.g. [1.0]")
        for scale in scales:
            check_number("scales", scale, positive=True)
        self.kernel, self.bandwidth, self.scales = kernel, float(bandwidth), tuple(float(s) for s in scales)

    def discrepancy(self, z, prior_z):
        """The MMD of each draw's batch of codes z [S, B, ...] against the prior draws
        [S, B, ...], averaged over the S draws: a scalar."""
        return tf.reduce_mean(mmd(*self.per_draw(z, prior_z), self.kernel, self.bandwidth, self.scales))

    def get_config(self):
        return {**super().get_config(), "kernel": self.kernel, "bandwidth": self.bandwidth, "scales": list(self.scales)}


@serializable
@OBJECTIVES.register("wae_mmd")
class WAEMMD(MMDPenalty):
    """WAE-MMD (Tolstikhin et al. 2018, "Wasserstein auto-encoders"): the reconstruction cost
    plus lambda times the MMD between q(z) and p(z), with no per-example KL:

        loss = -log p(x|z) + lambda * MMD(q(z), p(z))

    z is one draw of a Gaussian q(z|x), or the code itself with a deterministic encoder (the
    paper's: the `point_mass` posterior). It uses only the draws (`needs_density` False); the
    model reports KL(q(z|x) || p(z)) of a q that has a density beside it, which the loss does
    not contain.

    Args:
        lambda_mmd: the weight of the MMD (the paper's lambda, 10 with its 0.05 * ||x - y||^2
            cost).
        kernel, bandwidth, scales: those of `MMDPenalty` (the paper's IMQ at 7 scales by default).
        samples: draws of z per example.

    Example:
        VAE(encoder, DiagonalNormal(8), decoder, Bernoulli(), objective=WAEMMD(lambda_mmd=10.0))
    """

    loss_is = "-log p(x|z) + lambda * MMD(q(z), p(z)) per image (WAE-MMD): not a bound on log p(x)"

    needs_density = False
    REPLACED = ("beta", "warmup_epochs")

    def __init__(self, lambda_mmd=10.0, kernel="imq", bandwidth=1.0, scales=WAE_SCALES, samples=1, **kwargs):
        super().__init__(kernel=kernel, bandwidth=bandwidth, scales=scales, samples=samples, **kwargs)
        check_number("lambda_mmd", lambda_mmd)
        self.lambda_mmd = float(lambda_mmd)

    def terms(self, q, z, log_likelihood, prior, prior_z):
        return cost_plus_batch_penalty(log_likelihood, self.lambda_mmd, self.discrepancy(z, prior_z), "mmd")

    def get_config(self):
        return {**super().get_config(), "lambda_mmd": self.lambda_mmd}


@serializable
@OBJECTIVES.register("info_vae")
class InfoVAE(MMDPenalty):
    """InfoVAE-MMD (Zhao et al. 2019, "InfoVAE: balancing learning and inference in
    variational autoencoders"), as pythae's INFOVAE_MMD: the ELBO with the KL weighted by
    1 - alpha plus the MMD between q(z) and p(z):

        loss = -log p(x|z) + (1 - alpha) * KL(q(z|x) || p(z)) + (alpha + lambda - 1) * MMD

    alpha = 0, lambda = 1 is the negative ELBO. The MMD's weight must not be negative (that
    would push q(z) away from p(z)): alpha + lambda >= 1.

    Args:
        alpha: 1 - the KL's weight, at most 1.
        lambda_mmd: the paper's lambda.
        kernel, bandwidth, scales: those of `MMDPenalty`; one IMQ scale by default, as pythae's
            InfoVAE.
        samples: draws of z per example.

    Example:
        VAE(..., objective=InfoVAE(alpha=0.0, lambda_mmd=1000.0))
    """

    loss_is = ("-log p(x|z) + (1 - alpha) * KL(q(z|x) || p(z)) + (alpha + lambda - 1) * MMD(q(z), p(z)) per image "
               "(InfoVAE): the negative ELBO only when alpha = 0 and lambda = 1")

    needs_density = True
    REPLACED = ("beta", "warmup_epochs")

    def __init__(self, alpha=0.0, lambda_mmd=1000.0, kernel="imq", bandwidth=1.0, scales=(1.0,), samples=1, **kwargs):
        if not isinstance(alpha, (int, float)) or isinstance(alpha, bool) or not -math.inf < alpha <= 1.0:
            raise ConfigError("alpha", alpha, "a number <= 1 (the KL's weight is 1 - alpha)")
        check_number("lambda_mmd", lambda_mmd, positive=True)
        if alpha + lambda_mmd < 1.0:
            raise ConfigError("lambda_mmd", lambda_mmd, f"at least 1 - alpha = {1.0 - alpha} (the MMD's weight "
                              "alpha + lambda - 1 must not be negative)")
        super().__init__(kernel=kernel, bandwidth=bandwidth, scales=scales, samples=samples, **kwargs)
        self.alpha, self.lambda_mmd = float(alpha), float(lambda_mmd)

    def terms(self, q, z, log_likelihood, prior, prior_z):
        reconstruction = -tf.reduce_mean(log_likelihood, axis=0)
        kl_per_layer = prior.kl_per_layer(q, z)
        kl = tf.reduce_sum(kl_per_layer, axis=-1)
        penalty = self.discrepancy(z, prior_z)
        loss = reconstruction + (1.0 - self.alpha) * kl + (self.alpha + self.lambda_mmd - 1.0) * penalty
        return {"loss": loss, "reconstruction": reconstruction, "kl": kl, "kl_per_layer": kl_per_layer,
                "mmd": tf.broadcast_to(penalty, tf.shape(reconstruction))}

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "lambda_mmd": self.lambda_mmd}


# The sliced Wasserstein distance between the codes of a batch and draws of the prior (SWAE).


def random_directions(count, size, seed=None):
    """`count` directions uniform on the unit sphere of R^size, [count, size]: normal draws
    scaled to length 1, stateless with `seed` (a [2] integer tensor), else stateful."""
    draws = tf.random.normal([count, size]) if seed is None else tf.random.stateless_normal([count, size], seed)
    return draws / tf.norm(draws, axis=-1, keepdims=True)


def sliced_wasserstein(codes, prior_codes, directions, p=2.0):
    """SW_p^p between n codes [..., n, D] and n draws of p(z) [..., n, D] along the directions
    [L, D] (Kolouri et al. 2019): on each direction both samples are projected and
    sorted, since in one dimension the optimal coupling of two equal-sized samples pairs them
    in order, and W_p^p is the mean of |a_(i) - b_(i)|^p; the mean over the L directions, [...]."""
    def sorted_projections(sample):
        return tf.sort(tf.einsum("...nd,ld->...ln", tf.cast(sample, tf.float32), directions), axis=-1)

    difference = tf.abs(sorted_projections(codes) - sorted_projections(prior_codes))
    return tf.reduce_mean(tf.square(difference) if p == 2 else tf.pow(difference, p), axis=[-2, -1])


@serializable
@OBJECTIVES.register("swae")
class SWAE(PriorDrawsPenalty):
    """The sliced-Wasserstein autoencoder (Kolouri et al. 2019, "Sliced-Wasserstein
    autoencoder: an embarrassingly simple generative model"): the reconstruction cost plus
    lambda times the sliced p-Wasserstein distance (to the power p) between q(z), the codes of
    the batch, and as many draws of p(z), along L random directions:

        loss = -log p(x|z) + lambda * SW_p^p(q(z), p(z))

    As WAE-MMD, it uses only the draws (`needs_density` False): a deterministic encoder (the
    paper's, `point_mass`) or one draw of a Gaussian q(z|x), whose KL the model reports beside
    it. The directions are new each step, drawn from their own stream of the batch's seed
    (`own_draws`), so `evaluate` and a compiled step repeat them.

    Args:
        lambda_swd: the weight of SW_p^p (10: the authors' MNIST code, against a cost averaged
            over pixels; PyTorch-VAE weighs it by reg_weight / (N (N - 1)), 100 / (N (N - 1)):
            docs/mmd.md).
        projections: L, the directions per step (50, the authors' and PyTorch-VAE's).
        p: the Wasserstein power, at least 1 (2, the authors' and PyTorch-VAE's).
        samples: draws of z per example.

    Example:
        VAE(encoder, PointMass(20), decoder, Bernoulli(), objective=SWAE(lambda_swd=10.0))
    """

    loss_is = "-log p(x|z) + lambda * SW_p^p(q(z), p(z)) per image (SWAE): not a bound on log p(x)"

    needs_density = False
    own_draws = True
    metric_names = ("swd",)
    REPLACED = ("beta", "warmup_epochs")

    def __init__(self, lambda_swd=10.0, projections=50, p=2.0, samples=1, **kwargs):
        super().__init__(samples=samples, **kwargs)
        check_number("lambda_swd", lambda_swd)
        check_count("projections", projections)
        check_number("p", p)
        if p < 1:
            raise ConfigError("p", p, "a power >= 1 (below 1, |a - b|^p is no distance and its slope at 0 is infinite)")
        self.lambda_swd, self.projections, self.p = float(lambda_swd), projections, float(p)

    def directions(self, size, seed=None):
        """The L directions [L, size] of one step, from `seed` (the model's stream of the batch's seed)."""
        return random_directions(self.projections, size, seed)

    def discrepancy(self, z, prior_z, seed=None):
        """SW_p^p of each draw's batch of codes z [S, B, ...] against the prior draws, along the
        same directions, averaged over the S draws: a scalar."""
        codes, prior_codes = self.per_draw(z, prior_z)
        return tf.reduce_mean(sliced_wasserstein(codes, prior_codes, self.directions(codes.shape[-1], seed), self.p))

    def terms(self, q, z, log_likelihood, prior, prior_z, seed=None):
        return cost_plus_batch_penalty(log_likelihood, self.lambda_swd, self.discrepancy(z, prior_z, seed), "swd")

    def get_config(self):
        return {**super().get_config(), "lambda_swd": self.lambda_swd, "projections": self.projections, "p": self.p}
