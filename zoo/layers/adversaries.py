"""Adversaries: a discriminator on the codes z with its own optimizer, the slot an adversarial
model (`zoo.models.adversarial.AdversarialVAE`) adds to a VAE.

An adversary says what its discriminator tells apart (its two kinds of codes, and which
batch each comes from), the discriminator's loss, and the penalty the VAE's loss gains from
it; the model trains both in one step of `fit`. Two of them:

- `TotalCorrelation` (FactorVAE, Kim and Mnih 2018): D(z) tells codes of q(z) from codes
  permuted dimension by dimension across the batch (draws of the product of q's marginals);
  the VAE pays gamma * log(D / (1 - D)), an estimate of the total correlation of q(z).
- `PriorMatching` (the adversarial autoencoder, Makhzani et al. 2015): D(z) tells draws of
  p(z) from codes of q(z); the autoencoder pays the generator's cross-entropy, -log D(z), in
  place of the KL.

The discriminator outputs one logit: D = sigmoid(logit), so log(D / (1 - D)) is the logit
itself (pythae and disentanglement_lib output two logits and take their difference: the same
function of one fewer weight vector).
"""

import tensorflow as tf
import tf_keras as keras

from zoo.checks import check_count, check_number
from zoo.errors import ConfigError
from zoo.registry import Registry

ADVERSARIES = Registry("adversary")
serializable = keras.saving.register_keras_serializable(package="zoo")


def permute_dims(z, seed, alg="auto_select"):
    """z [B, D] with each dimension's values shuffled across the batch by its own permutation
    (Kim and Mnih's Algorithm 1): every column keeps its values, so each marginal of q(z) is
    kept and the dependence between dimensions is broken. `seed`: a stateless seed [2]."""
    keys = tf.random.stateless_uniform(tf.shape(z), seed, alg=alg)
    order = tf.argsort(keys, axis=0)  # [B, D]: a permutation of the rows per column
    return tf.transpose(tf.gather(tf.transpose(z), tf.transpose(order), batch_dims=1))


def discriminator_cross_entropy(positive_logits, negative_logits):
    """The discriminator's loss: the mean binary cross-entropy of calling `positive` codes 1
    and `negative` codes 0, each kind weighted one half (pythae's and disentanglement_lib's)."""
    return 0.5 * (tf.reduce_mean(tf.nn.softplus(-positive_logits)) + tf.reduce_mean(tf.nn.softplus(negative_logits)))


def discriminator_network(hidden_units, leaky_slope):
    """An MLP from codes to one logit; hidden layers are ReLU (`leaky_slope` 0) or leaky ReLU."""
    layers = []
    for units in hidden_units:
        layers += [keras.layers.Dense(units), keras.layers.LeakyReLU(leaky_slope)]
    return keras.Sequential([*layers, keras.layers.Dense(1, dtype="float32")], name="discriminator")


class Adversary(keras.layers.Layer):
    """Base: a discriminator network on the codes, its optimizer's settings and its schedule.

    Args:
        hidden_units: the discriminator's hidden layers.
        leaky_slope: their activation's slope below 0 (0: ReLU).
        learning_rate, beta_1, beta_2: the discriminator's own Adam.
        steps: discriminator steps per VAE step (the schedule: steps per side).
    """

    # What the rest of the model asks of an adversary.
    replaces_kl = False  # True: the adversary's penalty takes the KL's place (the objective charges no KL)
    keeps_bound = True  # the model's ELBO is still its bound (else it exports the generative signatures only)
    splits_batch = False  # True: the discriminator learns from the batch's second half, the VAE from its first
    reconstruction_weight = 1.0  # what the VAE's own loss is multiplied by before the penalty is added
    penalty_name = "adversarial_loss"  # the per-example penalty's name in the logs
    loss_is = "the VAE's loss plus the adversary's penalty"

    def __init__(self, hidden_units=(256,), leaky_slope=0.0, learning_rate=1e-4, beta_1=0.5, beta_2=0.9, steps=1,
                 **kwargs):
        super().__init__(**kwargs)
        if not isinstance(hidden_units, (tuple, list)) or not hidden_units:
            raise ConfigError("hidden_units", hidden_units, "a tuple of positive layer widths, e.g. (256,)")
        for units in hidden_units:
            check_count("hidden_units", units)
        check_number("learning_rate", learning_rate, positive=True)
        for name, beta in (("beta_1", beta_1), ("beta_2", beta_2)):
            if not (check_number(name, beta) or beta < 1):
                raise ConfigError(name, beta, "a number in [0, 1)")
        check_count("steps", steps)
        check_number("leaky_slope", leaky_slope)
        self.hidden_units, self.leaky_slope, self.steps = tuple(int(u) for u in hidden_units), float(leaky_slope), int(steps)
        self.learning_rate, self.beta_1, self.beta_2 = float(learning_rate), float(beta_1), float(beta_2)
        self.discriminator = discriminator_network(self.hidden_units, self.leaky_slope)

    @property
    def metric_names(self):
        return (self.penalty_name, "discriminator_loss")

    def attach(self, code_size):
        """Build the discriminator for codes of `code_size` values, and return its optimizer
        (built: no variable is made inside a compiled loop)."""
        self.discriminator(tf.zeros([1, code_size]))
        optimizer = keras.optimizers.Adam(self.learning_rate, beta_1=self.beta_1, beta_2=self.beta_2)
        optimizer.build(self.discriminator.trainable_variables)
        return optimizer

    def logits(self, z):
        """D's logit of each code [N]: log(D / (1 - D))."""
        return self.discriminator(z)[:, 0]

    def split(self, x):
        """(the VAE's images, the discriminator's other images or None)."""
        if not self.splits_batch:
            return x, None
        half = tf.shape(x)[0] // 2
        return x[half:], x[:half]

    def discriminator_loss(self, z, other_z, prior, seed, alg="auto_select"):
        """The discriminator's loss on the codes z [N, D] (and `other_z`, codes of the other
        images when the batch is split), with the random draws it needs from `seed`."""
        raise NotImplementedError

    def penalty(self, z):
        """The VAE's penalty per code [N] (weighted), from the discriminator's logits."""
        raise NotImplementedError

    def get_config(self):
        return {**super().get_config(), "hidden_units": self.hidden_units, "leaky_slope": self.leaky_slope,
                "learning_rate": self.learning_rate,
                "beta_1": self.beta_1, "beta_2": self.beta_2, "steps": self.steps}


