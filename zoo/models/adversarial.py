"""`AdversarialVAE`: a VAE with an adversary (a discriminator on z with its own optimizer),
both trained in one `fit`: FactorVAE and the adversarial autoencoder.

Why a VAE with one more slot, not a new objective: the discriminator has weights and an
optimizer of its own, which an objective (a function of q, z, p(x|z) and p(z)) should not
own, and a model must train and save them. The VAE's other blocks stay swappable: the
FactorVAE is any VAE plus `TotalCorrelation`, the AAE a VAE whose objective charges no KL
plus `PriorMatching` (`zoo.layers.adversaries`).
"""

import functools

import tensorflow as tf
import tf_keras as keras

from zoo import seeds
from zoo.config import rules
from zoo.errors import ZooError
from zoo.layers.adversaries import Adversary
from zoo.models import signatures
from zoo.models.base import Signature
from zoo.models.vae import VAE

MODEL_STREAM, ADVERSARY_STREAM = 0, 1  # folds of the step's seed: the VAE's draws, the discriminator's


@keras.saving.register_keras_serializable(package="zoo")
class AdversarialVAE(VAE):
    """A `VAE` with an `adversary` (`zoo.layers.adversaries`): a discriminator on the codes,
    trained by its own Adam (`adversary_optimizer`) in the same `fit`.

    Each step (`update`) runs the paper's schedule: first `adversary.steps` discriminator steps
    on codes of the current encoder (its own loss, its own optimizer, its weights only), then
    one VAE step on `adversary.reconstruction_weight` * the objective's loss + the adversary's
    penalty (the model's optimizer, every weight but the discriminator's). Random draws (z, the
    permutations, the prior's draws) come from the step's seed, so a resumed run repeats them;
    both optimizers are tracked by the model, so the workdir backups of `zoo train` keep both.

    An adversary that keeps the bound (FactorVAE) leaves the VAE's ELBO signatures and scoring;
    one that replaces the KL (the AAE) makes a model scored by reconstruction error that exports
    its generative signatures only (reconstruct, encode, decode, sample).

    Args:
        adversary: e.g. `TotalCorrelation(gamma=10.0)` or `PriorMatching()`.
        the rest: as `VAE`.

    Example:
        zoo.build(VAEConfig(posterior={"type": "diagonal_normal", "latent_dim": 10},
                            adversary={"type": "total_correlation", "gamma": 10.0}))
    """

    KIND = "adversarial VAE"

    def __init__(self, encoder, posterior, decoder, likelihood, adversary=None, prior=None, objective=None,
                 image_shape=None, **kwargs):
        if not isinstance(adversary, Adversary):
            raise ZooError(f"AdversarialVAE adversary: expected a zoo.layers.adversaries.Adversary, "
                           f"got {type(adversary).__name__}")
        self._keeps_bound = bool(adversary.keeps_bound)  # before the VAE asks `has_likelihood`
        super().__init__(encoder, posterior, decoder, likelihood, prior=prior, objective=objective,
                         image_shape=image_shape, **kwargs)
        rules.check_adversary(adversary, self.posterior, self.objective, self.condition)
        self.adversary = adversary
        self.adversary_optimizer = adversary.attach(int(self.code_shape[0]))
        self.trackers.extend(keras.metrics.Mean(name) for name in adversary.metric_names)

    @property
    def loss_is(self):
        return self.adversary.loss_is

    @property
    def has_likelihood(self):
        """An adversary that replaces the KL (the AAE) leaves no bound to score, so the model is
        one without a likelihood (`VAE.has_likelihood`: scored by reconstruction error, no
        `elbo` or `log_likelihood` signature, no baseline); FactorVAE keeps the VAE's."""
        return super().has_likelihood and self._keeps_bound

    def test_figures(self, logs):
        """The VAE's test figures (without a bound: loss, reconstruction and squared error) and the adversary's."""
        return {**super().test_figures(logs), **{f"test_{name}": logs[name] for name in self.adversary.metric_names}}

    def test_report(self, figures):
        name = self.adversary.penalty_name
        return f"{super().test_report(figures)}; {name} {figures[f'test_{name}']:.3f}"

    def model_variables(self):
        """Every trainable weight but the discriminator's: what the model's optimizer moves."""
        mine = {id(v) for v in self.adversary.trainable_variables}
        return [v for v in self.trainable_variables if id(v) not in mine]

    def terms(self, x, training=False, seed=None, alg="auto_select", y=None):
        """The objective's terms on the batch x, its loss weighted and plus the adversary's
        penalty; out of training, the discriminator's loss on these codes too (what `evaluate`
        reports; `update` reports its own steps')."""
        drawn = self.draw(x, self.objective.samples, training, seed, alg, y=y, with_error=not self.has_likelihood)
        q, z, log_likelihood = drawn[:3]
        terms = self.objective_terms(q, z, log_likelihood, self.prior, seed=seed, training=training)
        terms.pop("kl_per_layer", None)  # an objective of the draws alone (WAE, SWAE) has none
        if not self.has_likelihood:  # the test figure of a model without a likelihood
            terms["squared_error"] = tf.reduce_mean(drawn[3], axis=0)
        codes = tf.reshape(z, [-1, self.code_shape[0]])  # [S * B, D]: every draw
        samples, batch = tf.shape(z)[0], tf.shape(z)[1]
        penalty = tf.reduce_mean(tf.reshape(self.adversary.penalty(codes), [samples, batch]), axis=0)
        terms["loss"] = self.adversary.reconstruction_weight * terms["loss"] + penalty
        terms[self.adversary.penalty_name] = penalty
        if not training:
            discriminator_seed = tf.constant(seeds.ELBO_SEED, tf.int32) if seed is None else seed
            loss = self.adversary.discriminator_loss(codes, None, self.prior, discriminator_seed, alg)
            terms["discriminator_loss"] = tf.fill([batch], loss)
        return terms

    def codes_drawn(self, x, seed, alg="auto_select"):
        """One draw z ~ q(z|x) per image [B, D], as the VAE's loss draws it (the discriminator's data)."""
        params = self._encoder_params(x, None, True)
        _, z = self.posterior.given(self.joint_target(x, None, True)).draws(params, 1, seed, True, alg)
        return z[0]

    def update(self, x, seed=None, alg="auto_select", y=None):
        """The discriminator's `adversary.steps` steps, then the VAE's step (see the class)."""
        with tf.init_scope():  # slots for every weight, as a reloaded optimizer makes them
            self.optimizer.build(self.trainable_variables)
        seed = tf.constant([0, 0], tf.int32) if seed is None else seed
        fold = functools.partial(tf.random.experimental.stateless_fold_in, alg=alg)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        model_x, other_x = self.adversary.split(x)
        adversary_seed = fold(seed, ADVERSARY_STREAM)
        z = tf.stop_gradient(self.codes_drawn(model_x, fold(adversary_seed, 0), alg))
        other_z = None if other_x is None else tf.stop_gradient(self.codes_drawn(other_x, fold(adversary_seed, 1), alg))
        discriminator_variables = self.adversary.trainable_variables
        for step in range(self.adversary.steps):
            with tf.GradientTape() as tape:
                discriminator_loss = self.adversary.discriminator_loss(
                    z, other_z, self.prior, fold(adversary_seed, 2 + step), alg) / replicas
            self.adversary_optimizer.minimize(discriminator_loss, discriminator_variables, tape=tape)
        with tf.GradientTape() as tape:
            terms = self.terms(model_x, training=True, seed=fold(seed, MODEL_STREAM), alg=alg)
            loss = tf.reduce_mean(terms["loss"])
            if self.losses:
                loss += tf.add_n(self.losses)
            loss = loss / replicas
        self.optimizer.minimize(loss, self.model_variables(), tape=tape)
        terms["discriminator_loss"] = tf.fill(tf.shape(terms["loss"]), discriminator_loss * replicas)
        return self._record(terms)

    def get_config(self):
        return {**super().get_config(), "adversary": keras.saving.serialize_keras_object(self.adversary)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["adversary"] = keras.saving.deserialize_keras_object(config["adversary"], custom_objects=custom_objects)
        return super().from_config(config, custom_objects)
