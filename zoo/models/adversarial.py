"""`AdversarialVAE`: a VAE with an adversary (a discriminator on z or on x, with its own
optimizer), both trained in one `fit`: FactorVAE, the adversarial autoencoder, the VAE-GAN.

Why a VAE with one more slot, not a new objective: the discriminator has weights and an
optimizer of its own, which an objective (a function of q, z, p(x|z) and p(z)) should not
own, and a model must train and save them. The VAE's other blocks stay swappable: the
FactorVAE is any VAE plus `TotalCorrelation`, the AAE a VAE whose objective charges no KL
plus `PriorMatching`, the VAE-GAN a VAE plus `VAEGAN`, whose discriminator looks at images
(`zoo.layers.adversaries`).
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
from zoo.models.vae import VAE, split_gradients

MODEL_STREAM, ADVERSARY_STREAM = 0, 1  # folds of the step's seed: the VAE's draws, the discriminator's


@keras.saving.register_keras_serializable(package="zoo")
class AdversarialVAE(VAE):
    """A `VAE` with an `adversary` (`zoo.layers.adversaries`): a discriminator on the codes or
    on the images (`adversary.looks_at`), trained by its own Adam (`adversary_optimizer`) in the
    same `fit`.

    Each step (`update`) runs the paper's schedule: first `adversary.steps` discriminator steps
    on what it looks at, made by the current encoder (and decoder), without gradients to them
    (its own loss, its own optimizer, its weights only), then one VAE step (the model's
    optimizer, every weight but the discriminator's): on a discriminator of codes,
    `adversary.reconstruction_weight` * the objective's loss + the adversary's penalty; on a
    discriminator of images (the VAE-GAN), the encoder's loss and the decoder's own
    (`adversary.decoder_loss`). An adversary may pause a side that is winning
    (`adversary.balance`). Random draws (z, the permutations, the prior's draws) come from the
    step's seed, so a resumed run repeats them; both optimizers are tracked by the model, so
    the workdir backups of `zoo train` keep both.

    An adversary that keeps the bound (FactorVAE) leaves the VAE's ELBO signatures and scoring;
    one that replaces the KL (the AAE) or the likelihood (the VAE-GAN) makes a model scored by
    reconstruction error that exports its generative signatures only (reconstruct, encode,
    decode, sample).

    Args:
        adversary: e.g. `TotalCorrelation(gamma=10.0)`, `PriorMatching()` or `VAEGAN()`.
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
        self.adversary_optimizer = adversary.attach(self.adversary_input_shape())
        self.trackers.extend(keras.metrics.Mean(name) for name in adversary.metric_names)

    @property
    def loss_is(self):
        return self.adversary.loss_is

    def adversary_input_shape(self):
        """The shape of one of what the discriminator looks at: a code, or an image."""
        if self.adversary.looks_at == "codes":
            return int(self.code_shape[0])
        if self.image_shape is None:
            raise ZooError(f"AdversarialVAE: a discriminator of images ({type(self.adversary).__name__}) needs the "
                           "image shape: give image_shape=(H, W, C) or an encoder that starts with keras.Input")
        return self.image_shape

    def without_likelihood_because(self):
        return f"its loss is not a bound: {self.adversary.loss_is}"

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

    def decoder_variables(self):
        """The decoder network's and the likelihood layer's trainable weights: what moves by
        `adversary.decoder_loss` when the adversary has one."""
        return self.decoder.trainable_variables + self.likelihood.trainable_variables

    def extend_terms(self, terms, x, q, z, prior, training=False, seed=None, alg="auto_select"):
        """The objective's terms with the adversary's: on codes, its loss weighted and plus the
        adversary's penalty, and out of training the discriminator's loss on these codes (what
        `evaluate` reports; `update` reports its own steps'); on images, `image_terms`."""
        if self.adversary.looks_at == "images":
            return self.image_terms(terms, x, q, z, prior, training, seed)
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

    def image_terms(self, terms, x, q, z, prior, training=False, seed=None):
        """A discriminator of images (the VAE-GAN): the objective's terms again with its
        log-likelihood taken in the discriminator's features (`adversary.image_terms`), D's
        cross-entropy ("discriminator_loss") on x, its reconstructions (p(x|z)'s mean at the
        draws z) and as many decoded draws of the prior (from `seed`'s stream of prior draws),
        and the decoder's loss of the two (`adversary.decoder_objective`)."""
        samples, batch = tf.shape(z)[0], tf.shape(z)[1]
        flat = tf.concat([[samples * batch], self.code_shape], 0)
        images = tf.reshape(tf.broadcast_to(x, tf.concat([[samples], tf.shape(x)], 0)),
                            tf.concat([[samples * batch], tf.shape(x)[1:]], 0))
        reconstructions, generated = (self._decode(tf.reshape(codes, flat), None, training).mean()
                                      for codes in (z, self.prior_draws(prior, z, seed)))
        log_likelihood, cross_entropy = (tf.reshape(value, [samples, batch]) for value in
                                         self.adversary.image_terms(images, reconstructions, generated))
        terms.update(self.objective.terms(q, z, log_likelihood, prior))  # the ELBO, reconstructing D's features
        terms.pop("kl_per_layer")
        cross_entropy = tf.reduce_mean(cross_entropy, axis=0)
        terms[self.adversary.decoder_loss] = self.adversary.decoder_objective(terms["reconstruction"], cross_entropy)
        terms["discriminator_loss"] = cross_entropy
        return terms

    def adversary_data(self, x, other_x, seed, alg="auto_select"):
        """What the discriminator learns from in a step, with no gradient to the VAE: codes of
        the current encoder for x (and for `other_x`, the other half of a split batch); or the
        images x and (their reconstructions, decoded prior draws) for a discriminator of images."""
        fold = functools.partial(tf.random.experimental.stateless_fold_in, alg=alg)
        z = tf.stop_gradient(self.codes_drawn(x, fold(seed, 0), alg))
        if self.adversary.looks_at == "images":
            prior_z = tf.reshape(self.prior.distribution().sample(tf.shape(z)[0], seed=fold(seed, 1)), tf.shape(z))
            return x, tuple(tf.stop_gradient(self._decode(codes, None, True).mean()) for codes in (z, prior_z))
        return z, None if other_x is None else tf.stop_gradient(self.codes_drawn(other_x, fold(seed, 1), alg))

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
        seen, other = self.adversary_data(model_x, other_x, adversary_seed, alg)
        discriminator_variables, balance = self.adversary.trainable_variables, None
        for step in range(self.adversary.steps):
            with tf.GradientTape() as tape:
                judged = self.adversary.discriminator_terms(seen, other, self.prior, fold(adversary_seed, 2 + step), alg)
                discriminator_loss = judged["loss"] / replicas
            if step == 0:
                balance = self.adversary.balance(judged)
            if balance is None:
                self.adversary_optimizer.minimize(discriminator_loss, discriminator_variables, tape=tape)
            else:
                pairs = list(zip(tape.gradient(discriminator_loss, discriminator_variables), discriminator_variables))
                tf.cond(balance[0], lambda: applied(self.adversary_optimizer, pairs), lambda: tf.constant(False))
        decoder_loss = self.adversary.decoder_loss
        with tf.GradientTape(persistent=decoder_loss is not None) as tape:
            terms = self.terms(model_x, training=True, seed=fold(seed, MODEL_STREAM), alg=alg)
            losses = [tf.reduce_mean(terms[name]) for name in ("loss", decoder_loss) if name]
            if self.losses:
                losses = [loss + tf.add_n(self.losses) for loss in losses]
            losses = [loss / replicas for loss in losses]
        if decoder_loss is None:
            self.optimizer.minimize(losses[0], self.model_variables(), tape=tape)
        else:
            self.step_encoder_and_decoder(tape, *losses, None if balance is None else balance[1])
        terms["discriminator_loss"] = tf.fill(tf.shape(terms["loss"]), discriminator_loss * replicas)
        return self._record(terms)

    def fit(self, x=None, *args, **kwargs):
        """As `VAE.fit`; refused in one line when the adversary balances its sides (`adversary.balances`)
        on several replicas: a paused side is a `tf.cond` around an optimizer's update, which
        tf.distribute cannot run inside one replica of several."""
        if self.adversary.balances and self.distribute_strategy.num_replicas_in_sync > 1:
            raise ZooError(f"{type(self.adversary).__name__}: its balance pauses a side within a step, which one "
                           "replica of several cannot: turn it off (VAEGAN's margin None) to train on several devices")
        return super().fit(x, *args, **kwargs)

    def step_encoder_and_decoder(self, tape, loss, decoder_loss, train_decoder=None):
        """One step of the model's optimizer: the decoder's weights (`decoder_variables`) by the
        gradient of `decoder_loss`, every other model weight by that of `loss`; the decoder's
        only when `train_decoder` (a boolean tensor, or None: always)."""
        decoder = {id(v) for v in self.decoder_variables()}
        encoder_variables = [v for v in self.model_variables() if id(v) not in decoder]
        pairs = split_gradients(tape, decoder_loss, loss, self.model_variables(), encoder_variables)
        if train_decoder is None:
            self.optimizer.apply_gradients(pairs)
        else:
            tf.cond(train_decoder, lambda: applied(self.optimizer, pairs),
                    lambda: applied(self.optimizer, pairs[:len(encoder_variables)]))

    def get_config(self):
        return {**super().get_config(), "adversary": keras.saving.serialize_keras_object(self.adversary)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["adversary"] = keras.saving.deserialize_keras_object(config["adversary"], custom_objects=custom_objects)
        return super().from_config(config, custom_objects)


def applied(optimizer, pairs):
    """Apply the (gradient, variable) `pairs`; True (a branch of `tf.cond` returns a tensor)."""
    optimizer.apply_gradients(pairs)
    return tf.constant(True)
