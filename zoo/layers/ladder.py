"""Hierarchical latents: a ladder of Gaussian layers z_L -> ... -> z_1 (Sønderby et al. 2016).

The generative path is top-down: p(z_L) from any prior block (N(0, I), a mixture, the
VampPrior), then p(z_l | z_{l+1}) = N(mu_l(z_{l+1}), sigma_l(z_{l+1})) from small MLPs, then
p(x | z_1, ..., z_L): the decoder sees every layer's code, as in the two-layer VampPrior
HVAE of Tomczak & Welling (2018). The inference path shares that top-down computation
(LVAE): the encoder gives a bottom-up Gaussian estimate for every layer, and
q(z_l | x, z_{l+1}) is its precision-weighted product with p(z_l | z_{l+1}); q(z_L | x) is the
top's bottom-up estimate alone.

A code is the layers' codes concatenated, bottom first, [z_1, ..., z_L]: the decoder, the
exports and the importance-sampled log p(x) see one vector, and both q(z|x) and p(z) are TFP
distributions over it (`TopDownNormal`), so the objectives are the same as for one layer.

    VAE(encoder, Ladder(latent_dim=40, layers=2), decoder, Bernoulli(), prior=TopDown(VampPrior(500)))
"""

import types

import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras as keras

from zoo.checks import check_count
from zoo.errors import ZooError
from zoo.layers.networks import check_activation, check_widths
from zoo.layers.posteriors import MIN_STDDEV, POSTERIORS, Posterior, stateless_normal_draw
from zoo.layers.priors import PRIORS, Prior, unwrap

tfd = tfp.distributions
serializable = keras.saving.register_keras_serializable(package="zoo")


class TopDownNormal(tfd.Distribution):
    """A distribution over [z_1, ..., z_L] (concatenated, `latent_dim` each) drawn top-down:
    z_L ~ `top`, then z_l ~ `layer(l, z_{l+1})` (0-based l, an Independent Normal) down to z_1.

    `log_prob` sums the layers' log-densities, each given the code above it: one pass, at any
    code. Mean and standard deviation have no closed form below the top; `mean_path` (each
    layer's mean given the mean above it) stands in for a code.
    """

    def __init__(self, top, layer, layers, latent_dim, name="TopDownNormal"):
        parameters = dict(locals())
        self._top, self._layer, self._layers, self._latent_dim = top, layer, layers, latent_dim
        self._drawn = None  # (the last codes `draw` made, the layer distributions it made them from)
        super().__init__(dtype=tf.float32, reparameterization_type=tfd.FULLY_REPARAMETERIZED,
                         validate_args=False, allow_nan_stats=True, parameters=parameters, name=name)

    @property
    def top(self):
        """The distribution of the top layer's code z_L."""
        return self._top

    def layer(self, index, parent):
        """The distribution of layer `index`'s code (0: z_1) given the code above it."""
        return self._layer(index, parent)

    def _batch_shape(self):
        return self._top.batch_shape

    def _batch_shape_tensor(self):
        return self._top.batch_shape_tensor()

    def _event_shape(self):
        return tf.TensorShape([self._layers * self._latent_dim])

    def _event_shape_tensor(self):
        return tf.constant([self._layers * self._latent_dim], tf.int32)

    def codes(self, z):
        """[z_1, ..., z_L] of joint codes z [..., L * latent_dim]."""
        return tf.split(z, self._layers, axis=-1)

    def _sample_n(self, n, seed=None):
        return self.draw(n, seed)

    def draw(self, n, seed=None, alg="auto_select"):
        """`n` codes drawn top-down, [n, *batch, L * latent_dim]: what `sample` gives. With a
        stateless `seed`, Normal layers draw loc + scale * eps with eps from `alg` ("threefry"
        is fast inside XLA on CPU; "auto_select" gives `sample`'s own numbers)."""
        seeds = tfp.random.split_seed(seed, n=self._layers)
        z = _normal_draw(self._top, n, seeds[0], alg)
        codes, layers = [z], []
        for index in reversed(range(self._layers - 1)):
            layers.insert(0, self._layer(index, z))
            z = _normal_draw(layers[0], None, seeds[self._layers - 1 - index], alg)
            codes.insert(0, z)
        z = tf.concat(codes, axis=-1)
        self._drawn = (z, layers)
        return z

    def layers_at(self, z):
        """The distributions of z_1 .. z_{L-1}, each given the code above it in z: for codes
        this object drew, those the draw used (no second pass through the top-down networks,
        whose backward pass would then run once per use)."""
        if self._drawn is not None and self._drawn[0] is z:
            return self._drawn[1]
        codes = self.codes(z)
        return [self._layer(index, codes[index + 1]) for index in range(self._layers - 1)]

    def layer_log_probs(self, z):
        """log-density of each layer's code given the one above, bottom first: L tensors."""
        codes = self.codes(z)
        return ([layer.log_prob(code) for layer, code in zip(self.layers_at(z), codes)]
                + [self._top.log_prob(codes[-1])])

    def _log_prob(self, z):
        return tf.add_n(self.layer_log_probs(z))

    def mean_path(self):
        """The top's mean, then each layer's mean given the mean above it, concatenated."""
        z = self._top.mean()
        codes = [z]
        for index in reversed(range(self._layers - 1)):
            z = self._layer(index, z).mean()
            codes.insert(0, z)
        return tf.concat(codes, axis=-1)

    def stddev_path(self):
        """Each layer's standard deviation along `mean_path` (given the mean above it)."""
        codes = self.codes(self.mean_path())
        return tf.concat([self._layer(index, codes[index + 1]).stddev() for index in range(self._layers - 1)]
                         + [self._top.stddev()], axis=-1)


