"""Flow posteriors: a diagonal Gaussian q0(z|x) pushed through invertible maps, so q(z|x) can
be skewed, curved and correlated while log q(z|x) stays exact (change of variables).

    z = f_K(... f_1(eps)),  eps ~ N(loc, scale^2)
    log q(z|x) = log N(eps; loc, scale^2) - sum_k log |det df_k/dz_{k-1}|

Which direction of a flow is cheap decides where it fits: an inverse autoregressive flow
draws z in one pass, and scores z in one pass only where it drew that z itself (the draws of
the objectives and of importance sampling); at any other z its density inverts the steps one
latent at a time, which is why a VampPrior (q at pseudo-inputs, scored at codes of other
inputs) refuses it (`one_pass_density`).
"""

import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras as keras

from zoo.checks import check_count
from zoo.layers.networks import check_activation, check_widths
from zoo.layers.posteriors import MIN_STDDEV, POSTERIORS, Posterior
from zoo.layers.priors import unwrap

tfd = tfp.distributions
tfb = tfp.bijectors
serializable = keras.saving.register_keras_serializable(package="zoo")


def _relu(t):
    return tf.maximum(t, 0.0)


def _elu(t):
    return tf.where(t > 0.0, t, tf.math.expm1(tf.minimum(t, 0.0)))


# A MADE with a context adds a masked Dense (MatMul + BiasAdd) and the context's Dense before
# its activation. TF 2.21's oneDNN remapper fuses MatMul + BiasAdd + Add + Relu/Elu into an op
# with an empty name: it logs "empty op name" errors and runs the whole function without its
# graph optimizations. The same functions written with other ops are not fused.
UNFUSED_ACTIVATIONS = {"relu": _relu, "elu": _elu}


class FlowPosterior(Posterior):
    """Base of the posteriors that push a diagonal Gaussian eps ~ q0(z|x) through a flow,
    `distribution(params)` a `tfd.TransformedDistribution`: q scores the codes it drew itself
    through TFP's bijector cache, so `draws` returns z drawn from q itself."""

    one_pass_density = False

    def draws(self, params, samples, seed=None, training=False, alg="auto_select"):
        """(q, `samples` draws z from that same q): q.log_prob(z) then finds each z's eps in the
        flow's bijector cache instead of inverting the flow. `alg` is TFP's choice here."""
        del training, alg  # q is the same distribution in training and inference
        q = self.inference(params)
        return q, q.sample(samples, seed=seed)

    def code(self, q):
        """The flow applied to the base mean, f(loc): deterministic and moving with x. Not the
        mean E_q[z] of the flow (which has no closed form)."""
        q = unwrap(q)
        return q.bijector.forward(q.distribution.mean())

    location = code

    def summary(self, q):
        """The code f(loc), and the base Gaussian's mean and standard deviation."""
        base = unwrap(q).distribution
        return {"z_code": self.code(q), "z_base_mean": base.mean(), "z_base_stddev": base.stddev()}


