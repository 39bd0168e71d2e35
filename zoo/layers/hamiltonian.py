"""The Hamiltonian posterior (HVAE: Caterini, Doucet and Sejdinovic 2018, "Hamiltonian
variational auto-encoder"): a diagonal Gaussian q0(z|x) whose draws are moved along the
model's own log p(x, z) by K leapfrog steps, each followed by a tempering of the momentum.

    z0 ~ q0(z|x),  rho0 = gamma / sqrt(beta0),  gamma ~ N(0, I)
    K times:  rho += eps/2 * grad log p(x, z);  z += eps * rho;  rho += eps/2 * grad log p(x, z)
              rho *= sqrt(beta_{k-1} / beta_k)         (quadratic schedule, beta_K = 1)

The map (z0, rho0) -> (zK, rhoK) is invertible: the leapfrog steps preserve volume and the
temperings scale rho by sqrt(beta0) in all, so the extended-space proposal's density is

    log q(zK, rhoK) = log q0(z0) + log N(rho0; 0, I/beta0) - (D/2) log beta0

and the unbiased estimate of p(x) is w = p(x, zK) N(rhoK; 0, I) / q(zK, rhoK). The posterior
hands the objectives and importance sampling a distribution whose `log_prob` at the draws it
made itself is log q(zK, rhoK) - log N(rhoK; 0, I): then log p(x|z) + log p(z) - log q(z) at
those draws is log w, so the ELBO objective's Monte Carlo KL, the IWAE bound and the exports
score the HVAE unchanged. It has no density at other codes (`one_pass_density` is False).

The flow needs the model: `given(target)` binds the function z -> log p(x|z) + log p(z) that
the VAE builds for its batch. Without a target (`encode`, `codes`, the `encode` signature) the
posterior is its base q0(z|x). Each leapfrog step takes the gradient of the target, so
training differentiates through gradients (second derivatives): each draw costs K + 1
decoder passes forward and backward.
"""

import math

import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras as keras

from zoo.checks import check_count, check_number
from zoo.errors import ConfigError, ZooError
from zoo.layers.posteriors import MIN_STDDEV, POSTERIORS, Posterior, stateless_normal_draw

tfd = tfp.distributions
serializable = keras.saving.register_keras_serializable(package="zoo")
MOMENTUM_STREAM = 7  # the momentum's draws: a stream of the draw's seed apart from z0's


def target_gradient(target, z):
    """grad_z of target(z) [...] at z [..., D]: the examples' targets are independent, so the
    gradient of their sum is each one's own."""
    with tf.GradientTape() as tape:
        tape.watch(z)
        value = tf.reduce_sum(target(z))
    return tape.gradient(value, z)


def leapfrog(target, z, rho, step_size, gradient):
    """One leapfrog step of the Hamiltonian -target(z) + |rho|^2 / 2 from (z, rho), where
    `gradient` is grad target(z): (z', rho', grad target(z')), so a chain of steps takes one
    gradient per step."""
    rho = rho + 0.5 * step_size * gradient
    z = z + step_size * rho
    gradient = target_gradient(target, z)
    return z, rho + 0.5 * step_size * gradient, gradient


def sqrt_inverse_temperature(k, steps, beta0):
    """sqrt(beta_k) of the paper's quadratic schedule, 1/sqrt(beta_k) = (1 - 1/sqrt(beta0)) (k/K)^2
    + 1/sqrt(beta0): beta_0 = beta0, beta_K = 1."""
    inverse = 1.0 / tf.sqrt(beta0)
    return 1.0 / ((1.0 - inverse) * (k / steps) ** 2 + inverse)


def tempering_log_det(beta0, steps, latent_dim):
    """log |det| of the K temperings rho -> sqrt(beta_{k-1} / beta_k) rho over D latents:
    sum_k (D/2) log(beta_{k-1} / beta_k) = (D/2) log(beta0 / beta_K) = (D/2) log beta0 (none for K = 0)."""
    return 0.5 * latent_dim * tf.math.log(beta0) if steps else tf.zeros_like(beta0)