def _normal_draw(dist, n, seed, alg):
    """dist.sample(n, seed) (n=None: one draw per batch member); for an Independent Normal
    and a seed pair tensor, as `stateless_normal_draw` (eps drawn by `alg`)."""
    normal = getattr(dist, "distribution", None)
    if not isinstance(normal, tfd.Normal) or seed is None or isinstance(seed, int):
        return dist.sample(seed=seed) if n is None else dist.sample(n, seed=seed)
    return stateless_normal_draw(normal, n, seed, alg)


@serializable
@POSTERIORS.register("ladder")
class Ladder(Posterior):
    """q(z|x) over `layers` stochastic layers of `latent_dim` Gaussian latents each, with the
    top-down networks of p(z_l | z_{l+1}) it shares with the prior (`TopDown`).

    The encoder outputs a bottom-up (loc, raw scale) for every layer, bottom first
    (`params_size` = 2 * latent_dim * layers); the code is [z_1, ..., z_L] (`code_shape`).

    Args:
        latent_dim: latents per layer.
        layers: stochastic layers (>= 2).
        hidden_units: hidden layers of each top-down MLP z_{l+1} -> (mu_l, sigma_l).
        activation: their nonlinearity.

    Example:
        VAE(encoder, Ladder(40, layers=2), decoder, Bernoulli(), prior=TopDown("vamp"))
    """

    prior_type = "top_down"  # its p(z) is the top-down path; the chosen prior goes on top
    prior_note = ', with the prior of your choice on top: {"type": "top_down", "top": "vamp"}'

    def __init__(self, latent_dim, layers=2, hidden_units=(300,), activation="tanh", **kwargs):
        super().__init__(latent_dim, **kwargs)
        check_count("layers", layers, minimum=2)
        self.stochastic_layers = layers
        self.hidden_units = check_widths("hidden_units", hidden_units)
        self.activation = check_activation(activation)
        self.top_down = [  # made here with their input shape, so saved weights load before any call
            keras.Sequential([keras.Input((latent_dim,)),
                              *[keras.layers.Dense(u, activation, dtype="float32") for u in self.hidden_units],
                              keras.layers.Dense(2 * latent_dim, dtype="float32")], name=f"top_down_{index + 1}")
            for index in range(layers - 1)]

    @property
    def params_size(self):
        return 2 * self.latent_dim * self.stochastic_layers

    @property
    def code_shape(self):
        return (self.latent_dim * self.stochastic_layers,)

    @property
    def layer_names(self):
        """z1 (next to x) .. zL: the names of the per-layer KL terms."""
        return tuple(f"z{index + 1}" for index in range(self.stochastic_layers))

    def top_down_normal(self, index, parent):
        """p(z_l | z_{l+1}) for layer `index` (0: z_1) at codes `parent` [..., latent_dim]."""
        flat = tf.reshape(parent, [-1, self.latent_dim])
        params = tf.reshape(self.top_down[index](flat), tf.concat([tf.shape(parent)[:-1], [2 * self.latent_dim]], 0))
        loc, raw_scale = tf.split(params, 2, axis=-1)
        return tfd.Independent(tfd.Normal(loc, tf.nn.softplus(raw_scale) + MIN_STDDEV), reinterpreted_batch_ndims=1)

    def prior_given_top(self, top):
        """p(z) over the joint code with `top` (a distribution over z_L) on top."""
        return TopDownNormal(top, self.top_down_normal, self.stochastic_layers, self.latent_dim, name="TopDownPrior")

    def distribution(self, params):
        estimates = tf.split(params, 2 * self.stochastic_layers, axis=-1)  # loc_1, raw_1, ..., loc_L, raw_L
        locs = estimates[0::2]
        scales = [tf.nn.softplus(raw) + MIN_STDDEV for raw in estimates[1::2]]

        def layer(index, parent):  # the bottom-up estimate times the top-down prior, renormalized
            top_down = self.top_down_normal(index, parent)
            prior = top_down.distribution
            precision_q, precision_p = scales[index] ** -2, prior.scale ** -2
            variance = 1.0 / (precision_q + precision_p)
            loc = (locs[index] * precision_q + prior.loc * precision_p) * variance
            merged = tfd.Independent(tfd.Normal(loc, tf.sqrt(variance)), reinterpreted_batch_ndims=1)
            merged.top_down_prior = top_down  # p(z_l | z_{l+1}), for the KL
            return merged

        top = tfd.Independent(tfd.Normal(locs[-1], scales[-1]), reinterpreted_batch_ndims=1)
        return TopDownNormal(top, layer, self.stochastic_layers, self.latent_dim, name="Ladder")

    def sample(self, params, samples, seed=None, training=False, alg="auto_select"):
        """Top-down draws; with `seed`, as `TopDownNormal.draw` with `alg` (the numbers of
        `sample` for "auto_select"), like `DiagonalNormal.sample`."""
        if seed is None:
            return super().sample(params, samples, seed, training)
        return self.distribution(params).draw(samples, seed, alg)

    def draws(self, params, samples, seed=None, training=False, alg="auto_select"):
        """q and draws from that same q, so that log q(z|x) and log p(z) at them reuse the
        draw's top-down pass (`TopDownNormal.layers_at`)."""
        q = self.inference(params)
        return q, q.draw(samples, seed, alg)

    def code(self, q):
        """Each layer's posterior mean given the mean above it (`TopDownNormal.mean_path`)."""
        return unwrap(q).mean_path()

    location = code

    def summary(self, q):
        q = unwrap(q)
        return {"z_code": q.mean_path(), "z_stddev": q.stddev_path()}

    def get_config(self):
        return {**super().get_config(), "layers": self.stochastic_layers, "hidden_units": self.hidden_units,
                "activation": self.activation}


