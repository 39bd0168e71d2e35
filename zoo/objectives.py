"""The training objectives, written once over distributions and shared by `fit`, `evaluate`,
the exports and the benchmark.

An objective gets q(z|x), the draws z [S, B, ...] from it, log p(x|z) [S, B] at those draws
and the prior layer p(z), and returns per-example tensors: `loss` (what is minimised),
`reconstruction` = -log p(x|z) and `kl` = KL(q(z|x) || p(z)), each counted once. Variants
change coefficients (beta, its warm-up, free bits) or the estimator (ELBO or importance
weighted), never copy the loss. The KL weight is a variable of the objective, so a saved and
restored model continues its warm-up at the weight it reached.
"""

import math

import tensorflow as tf
import tf_keras as keras

from zoo.checks import check_count, check_number
from zoo.errors import ConfigError
from zoo.registry import Registry

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
@OBJECTIVES.register("iwae")
class IWAE(Objective):
    """loss = -log (1/S) sum_s p(x|z_s) p(z_s)^beta / q(z_s|x)^beta, the importance-weighted
    bound of Burda et al. (2016) with S = `samples`; tighter than the ELBO as S grows.
    `reconstruction` and `kl` report the averages over the S draws.

    Example:
        VAE(..., objective=IWAE(samples=5))
    """

    def __init__(self, samples=5, beta=1.0, warmup_epochs=0, **kwargs):
        super().__init__(beta=beta, warmup_epochs=warmup_epochs, samples=samples, **kwargs)

    def check(self, posterior):
        if not posterior.continuous:
            raise ConfigError("objective", "iwae", f"'elbo' for the discrete posterior {type(posterior).__name__} "
                              "(importance weights need q's density at relaxed draws)")

    def terms(self, q, z, log_likelihood, prior):
        log_ratios = prior.log_ratio_per_layer(q, z)  # [S, B, L]
        kl = tf.reduce_sum(log_ratios, axis=-1)
        log_w = log_likelihood - self.kl_weight * kl
        return {"loss": math.log(self.samples) - tf.reduce_logsumexp(log_w, axis=0),
                "reconstruction": -tf.reduce_mean(log_likelihood, axis=0),
                "kl": tf.reduce_mean(kl, axis=0), "kl_per_layer": tf.reduce_mean(log_ratios, axis=0)}


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
