"""The training objective, written once and shared by `fit`, `evaluate` and the exports.

An objective maps (model, x) to per-example tensors: `loss` (what is minimised),
`reconstruction` = -log p(x|z) and `kl` = KL(q(z|x) || p(z)), each counted once.
"""

import tensorflow as tf
import tensorflow_probability as tfp

from zoo.registry import Registry

tfd = tfp.distributions
OBJECTIVES = Registry("objective")


def kl_divergence(q, p, z):
    """KL(q || p) per example: analytic where TFP has it, else the one-sample estimate at z."""
    try:
        return tfd.kl_divergence(q, p)
    except NotImplementedError:
        return q.log_prob(z) - p.log_prob(z)


def elbo_terms(model, x, training=False, seed=None):
    """-log p(x|z) and KL(q(z|x) || p(z)) per example, z one reparameterized draw from q.

    With `seed` (a shape-[2] integer tensor) the draw is stateless, so the same x and seed
    give the same numbers in Python and in an export.
    """
    q = model.encode(x, training=training)
    z = tf.convert_to_tensor(q) if seed is None else q.sample(seed=seed)
    p = model.decode(z, training=training)
    return -p.log_prob(x), kl_divergence(q, model.prior.distribution(), z)


@OBJECTIVES.register("elbo")
def negative_elbo(model, x, training=False, seed=None):
    """loss = -log p(x|z) + beta * KL; the negative ELBO when beta = 1."""
    reconstruction, kl = elbo_terms(model, x, training=training, seed=seed)
    return {"loss": reconstruction + model.variant.beta * kl, "reconstruction": reconstruction, "kl": kl}