@serializable
@PRIORS.register("top_down")
class TopDown(Prior):
    """p(z) of a `Ladder` posterior: p(z_L) from `top`, then p(z_l | z_{l+1}) from the ladder's
    top-down networks. The KL is the Monte Carlo estimate log q(z|x) - log p(z) at the draws
    that the reconstruction term uses, layer by layer (`kl_per_layer`).

    Args:
        top: the prior of the top layer: a Prior, a type name ("standard_normal", "mixture",
            "vamp") or a config dict ({"type": "vamp", "components": 500}).

    Example:
        VAE(encoder, Ladder(40), decoder, Bernoulli(), prior=TopDown(VampPrior(components=500)))
    """

    posterior_type = "ladder"

    def __init__(self, top="standard_normal", **kwargs):
        super().__init__(**kwargs)
        self.top = _prior(top)
        self._ladder = []  # a list: the VAE owns and saves the ladder (its posterior)

    def attach(self, posterior, image_shape=None, encode=None, condition_size=None):
        super().attach(posterior, image_shape, encode, condition_size)
        self._ladder[:] = [posterior]
        top_layer = types.SimpleNamespace(continuous=True, code_shape=(posterior.latent_dim,), one_pass_density=True)
        self.top.attach(top_layer, image_shape, None if encode is None else (lambda x: unwrap(encode(x)).top),
                        condition_size)

    @property
    def ladder(self):
        if not self._ladder:
            raise ZooError("this TopDown prior is not attached to a model: pass it to zoo.VAE with a Ladder posterior")
        return self._ladder[0]

    def distribution(self):
        return self.ladder.prior_given_top(self.top.distribution())

    def kl(self, q, z):
        return tf.reduce_sum(self.kl_per_layer(q, z), axis=-1)

    def kl_per_layer(self, q, z):
        """[B, L]: the Monte Carlo KL of each layer (bottom first), given the code above it."""
        return tf.reduce_mean(self.log_ratio_per_layer(q, z), axis=0)

    def log_ratio_per_layer(self, q, z):
        """log q - log p per layer; p(z_l|z_{l+1}) is the one q(z_l|x, z_{l+1}) merged with, so the
        top-down networks run once per layer (none at codes q drew itself)."""
        q = unwrap(q)
        codes = q.codes(z)
        ratios = [layer.log_prob(code) - layer.top_down_prior.log_prob(code)
                  for layer, code in zip(q.layers_at(z), codes)]
        ratios.append(q.top.log_prob(codes[-1]) - self.top.distribution().log_prob(codes[-1]))
        return tf.stack(ratios, axis=-1)

    def get_config(self):
        return {**super().get_config(), "top": keras.saving.serialize_keras_object(self.top)}


def _prior(top):
    """The top layer's prior from a Prior, a type name or a config dict (or its saved form)."""
    if isinstance(top, Prior):
        if isinstance(top, TopDown) or top.conditional or not top.continuous:
            raise ZooError(f"TopDown's top must be an unconditional prior of continuous codes, not {type(top).__name__}")
        return top
    if isinstance(top, dict) and "class_name" in top:
        return _prior(keras.saving.deserialize_keras_object(top))
    return _prior(PRIORS.make(top, "prior.top"))