def hamiltonian_flow(dynamics, z, rho, steps, beta0):
    """(zK, rhoK) after `steps` steps of `dynamics` (its `step`: the leapfrog, or the RHVAE's
    generalized leapfrog), each followed by its tempering."""
    carry = dynamics.start(z) if steps else None
    previous = tf.sqrt(beta0)
    for k in range(1, steps + 1):
        z, rho, carry = dynamics.step(z, rho, carry)
        current = sqrt_inverse_temperature(k, steps, beta0)
        rho = rho * (previous / current)
        previous = current
    return z, rho


class EuclideanDynamics:
    """The HVAE's Hamiltonian -target(z) + |rho|^2 / 2: momenta N(0, I), explicit leapfrog steps.
    The RHVAE's `RiemannianDynamics` has the same four methods with a metric G(z)."""

    def __init__(self, target, step_size):
        self.target, self.step_size = target, step_size

    def start(self, z):
        """What the first step carries in: grad target(z)."""
        return target_gradient(self.target, z)

    def step(self, z, rho, gradient):
        return leapfrog(self.target, z, rho, self.step_size, gradient)

    def momentum(self, z, gamma, beta0):
        """rho0 ~ N(0, I / beta0) from gamma ~ N(0, I)."""
        del z
        return gamma / tf.sqrt(beta0)

    def momentum_log_prob(self, z, rho, beta=1.0):
        """log N(rho; 0, I / beta) [...]."""
        del z
        return _standard_normal_log_prob(tf.sqrt(beta) * rho) + 0.5 * rho.shape[-1] * tf.math.log(beta)


def _standard_normal_log_prob(value):
    """log N(value; 0, I) summed over the last axis."""
    return -0.5 * tf.reduce_sum(tf.square(value), axis=-1) - 0.5 * value.shape[-1] * math.log(2.0 * math.pi)


class HamiltonianDraws:
    """q(zK|x) as the objectives use it: `sample` runs the flow and keeps, for the codes it
    returns, log q(zK, rhoK) - log N(rhoK; 0, I); `log_prob` gives it for those codes only.
    Like TFP's bijector cache for a flow, but the flow's input is not recoverable from zK."""

    def __init__(self, posterior, params, target, training=False):
        self.posterior, self.params, self.target, self.training = posterior, params, target, training
        self.base = posterior.distribution(params)
        self._drawn = []  # [(codes, their log density)]

    def sample(self, samples=None, seed=None, alg="auto_select"):
        posterior, steps = self.posterior, self.posterior.leapfrog_steps
        count = 1 if samples is None else samples
        if seed is None:
            z0 = self.base.sample(count)
            gamma = tf.random.normal(tf.shape(z0))
        else:
            z0 = stateless_normal_draw(self.base.distribution, count, seed, alg)
            gamma = tf.random.stateless_normal(
                tf.shape(z0), tf.random.experimental.stateless_fold_in(seed, MOMENTUM_STREAM), alg=alg)
        log_q = self.base.log_prob(z0)
        if steps:
            beta0 = posterior.beta0()
            dynamics = posterior.dynamics(self.params, self.target, self.training)
            rho0 = dynamics.momentum(z0, gamma, beta0)
            z, rho = hamiltonian_flow(dynamics, z0, rho0, steps, beta0)
            log_q += (dynamics.momentum_log_prob(z0, rho0, beta0) - tempering_log_det(beta0, steps, posterior.latent_dim)
                      - dynamics.momentum_log_prob(z, rho))
        else:
            z = z0  # no steps, no momentum: q is q0
        if samples is None:
            z, log_q = z[0], log_q[0]
        self._drawn.append((z, log_q))
        return z

    def log_prob(self, z):
        for drawn, log_q in self._drawn:
            if drawn is z:
                return log_q
        raise ZooError("a Hamiltonian posterior scores only the codes it drew itself (its density at other codes "
                       "is not tractable)")


