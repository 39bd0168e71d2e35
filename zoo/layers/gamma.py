"""Latents on the positive half-line: the Gamma posterior q(z_j|x) = Gamma(alpha_j(x), beta_j(x))
and the Gamma prior p(z_j) = Gamma(a, b), a = 2 and b = 1 by default (PyTorch-VAE's Gamma VAE,
after Ruiz et al. 2016, "The generalized reparameterization gradient"). `alpha` is the shape
(concentration), `beta` the rate: E[z] = alpha / beta, Var[z] = alpha / beta^2.

Densities and the KL are TFP's (`tfd.Gamma`; KL(Gamma || Gamma) is registered in closed form).
The draws are ours, for the reasons `StatelessGamma` gives.
"""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras as keras

from zoo.checks import check_number
from zoo.layers.posteriors import POSTERIORS, Posterior
from zoo.layers.priors import PRIORS, Prior, unwrap
from zoo.layers.spherical import marsaglia_tsang_gamma

tfd = tfp.distributions
serializable = keras.saving.register_keras_serializable(package="zoo")

MIN_PARAMETER = 1e-3  # the floor under softplus for both concentration and rate
SMALLEST_DRAW = float(np.finfo(np.float32).tiny)  # the smallest normal float32: z > 0 and log z finite


def stateless_standard_gamma(concentration, sample_shape, seed):
    """Gamma(alpha, 1) draws [*sample_shape] from a stateless `seed`, the same numbers eagerly,
    in a graph, inside XLA and in an export.

    The values: one boost of the shape (Marsaglia and Tsang 2000, sec. 6): G(alpha + 1) *
    U^(1/alpha) ~ G(alpha), G(alpha + 1) from `marsaglia_tsang_gamma` (valid for shapes >= 1),
    computed in logs and clipped at the smallest normal float32 (alpha = 1e-3 underflows
    U^(1/alpha) otherwise). The gradient in alpha: implicit reparameterization (Figurnov et al.
    2018), dz/dalpha = -(dF(z; alpha)/dalpha) / p(z; alpha), TF's `RandomGammaGrad` (compiles in
    XLA). It is exact, where the gradient through Marsaglia and Tsang's map with the boosts of
    Naesseth et al. 2017 (PyTorch-VAE's B = 8) leaves out a correction term. TF's own
    `tf.random.stateless_gamma` has this gradient but no XLA kernel (StatelessRandomGammaV3),
    so `zoo train`'s compiled step could not use it; TFP's Gamma sampler draws different
    numbers per context (docs/manifold_latents.md)."""
    concentration = tf.broadcast_to(concentration, sample_shape)
    boosted_seed, uniform_seed = tfp.random.split_seed(seed, 2)
    fixed = tf.stop_gradient(concentration)
    boosted = marsaglia_tsang_gamma(fixed + 1.0, sample_shape, boosted_seed)
    u = tf.random.stateless_uniform(sample_shape, seed=uniform_seed, minval=SMALLEST_DRAW, maxval=1.0)
    log_z = tf.math.log(tf.maximum(boosted, SMALLEST_DRAW)) + tf.math.log(u) / fixed
    z = tf.stop_gradient(tf.maximum(tf.exp(log_z), SMALLEST_DRAW))  # exp rounds to 0 near the floor
    dz_dalpha = tf.stop_gradient(tf.raw_ops.RandomGammaGrad(alpha=fixed, sample=z))
    dz_dalpha = tf.where(tf.math.is_finite(dz_dalpha), dz_dalpha, tf.zeros_like(dz_dalpha))
    return z + dz_dalpha * (concentration - fixed)  # the value z; the gradient dz/dalpha


class StatelessGamma(tfd.Gamma):
    """TFP's Gamma (density, moments, entropy, KL) drawing with `stateless_standard_gamma`
    divided by the rate: stateless with a seed, compiled with gradients in XLA."""

    def _sample_n(self, n, seed=None):
        concentration = tf.convert_to_tensor(self.concentration)
        rate = tf.convert_to_tensor(self.rate)
        shape = tf.concat([[n], self._batch_shape_tensor(concentration=concentration, rate=rate)], 0)
        standard = stateless_standard_gamma(concentration, shape, tfp.random.sanitize_seed(seed))
        return tf.maximum(standard / rate, SMALLEST_DRAW)  # a rate of 1e6 takes a tiny draw below the floor


@serializable
@POSTERIORS.register("gamma")
class GammaPosterior(Posterior):
    """q(z|x) = prod_j Gamma(alpha_j, beta_j), alpha = softplus(first d outputs) + 1e-3 and
    beta = softplus(last d) + 1e-3: positive codes (PyTorch-VAE's GammaVAE). Its prior is the
    Gamma prior; its codes are not all of R^d (no post-hoc samplers, which would put codes
    below 0).

    Example:
        VAE(encoder, GammaPosterior(20), decoder, Bernoulli(), prior=GammaPrior(2.0, 1.0))
    """

    prior_type = "gamma"
    prior_note = " (its codes are positive: a prior with mass at z <= 0 generates codes the decoder never saw)"
    euclidean = False

    @property
    def params_size(self):
        return 2 * self.latent_dim

    def distribution(self, params):
        raw_concentration, raw_rate = tf.split(params, 2, axis=-1)
        return tfd.Independent(StatelessGamma(tf.nn.softplus(raw_concentration) + MIN_PARAMETER,
                                              tf.nn.softplus(raw_rate) + MIN_PARAMETER),
                               reinterpreted_batch_ndims=1)

    def summary(self, q):
        gamma = unwrap(q).distribution
        return {**super().summary(q), "z_concentration": tf.convert_to_tensor(gamma.concentration),
                "z_rate": tf.convert_to_tensor(gamma.rate)}


@serializable
@PRIORS.register("gamma")
class GammaPrior(Prior):
    """p(z) = prod_j Gamma(concentration, rate), fixed (PyTorch-VAE's defaults: shape 2, rate 1,
    a mode at z = 1). KL(q || p) is TFP's closed form, also per latent (free bits).

    Example:
        VAE(..., posterior=GammaPosterior(20), prior=GammaPrior(concentration=2.0, rate=1.0))
    """

    posterior_type = "gamma"  # q(z|x) with mass at z <= 0 (a Normal) has an infinite KL to it

    def __init__(self, concentration=2.0, rate=1.0, **kwargs):
        super().__init__(**kwargs)
        check_number("concentration", concentration, positive=True)
        check_number("rate", rate, positive=True)
        self.concentration, self.rate = float(concentration), float(rate)

    def per_latent(self):
        return StatelessGamma(tf.fill([self.latent_dim], self.concentration), tf.fill([self.latent_dim], self.rate))

    def distribution(self):
        return tfd.Independent(self.per_latent(), reinterpreted_batch_ndims=1)

    def kl_per_variable(self, q):
        return tfd.kl_divergence(unwrap(q).distribution, self.per_latent())

    def get_config(self):
        return {**super().get_config(), "concentration": self.concentration, "rate": self.rate}
