"""Adversaries: a discriminator with its own optimizer, on the codes z or on the images x, the
slot an adversarial model (`zoo.models.adversarial.AdversarialVAE`) adds to a VAE.

An adversary says what its discriminator looks at (`looks_at`: "codes" or "images"), what it
tells apart (which batch each kind comes from), the discriminator's loss, and what the VAE's
loss gains from it; the model trains both in one step of `fit`. Three of them:

- `TotalCorrelation` (FactorVAE, Kim and Mnih 2018): D(z) tells codes of q(z) from codes
  permuted dimension by dimension across the batch (draws of the product of q's marginals);
  the VAE pays gamma * log(D / (1 - D)), an estimate of the total correlation of q(z).
- `PriorMatching` (the adversarial autoencoder, Makhzani et al. 2015): D(z) tells draws of
  p(z) from codes of q(z); the autoencoder pays the generator's cross-entropy, -log D(z), in
  place of the KL.
- `VAEGAN` (Larsen et al. 2016): D(x) tells images from reconstructions and decoded prior
  draws; the VAE reconstructs in the feature space of one of D's hidden layers, and the
  decoder also plays D's game.

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


def discriminator_layers(hidden_units, leaky_slope, conv_filters=None):
    """The layers of a discriminator, flat: for each hidden layer its weights then its
    activation (ReLU at `leaky_slope` 0, else leaky ReLU), then one logit. `conv_filters`
    (None for codes): a discriminator of images, its convolutions (4x4, stride 2, maybe none)
    before a Flatten and the dense layers."""
    layers = []
    for filters in conv_filters or ():
        layers += [keras.layers.Conv2D(filters, 4, strides=2, padding="same"), keras.layers.LeakyReLU(leaky_slope)]
    if conv_filters is not None:
        layers.append(keras.layers.Flatten())
    for units in hidden_units:
        layers += [keras.layers.Dense(units), keras.layers.LeakyReLU(leaky_slope)]
    return [*layers, keras.layers.Dense(1, dtype="float32")]


def discriminator_network(hidden_units, leaky_slope):
    """An MLP from codes to one logit; hidden layers are ReLU (`leaky_slope` 0) or leaky ReLU."""
    return keras.Sequential(discriminator_layers(hidden_units, leaky_slope), name="discriminator")


class Adversary(keras.layers.Layer):
    """Base: a discriminator network on the codes, its optimizer's settings and its schedule.

    Args:
        hidden_units: the discriminator's hidden layers.
        leaky_slope: their activation's slope below 0 (0: ReLU).
        learning_rate, beta_1, beta_2: the discriminator's own Adam.
        steps: discriminator steps per VAE step (the schedule: steps per side).
    """

    # What the rest of the model asks of an adversary.
    looks_at = "codes"  # what the discriminator judges: "codes" (z ~ q(z|x)) or "images" (x and decoded codes)
    decoder_loss = None  # the term the decoder (network, likelihood layer) moves by, if not the VAE's loss
    balances = False  # whether `balance` may pause a side within a step (then one replica only)
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
        self.discriminator = self.make_discriminator()

    def make_discriminator(self):
        """The discriminator network (an MLP of `hidden_units`), built by `attach`."""
        return discriminator_network(self.hidden_units, self.leaky_slope)

    @property
    def metric_names(self):
        return (self.penalty_name, "discriminator_loss")

    def attach(self, input_shape):
        """Build the discriminator for inputs of `input_shape` (what it looks at: a code size, or
        (H, W, C) for images), and return its optimizer (built: no variable is made inside a
        compiled loop)."""
        shape = (input_shape,) if isinstance(input_shape, int) else tuple(int(d) for d in input_shape)
        self.discriminator(tf.zeros([1, *shape]))
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

    def discriminator_terms(self, seen, other, prior, seed, alg="auto_select"):
        """{"loss": the discriminator's loss, and what `balance` reads}, on what it looks at
        (`seen`, `other`: as `AdversarialVAE.adversary_data` gives them)."""
        return {"loss": self.discriminator_loss(seen, other, prior, seed, alg)}

    def balance(self, judged):
        """None, or (train the discriminator?, train the decoder?) as boolean tensors, from the
        `discriminator_terms` of a step's first discriminator step: for an adversary that
        pauses the side that is winning (the VAE-GAN's margin)."""
        return None

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


@serializable
@ADVERSARIES.register("vae_gan")
class VAEGAN(Adversary):
    """The VAE-GAN's adversary (Larsen et al. 2016, "Autoencoding beyond pixels using a learned
    similarity metric"): D(x) tells images (label 1) from reconstructions Dec(z), z ~ q(z|x), and
    decoded prior draws Dec(z_p), z_p ~ p(z) (label 0). Three losses, each moving its own weights:

        L_prior = KL(q(z|x) || p(z))
        L_llike = -log N(Dis_l(x); Dis_l(Dec(z)), I) = 0.5 ||Dis_l(x) - Dis_l(Dec(z))||^2 (+ const)
        L_GAN   = -log D(x) - log(1 - D(Dec(z))) - log(1 - D(Dec(z_p)))   (D's cross-entropy)
        encoder (and posterior, prior): beta * L_prior + L_llike   (the ELBO with Dis_l's Gaussian)
        decoder (network, likelihood layer): gamma * L_llike - L_GAN
        discriminator: L_GAN, by its own optimizer

    Dis_l is the output of D's `reconstruction_layer`-th hidden layer; Dec(z) is the mean of
    p(x|z). The feature-space reconstruction is not a density on x, so the model has no
    likelihood (scored by its reconstruction error; generative signatures only).

    From the paper: the three losses, which weights each moves, the reconstructions among D's
    fakes (`judge_reconstructions`; pythae's `VAEGAN` judges x and prior samples only), D_l a
    hidden layer (`reconstruction_layer` -1: the last hidden one; pythae's -1 is its output).
    From pythae where the paper is silent: the 0.5 of the Gaussian's exponent, D's cross-entropy
    summed over its kinds of images, `Discriminator_MLP` (one hidden layer of 256 ReLU units),
    gamma 1 (its `adversarial_loss_scale` 0.5 weighs L_llike and L_GAN equally in the decoder's
    loss), and its balance: with `margin` set, when D's cross-entropy on the images or on the
    prior samples (before its step) falls below `equilibrium - margin` D skips its step, when
    either is above `equilibrium + margin` the decoder skips its, and both step if both would
    skip (`equilibrium` 0.68, `margin` 0.4; None: no balance, needed on several replicas).
    The zoo's: D's Adam (1e-4, betas 0.5 and 0.9) and the schedule (D's step, then the VAE's
    on the updated D, where Algorithm 1 and pythae update all three from one forward pass).

    Args:
        gamma: the weight of L_llike in the decoder's loss.
        reconstruction_layer: which hidden layer of D gives Dis_l (1 = the first; -1 the last).
        judge_reconstructions: reconstructions are fakes too (the paper) or not (pythae).
        equilibrium, margin: the balance (above); margin None: none.
        conv_filters: convolutions (4x4, stride 2) before the dense `hidden_units` (a conv D).
        the rest: as `Adversary`.

    Example:
        VAEConfig(..., adversary={"type": "vae_gan", "hidden_units": (256,)})
    """

    looks_at = "images"
    keeps_bound = False
    decoder_loss = penalty_name = "decoder_loss"
    loss_is = ("beta * KL + 0.5 ||Dis_l(x) - Dis_l(x~)||^2 per image (the encoder's; the decoder's: "
               "gamma * that reconstruction - the discriminator's cross-entropy): a VAE-GAN, no bound")

    def __init__(self, gamma=1.0, reconstruction_layer=-1, judge_reconstructions=True, equilibrium=0.68, margin=0.4,
                 hidden_units=(256,), conv_filters=(), leaky_slope=0.0, learning_rate=1e-4, beta_1=0.5, beta_2=0.9,
                 steps=1, **kwargs):
        if not isinstance(conv_filters, (tuple, list)):
            raise ConfigError("conv_filters", conv_filters, "a tuple of filter counts, e.g. (32, 64), or ()")
        for filters in conv_filters:
            check_count("conv_filters", filters)
        self.conv_filters = tuple(int(f) for f in conv_filters)  # before the base makes the discriminator
        super().__init__(hidden_units, leaky_slope, learning_rate, beta_1, beta_2, steps, **kwargs)
        check_number("gamma", gamma)
        check_number("equilibrium", equilibrium, positive=True)
        if margin is not None:
            check_number("margin", margin)
        depth = len(self.conv_filters) + len(self.hidden_units)
        if not isinstance(reconstruction_layer, int) or reconstruction_layer == 0 or not -depth <= reconstruction_layer <= depth:
            raise ConfigError("reconstruction_layer", reconstruction_layer,
                              f"a hidden layer of the discriminator: 1..{depth}, or -1 for the last")
        self.gamma, self.reconstruction_layer = float(gamma), int(reconstruction_layer)
        self.judge_reconstructions, self.equilibrium = bool(judge_reconstructions), float(equilibrium)
        self.margin = None if margin is None else float(margin)
        activations = [i for i, layer in enumerate(self.discriminator.layers) if isinstance(layer, keras.layers.LeakyReLU)]
        self.feature_index = activations[self.reconstruction_layer - (self.reconstruction_layer > 0)]

    @property
    def balances(self):
        return self.margin is not None

    def make_discriminator(self):
        return keras.Sequential(discriminator_layers(self.hidden_units, self.leaky_slope, self.conv_filters),
                                name="discriminator")

    def judge(self, images):
        """(Dis_l(images) [N, F], D's logit [N]) in one pass of the discriminator."""
        h = images
        for index, layer in enumerate(self.discriminator.layers):
            h = layer(h)
            if index == self.feature_index:
                features = tf.reshape(h, [tf.shape(images)[0], -1])
        return features, h[:, 0]

    def cross_entropies(self, real_logits, reconstruction_logits, generated_logits):
        """D's cross-entropy per image [N]: -log D(x) - log(1 - D(x~)) - log(1 - D(x_p)) (the
        reconstructions' term only if judged)."""
        fakes = tf.nn.softplus(generated_logits)
        if self.judge_reconstructions:
            fakes += tf.nn.softplus(reconstruction_logits)
        return tf.nn.softplus(-real_logits) + fakes

    def image_terms(self, x, reconstructions, generated):
        """(log p(Dis_l(x)|z) up to its constant, L_GAN) per image [N], from one pass of D over
        the images x, their reconstructions and as many decoded prior draws."""
        n = tf.shape(x)[0]
        features, logits = self.judge(tf.concat([x, reconstructions, generated], 0))
        log_likelihood = -0.5 * tf.reduce_sum(tf.square(features[:n] - features[n:2 * n]), axis=-1)
        return log_likelihood, self.cross_entropies(logits[:n], logits[n:2 * n], logits[2 * n:])

    def decoder_objective(self, reconstruction, cross_entropy):
        """The decoder's loss per image from L_llike and L_GAN (D's cross-entropy): gamma * L_llike - L_GAN."""
        return self.gamma * reconstruction - cross_entropy

    def discriminator_terms(self, x, fakes, prior=None, seed=None, alg="auto_select"):
        """D's loss on the images x and `fakes` = (reconstructions, decoded prior draws), and its
        mean cross-entropy on the images ("real") and on the prior draws ("generated")."""
        reconstructions, generated = fakes
        n = tf.shape(x)[0]
        _, logits = self.judge(tf.concat([x, reconstructions, generated], 0))
        real, generated = tf.nn.softplus(-logits[:n]), tf.nn.softplus(logits[2 * n:])
        loss = tf.reduce_mean(self.cross_entropies(logits[:n], logits[n:2 * n], logits[2 * n:]))
        return {"loss": loss, "real": tf.reduce_mean(real), "generated": tf.reduce_mean(generated)}

    def balance(self, judged):
        if self.margin is None:
            return None
        costs = tf.stack([judged["real"], judged["generated"]])
        discriminator = tf.logical_not(tf.reduce_any(costs < self.equilibrium - self.margin))
        decoder = tf.logical_not(tf.reduce_any(costs > self.equilibrium + self.margin))
        neither = tf.logical_not(tf.logical_or(discriminator, decoder))
        return tf.logical_or(discriminator, neither), tf.logical_or(decoder, neither)

    def get_config(self):
        return {**super().get_config(), "gamma": self.gamma, "reconstruction_layer": self.reconstruction_layer,
                "judge_reconstructions": self.judge_reconstructions, "equilibrium": self.equilibrium,
                "margin": self.margin, "conv_filters": self.conv_filters}