@serializable
@POSTERIORS.register("iaf")
class InverseAutoregressiveFlow(FlowPosterior):
    """q(z|x): a diagonal Gaussian followed by `steps` steps of inverse autoregressive flow
    (Kingma et al. 2016, "Improved variational inference with inverse autoregressive flow").

    The encoder outputs [loc, raw scale, h] (`params_size` = 2 * latent_dim + context_size):
    eps ~ N(loc, softplus(raw) + 1e-5), then each step k maps z to

        sigma * z + (1 - sigma) * m,   [m, s] = MADE_k(z, h),   sigma = sigmoid(s + 2)

    with MADE_k a `tfb.AutoregressiveNetwork` (output i sees z_1..z_{i-1} and the context h).
    This is the paper's gated, numerically stable form: sigma lies in (0, 1), and the +2 puts
    it near 0.88 at initialization, so every step starts close to the identity. The Jacobian
    of a step is triangular with diagonal sigma, so log q(z|x) = log N(eps; loc, scale^2) -
    sum_k sum_i log sigma_ki, exactly. The latents are reversed (`tfb.Permute`) between steps
    (and back after the last step when the steps are even, so z_i stays the i-th latent).

    Directions and cost: a step is `tfb.Invert(tfb.MaskedAutoregressiveFlow(...))`. Sampling
    is the MAF's inverse, one pass of each step's network (the network reads the step's
    input). log q(z|x) at z this q drew needs no inversion: TFP's bijector cache holds the
    eps each z came from (`draws` returns z drawn from q itself, and importance sampling
    samples and scores one q object), and the log-determinant costs one more pass per step.
    At any other z it is the MAF's forward, sequential: latent_dim + 1 passes per step.

    Args:
        latent_dim: number of latent variables.
        steps: flow steps (each one MADE).
        hidden_units: hidden layers of each step's MADE.
        context_size: length of the context h the encoder outputs for the flow; 0: the
            MADEs see z only.
        activation: nonlinearity of the MADEs' hidden layers (ELU in the paper).

    Example:
        posterior = InverseAutoregressiveFlow(40, steps=2)
        encoder = keras.Sequential([..., keras.layers.Dense(posterior.params_size)])  # 2 * 40 + 32
        VAE(encoder, posterior, decoder, Bernoulli())
    """

    GATE_BIAS = 2.0  # sigmoid(2) = 0.88: the paper's "positive bias" that starts each step near the identity

    def __init__(self, latent_dim, steps=2, hidden_units=(256, 256), context_size=32, activation="elu", **kwargs):
        super().__init__(latent_dim, **kwargs)
        check_count("steps", steps)
        check_count("context_size", context_size, minimum=0)
        self.steps, self.context_size, self.activation = steps, context_size, check_activation(activation)
        self.hidden_units = check_widths("hidden_units", hidden_units)
        conditional = {"conditional": True, "conditional_event_shape": [context_size]} if context_size else {}
        self.networks = [  # built in `build`: configs construct blocks only to check them
            tfb.AutoregressiveNetwork(params=2, event_shape=[latent_dim], hidden_units=list(self.hidden_units),
                                      activation=UNFUSED_ACTIVATIONS.get(activation, activation), dtype="float32",
                                      name=f"made_{index + 1}", **conditional)
            for index in range(steps)]

    def build(self, input_shape):
        """Make the MADEs' weights: the model's build calls this layer once, so saved weights
        load into them (in __init__ they would cost every config check 0.1 s per step)."""
        for network in self.networks:
            if not network.built:
                network.build((None, self.latent_dim))
        super().build(input_shape)

    @property
    def params_size(self):
        return 2 * self.latent_dim + self.context_size

    def distribution(self, params):
        loc, raw_scale, context = tf.split(params, [self.latent_dim, self.latent_dim, self.context_size], axis=-1)
        base = tfd.Independent(tfd.Normal(loc, tf.nn.softplus(raw_scale) + MIN_STDDEV), reinterpreted_batch_ndims=1)
        return tfd.TransformedDistribution(base, self.flow(context if self.context_size else None))

    def flow(self, context):
        """The bijector eps -> z at the context vectors `context` [B, context_size] (or None)."""
        reverse = tfb.Permute(list(range(self.latent_dim - 1, -1, -1)))
        bijectors = []
        for index, network in enumerate(self.networks):
            if index:
                bijectors.append(reverse)
            bijectors.append(tfb.Invert(tfb.MaskedAutoregressiveFlow(bijector_fn=self._gated_step(network, context))))
        if self.steps % 2 == 0:  # reversed back: z_i is the base's i-th latent moved, not its mirror
            bijectors.append(reverse)
        return tfb.Chain(bijectors[::-1])  # a Chain applies its last bijector first

    def _gated_step(self, network, context):
        """The MAF's `bijector_fn`: at y, the inverse of u -> sigma * u + (1 - sigma) * m, so that
        the inverted MAF (the IAF step) maps its input y to sigma * y + (1 - sigma) * m."""
        def bijector_fn(y):
            shift, gate = tf.unstack(self._made(network, y, context), axis=-1)
            gate += self.GATE_BIAS
            gated = tfb.Chain([tfb.Shift(tf.sigmoid(-gate) * shift), tfb.Scale(log_scale=tf.math.log_sigmoid(gate))])
            return tfb.Invert(gated)
        return bijector_fn

    def _made(self, network, z, context):
        """`network` at z [..., D] and the context [B, C], [..., D, 2]: both broadcast to one batch
        shape and flattened, as the MADE takes rank-2 inputs (z is [samples, B, D] when drawn)."""
        batch = tf.shape(z)[:-1]
        if context is not None:
            batch = tf.broadcast_dynamic_shape(batch, tf.shape(context)[:-1])
            context = tf.reshape(tf.broadcast_to(context, tf.concat([batch, [self.context_size]], 0)),
                                 [-1, self.context_size])
        flat = tf.reshape(tf.broadcast_to(z, tf.concat([batch, [self.latent_dim]], 0)), [-1, self.latent_dim])
        out = network(flat) if context is None else network(flat, conditional_input=context)
        out = tf.cast(out, tf.float32)  # under a mixed policy the MADE's Add and activations compute in 16 bits
        return tf.reshape(out, tf.concat([batch, [self.latent_dim, 2]], 0))

    def get_config(self):
        return {**super().get_config(), "steps": self.steps, "hidden_units": self.hidden_units,
                "context_size": self.context_size, "activation": self.activation}