@serializable
@POSTERIORS.register("hamiltonian")
class HamiltonianPosterior(Posterior):
    """q(z|x): a diagonal Gaussian q0(z|x) followed by `leapfrog_steps` tempered leapfrog steps
    on the model's log p(x, z) (HVAE, Caterini et al. 2018).

    Args:
        latent_dim: number of latent variables.
        leapfrog_steps: K; 0 gives q0 itself (no momentum).
        step_size: initial leapfrog step size eps, one per latent.
        beta0: initial inverse temperature of the momentum, in (0, 1]; the schedule ends at 1.
        learn_step_size, learn_beta0: train eps and beta0 with the networks (as the paper).

    Example:
        posterior = HamiltonianPosterior(20, leapfrog_steps=5)
        VAE(encoder, posterior, decoder, Bernoulli())  # encoder ends in Dense(posterior.params_size)
    """

    needs_target = True
    one_pass_density = False

    def __init__(self, latent_dim, leapfrog_steps=5, step_size=0.01, beta0=0.3, learn_step_size=True,
                 learn_beta0=True, **kwargs):
        super().__init__(latent_dim, **kwargs)
        check_count("leapfrog_steps", leapfrog_steps, minimum=0)
        check_number("step_size", step_size, positive=True)
        check_number("beta0", beta0, positive=True)
        if beta0 > 1:
            raise ConfigError("beta0", beta0, "a number in (0, 1] (an inverse temperature that rises to 1)")
        self.leapfrog_steps, self.initial_step_size, self.initial_beta0 = leapfrog_steps, step_size, beta0
        self.learn_step_size, self.learn_beta0 = bool(learn_step_size), bool(learn_beta0)
        self.log_step_size = self.add_weight(name="log_step_size", shape=(latent_dim,), trainable=self.learn_step_size,
                                             initializer=tf.constant_initializer(math.log(step_size)))
        logit = 20.0 if beta0 == 1 else math.log(beta0 / (1.0 - beta0))
        self.beta0_logit = self.add_weight(name="beta0_logit", shape=(), trainable=self.learn_beta0,
                                           initializer=tf.constant_initializer(logit))

    @property
    def params_size(self):
        return 2 * self.latent_dim

    def step_size(self):
        """eps [D], positive."""
        return tf.exp(self.log_step_size)

    def beta0(self):
        """beta0 in (0, 1)."""
        return tf.sigmoid(self.beta0_logit)

    def dynamics(self, params, target, training=False):
        """The Hamiltonian the flow follows for the batch's `params` (the RHVAE's depends on them)."""
        del params, training
        return EuclideanDynamics(target, self.step_size())

    def distribution(self, params):
        """The base q0(z|x) = N(loc, diag(scale^2)), scale = softplus(raw) + 1e-5, from the first
        2 * latent_dim parameters."""
        loc, raw_scale = tf.split(params[..., :2 * self.latent_dim], 2, axis=-1)
        return tfd.Independent(tfd.Normal(loc, tf.nn.softplus(raw_scale) + MIN_STDDEV), reinterpreted_batch_ndims=1)

    def given(self, target):
        """This posterior with the flow on `target` (z [S, B, D] -> log p(x, z) [S, B])."""
        return BoundHamiltonian(self, target)

    def get_config(self):
        return {**super().get_config(), "leapfrog_steps": self.leapfrog_steps, "step_size": self.initial_step_size,
                "beta0": self.initial_beta0, "learn_step_size": self.learn_step_size, "learn_beta0": self.learn_beta0}


class BoundHamiltonian:
    """A `HamiltonianPosterior` given the model's target: `inference` and `draws` as a
    posterior's, their q the flow's `HamiltonianDraws`."""

    def __init__(self, posterior, target):
        self.posterior, self.target = posterior, target

    def inference(self, params, training=False):
        return HamiltonianDraws(self.posterior, params, self.target, training)

    def draws(self, params, samples, seed=None, training=False, alg="auto_select"):
        """(q, `samples` draws zK [S, B, D] from that q): q.log_prob(zK) is the draws' own. q0 is
        the same Gaussian in training and inference; the RHVAE's metric is not."""
        q = self.inference(params, training)
        return q, q.sample(samples, seed=seed, alg=alg)
