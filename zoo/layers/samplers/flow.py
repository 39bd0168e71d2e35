"""The flow sampler: a masked autoregressive flow (Papamakarios et al. 2017) fitted to the
encoded training set by maximum likelihood, with TFP's `MaskedAutoregressiveFlow` and
`AutoregressiveNetwork` (MADE) layers and the order of the latents reversed between them.
Its density is one pass of each MADE; sampling inverts it, one pass per latent."""

import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras as keras

from zoo.checks import check_count
from zoo.layers.samplers.base import SAMPLERS, NoiseSampler
from zoo.layers.samplers.fitting import fit_by_steps

tfb, tfd = tfp.bijectors, tfp.distributions
LOG_SCALE_BOUND = 5.0  # each layer scales a latent by at most e^5 either way: fits stay finite


@SAMPLERS.register("flow")
@keras.saving.register_keras_serializable(package="zoo")
class MaskedAutoregressiveFlow(NoiseSampler):
    """A masked autoregressive flow over the (standardized) codes, N(0, I) at its base.

    Args:
        layers: MADE layers, with the latents' order reversed between consecutive ones.
        hidden_units: the widths of each MADE.
        epochs, batch_size, learning_rate: its maximum-likelihood fit; it stops earlier
            when the held-out log-likelihood has not risen for `patience` epochs, and keeps
            its best epoch.

    Example:
        VAE(..., samplers=[MaskedAutoregressiveFlow()]); vae.fit_samplers(images); vae.sample(16, sampler="flow")
    """

    def __init__(self, layers=4, hidden_units=(128, 128), epochs=60, batch_size=256, learning_rate=1e-3,
                 patience=5, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("layers", layers), ("epochs", epochs), ("batch_size", batch_size),
                            ("patience", patience),
                            *((f"hidden_units[{i}]", units) for i, units in enumerate(hidden_units))):
            check_count(name, value)
        self.layers, self.hidden_units, self.epochs, self.batch_size = layers, tuple(hidden_units), epochs, batch_size
        self.learning_rate, self.patience = learning_rate, patience

    def make_networks(self, latent_dim):
        self.made = [tfb.AutoregressiveNetwork(params=2, event_shape=[latent_dim], hidden_units=list(self.hidden_units),
                                               activation="relu", name=f"made_{i}") for i in range(self.layers)]
        for network in self.made:
            network(tf.zeros([1, latent_dim]))

    def bijector(self):
        """Base noise -> standardized codes: the MAF layers, the order reversed between them."""
        steps = []
        reverse = tfb.Permute(list(reversed(range(self.latent_dim))))
        for index, network in enumerate(self.made):
            if index:
                steps.append(reverse)
            steps.append(tfb.MaskedAutoregressiveFlow(shift_and_log_scale_fn=_bounded(network)))
        return tfb.Chain(list(reversed(steps)))  # Chain applies its last bijector first

    def distribution(self):
        """The flow's density over standardized codes."""
        base = tfd.MultivariateNormalDiag(tf.zeros([self.latent_dim]))
        return tfd.TransformedDistribution(base, self.bijector())

    def log_prob(self, codes):
        """log density of codes [B, latent_dim] in their own units."""
        return (self.distribution().log_prob((codes - self.shift) / self.scale)
                - tf.reduce_sum(tf.math.log(self.scale)))

    def transform(self, u):
        """The bijector's forward pass (noise -> standardized codes), each MAF layer inverted by
        a `tf.while_loop` of latent_dim passes of its MADE: TFP's own forward unrolls them, which
        put latent_dim copies of every MADE into each export's graph."""
        reverse = list(reversed(range(self.latent_dim)))
        for index, network in enumerate(self.made):
            if index:
                u = tf.gather(u, reverse, axis=-1)
            u = _maf_forward(_bounded(network), u, self.latent_dim)
        return u

    def fit(self, codes, seed=0, verbose=False):
        """Fit the flow to `codes` [N, latent_dim] by maximum likelihood; returns what the fit took."""
        variables = [v for network in self.made for v in network.variables]
        return fit_by_steps(lambda z, _: -self.distribution().log_prob(z), variables, self.standardize(codes), seed,
                            self.epochs, self.batch_size, self.learning_rate, self.patience, 0.1, "flow", verbose)

    def get_config(self):
        return {**super().get_config(), "layers": self.layers, "hidden_units": self.hidden_units,
                "epochs": self.epochs, "batch_size": self.batch_size, "learning_rate": self.learning_rate,
                "patience": self.patience}


def _maf_forward(shift_and_log_scale, u, passes):
    """y with y = u * exp(log_scale(y)) + shift(y), autoregressively: pass i fixes latent i."""
    def one_pass(step, y):
        shift, log_scale = shift_and_log_scale(y)
        return step + 1, u * tf.exp(log_scale) + shift

    _, y = tf.while_loop(lambda step, _: step < passes, one_pass, (tf.constant(0), tf.zeros_like(u)))
    return y


def _bounded(network):
    """The MADE's shift and log-scale, the log-scale softly bounded by `LOG_SCALE_BOUND`."""
    def shift_and_log_scale(x):
        shift, log_scale = tf.unstack(network(x), axis=-1)
        return shift, LOG_SCALE_BOUND * tf.tanh(log_scale / LOG_SCALE_BOUND)
    return shift_and_log_scale
