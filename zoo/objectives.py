"""The training objectives, written once and shared by `fit`, `evaluate` and the exports.

An objective maps (model, x) to per-example tensors: `loss` (what is minimised),
`reconstruction` = -log p(x|z) and `kl` = KL(q(z|x) || p(z)), each counted once and
averaged over the `samples` draws of z. Variants change coefficients (beta, its warm-up,
free bits) or the estimator (ELBO or importance-weighted), never copy the loss.
"""

import math

import tensorflow as tf

from zoo.errors import ConfigError
from zoo.registry import Registry

OBJECTIVES = Registry("objective")


def draw(model, x, samples=1, training=False, seed=None, alg="auto_select"):
    """q(z|x) (inference form), draws z [S, B, ...] and -log p(x|z) [S, B] for each draw.

    While training, z comes from the posterior layer itself (relaxed one-hot vectors for
    categorical latents); otherwise from q. With `seed` (a shape-[2] integer tensor) the
    draws are stateless, so the same x and seed give the same numbers in Python and in an
    export; `alg` picks the stateless RNG ("threefry" is fast inside XLA on CPU).
    """
    params = model.encoder(x, training=training)
    q = model.posterior.inference(params)
    z = model.posterior.sample(params, samples, seed, training, alg)
    batch = tf.shape(x)[0]
    flat_z = tf.reshape(z, tf.concat([[samples * batch], tf.shape(z)[2:]], 0))
    flat_x = tf.reshape(tf.broadcast_to(x, tf.concat([[samples], tf.shape(x)], 0)),
                        tf.concat([[samples * batch], tf.shape(x)[1:]], 0))
    log_px = model.decode(flat_z, training=training).log_prob(flat_x)
    return q, z, -tf.reshape(log_px, [samples, batch])


def kl_penalty(model, q, kl):
    """The KL as the loss charges it: with free bits, each latent's first `free_bits` nats are
    free (per variable when q and p factorize, else on the total)."""
    free_bits = model.variant.free_bits
    if not free_bits:
        return kl
    per_variable = model.prior.kl_per_variable(q)
    if per_variable is None:
        return tf.maximum(kl, free_bits * model.variant.latent_dim)
    return tf.reduce_sum(tf.maximum(per_variable, free_bits), axis=-1)


class Objective:
    """Base: `terms(model, x, training, seed, alg)` -> {"loss", "reconstruction", "kl"} per example."""

    @staticmethod
    def check(variant):
        pass


@OBJECTIVES.register("elbo")
class NegativeELBO(Objective):
    """loss = -log p(x|z) + beta * KL (the negative ELBO when beta = 1), averaged over draws."""

    @staticmethod
    def terms(model, x, training=False, seed=None, alg="auto_select"):
        q, z, reconstruction = draw(model, x, model.variant.samples, training, seed, alg)
        reconstruction = tf.reduce_mean(reconstruction, axis=0)
        kl = model.prior.kl(q, z)
        return {"loss": reconstruction + model.kl_weight * kl_penalty(model, q, kl),
                "reconstruction": reconstruction, "kl": kl}


@OBJECTIVES.register("iwae")
class NegativeIWAE(Objective):
    """loss = -log (1/S) sum_s p(x|z_s) p(z_s)^beta / q(z_s|x)^beta, the importance-weighted
    bound of Burda et al. (2016) with S = `samples`; tighter than the ELBO as S grows.
    `reconstruction` and `kl` report the averages over the S draws."""

    @staticmethod
    def check(variant):
        from zoo.posteriors import POSTERIORS

        if not POSTERIORS.get(variant.latent).continuous:
            raise ConfigError("objective", "iwae", "'elbo' for the discrete latent "
                              f"'{variant.latent}' (importance weights need q's density at relaxed draws)")
        if variant.free_bits:
            raise ConfigError("free_bits", variant.free_bits, "0 with the 'iwae' objective")

    @staticmethod
    def terms(model, x, training=False, seed=None, alg="auto_select"):
        samples = model.variant.samples
        q, z, reconstruction = draw(model, x, samples, training, seed, alg)
        kl = q.log_prob(z) - model.prior.distribution().log_prob(z)  # [S, B]
        log_w = -reconstruction - model.kl_weight * kl
        return {"loss": math.log(samples) - tf.reduce_logsumexp(log_w, axis=0),
                "reconstruction": tf.reduce_mean(reconstruction, axis=0),
                "kl": tf.reduce_mean(kl, axis=0)}


def elbo_terms(model, x, seed=None):
    """-log p(x|z) and KL(q(z|x) || p(z)) per example at one draw of z, as the ELBO counts them."""
    q, z, reconstruction = draw(model, x, 1, False, seed)
    return reconstruction[0], model.prior.kl(q, z)