@serializable
@ADVERSARIES.register("total_correlation")
class TotalCorrelation(Adversary):
    """FactorVAE's adversary (Kim and Mnih 2018): the VAE's loss gains gamma * TC, the total
    correlation of q(z) estimated by a discriminator as log(D(z) / (1 - D(z))); D learns to
    tell codes (label 1) from codes of other images permuted dimension-wise (label 0).

    Defaults follow pythae's `FactorVAE` (`gamma` 2, a discriminator of five hidden layers of
    1000 leaky-ReLU units, the batch split in two: the VAE learns from one half and D from the
    other half's permuted codes, as the paper's Algorithm 2 draws a second batch); the
    discriminator's Adam (1e-4, betas 0.5 and 0.9) is the zoo's choice. `split_batch=False` trains D on the
    VAE's own batch (the whole batch then trains the VAE).

    Example:
        VAEConfig(..., adversary={"type": "total_correlation", "gamma": 10.0})
    """

    penalty_name = "total_correlation"
    loss_is = "-log p(x|z) + beta * KL + gamma * TC per image, TC estimated by the discriminator as log(D/(1-D))"

    def __init__(self, gamma=2.0, split_batch=True, hidden_units=(1000,) * 5, leaky_slope=0.2, learning_rate=1e-4,
                 beta_1=0.5, beta_2=0.9, steps=1, **kwargs):
        super().__init__(hidden_units, leaky_slope, learning_rate, beta_1, beta_2, steps, **kwargs)
        check_number("gamma", gamma)
        self.gamma, self.split_batch = float(gamma), bool(split_batch)

    @property
    def splits_batch(self):
        return self.split_batch

    def discriminator_loss(self, z, other_z, prior, seed, alg="auto_select"):
        other_z = z if other_z is None else other_z
        return discriminator_cross_entropy(self.logits(z), self.logits(permute_dims(other_z, seed, alg)))

    def penalty(self, z):
        return self.gamma * self.logits(z)

    def get_config(self):
        return {**super().get_config(), "gamma": self.gamma, "split_batch": self.split_batch}


@serializable
@ADVERSARIES.register("prior_matching")
class PriorMatching(Adversary):
    """The adversarial autoencoder's adversary (Makhzani et al. 2015): D learns to tell draws of
    the prior p(z) (label 1) from codes of q(z|x) (label 0); the autoencoder pays the
    generator's cross-entropy -log D(z) instead of the KL. As pythae's `Adversarial_AE`, the
    loss is (1 - scale) * reconstruction + scale * that cross-entropy, with scale 0.5, and the
    discriminator has one hidden layer of 256 ReLU units (its `Discriminator_MLP`).

    Example:
        VAEConfig(..., objective={"type": "elbo", "beta": 0.0}, adversary="prior_matching")
    """

    replaces_kl = True
    keeps_bound = False
    penalty_name = "generator_loss"
    loss_is = "(1 - scale) * -log p(x|z) + scale * -log D(z) per image (an adversarial autoencoder: no bound)"

    def __init__(self, scale=0.5, hidden_units=(256,), leaky_slope=0.0, learning_rate=1e-4, beta_1=0.5, beta_2=0.9,
                 steps=1, **kwargs):
        super().__init__(hidden_units, leaky_slope, learning_rate, beta_1, beta_2, steps, **kwargs)
        if not (check_number("scale", scale) or scale <= 1):
            raise ConfigError("scale", scale, "a number in [0, 1]")
        self.scale = float(scale)

    @property
    def reconstruction_weight(self):
        return 1.0 - self.scale

    def discriminator_loss(self, z, other_z, prior, seed, alg="auto_select"):
        draws = prior.distribution().sample(tf.shape(z)[0], seed=seed)
        return discriminator_cross_entropy(self.logits(tf.reshape(draws, tf.shape(z))), self.logits(z))

    def penalty(self, z):
        return self.scale * tf.nn.softplus(-self.logits(z))

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}
