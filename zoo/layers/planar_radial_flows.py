"""Planar and radial flow posteriors (Rezende and Mohamed 2015, "Variational inference with
normalizing flows"; pythae's VAE_LinNF): a diagonal Gaussian q0(z|x) pushed through K maps

    planar  f(z) = z + u_hat tanh(w.z + b)
    radial  f(z) = z + beta (z - z0) / (alpha + |z - z0|)

each with its log-determinant in closed form, so log q(z|x) = log q0(eps) - sum_k log|det df_k|.

Neither map has a closed-form inverse: like the IAF (`zoo.layers.flows`) these posteriors
score only codes they drew themselves (`draws`; TFP's bijector cache holds the eps each z came
from), so `one_pass_density` is False and a VampPrior refuses them. The bijectors define
`forward` and `forward_log_det_jacobian` and no `inverse`: log q at any other code raises.

One posterior, "normalizing_flow", takes the list of its layers' kinds, as pythae's
VAE_LinNF does (flows=["Planar", "Radial", ...]): ("planar",) * 10 is the paper's planar flow
of length 10, and the kinds mix.

Amortized, as the paper: the encoder outputs each layer's (u, w, b) or (z0, alpha, beta) per
image beside the base's loc and scale. pythae learns one global set of flow parameters
instead; per-image parameters let the flow bend differently for each x (what a posterior flow
is for) at the cost of a wider last encoder layer (2 D + 1 or D + 2 numbers per layer).
"""

import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras as keras

from zoo.checks import check_choice
from zoo.errors import ConfigError, ZooError
from zoo.layers.flows import FlowPosterior
from zoo.layers.posteriors import MIN_STDDEV, POSTERIORS

tfd = tfp.distributions
tfb = tfp.bijectors
serializable = keras.saving.register_keras_serializable(package="zoo")
TINY_SQUARE = 1e-20  # |z - z0|^2 floor: the radius's gradient stays finite at z = z0


def planar_u_hat(u, w):
    """u_hat = u + (m(w.u) - w.u) w / |w|^2, m(a) = -1 + softplus(a): w.u_hat = m(w.u) > -1,
    the paper's condition (appendix A) for the planar map to be invertible."""
    wu = tf.reduce_sum(w * u, -1, keepdims=True)
    return u + (tf.nn.softplus(wu) - 1.0 - wu) * w / tf.reduce_sum(w * w, -1, keepdims=True)


def planar(z, u, w, b):
    """f(z) = z + u_hat tanh(w.z + b) and log|det df/dz| = log|1 + (1 - tanh^2) w.u_hat| for z
    [..., D] (u, w [..., D], b [...]). With w.u_hat = m(w.u) the determinant is
    tanh^2 + (1 - tanh^2) softplus(w.u), a sum of non-negative terms: no cancellation near 0."""
    h = tf.tanh(tf.reduce_sum(w * z, -1) + b)
    softplus_wu = tf.nn.softplus(tf.reduce_sum(w * u, -1))
    log_det = tf.math.log(h * h + (1.0 - h * h) * softplus_wu)
    return z + planar_u_hat(u, w) * h[..., None], log_det


def radial_beta(alpha, beta_raw):
    """beta = -alpha + softplus(beta_raw) >= -alpha: the paper's condition for the radial map
    to be invertible."""
    return -alpha + tf.nn.softplus(beta_raw)


def radial(z, z0, alpha, beta_raw):
    """f(z) = z + beta h (z - z0), h = 1 / (alpha + r), r = |z - z0|, and log|det df/dz| =
    (D - 1) log(1 + beta h) + log(1 + beta h + beta h' r) for z [..., D] (z0 [..., D], alpha > 0
    and beta_raw [...]). Written with s = softplus(beta_raw) = alpha + beta > 0:
    1 + beta h = (r + s) / (alpha + r) and 1 + beta h + beta h' r = (r (r + 2 alpha) + alpha s) /
    (alpha + r)^2, both ratios of positive terms."""
    offset = z - z0
    r = tf.sqrt(tf.maximum(tf.reduce_sum(offset * offset, -1), TINY_SQUARE))
    s = tf.nn.softplus(beta_raw)
    beta = s - alpha
    dims = tf.cast(tf.shape(z)[-1], z.dtype)
    log_det = ((dims - 1.0) * (tf.math.log(r + s) - tf.math.log(alpha + r))
               + tf.math.log(r * (r + 2.0 * alpha) + alpha * s) - 2.0 * tf.math.log(alpha + r))
    return z + (beta / (alpha + r))[..., None] * offset, log_det


class _ForwardOnly(tfb.Bijector):
    """A bijector of one vector event given by `step(z, *parameters) -> (f(z), log|det|)`,
    without an inverse: TFP's cache inverts the codes it made."""

    step = None  # a subclass's map

    def __init__(self, parameters, name):
        self._arguments = list(parameters.values())
        super().__init__(forward_min_event_ndims=1, parameters=parameters, name=name,
                         dtype=self._arguments[0].dtype)

    def _inverse(self, y):
        raise ZooError(f"the {self.name} map has no closed-form inverse: its posterior scores only the codes it drew "
                       "(posterior.draws), not other codes")

    def _forward(self, z):
        return type(self).step(z, *self._arguments)[0]

    def _forward_log_det_jacobian(self, z):
        return type(self).step(z, *self._arguments)[1]


class PlanarBijector(_ForwardOnly):
    """One planar map at parameters u, w [..., D] and b [...]."""

    step = staticmethod(planar)

    def __init__(self, u, w, b, name="planar"):
        super().__init__({"u": u, "w": w, "b": b}, name)

    @classmethod
    def _parameter_properties(cls, dtype, num_classes=None):
        vector, scalar = tfp.util.ParameterProperties(event_ndims=1), tfp.util.ParameterProperties(event_ndims=0)
        return {"u": vector, "w": vector, "b": scalar}

    @staticmethod
    def params_size(latent_dim):
        return 2 * latent_dim + 1

    @classmethod
    def from_params(cls, params, latent_dim):
        """The map at the encoder's [u, w, b] [..., 2 D + 1]."""
        u, w, b = tf.split(params, [latent_dim, latent_dim, 1], axis=-1)
        return cls(u, w, b[..., 0])


class RadialBijector(_ForwardOnly):
    """One radial map at parameters z0 [..., D], alpha > 0 and beta_raw [...]."""

    step = staticmethod(radial)

    def __init__(self, z0, alpha, beta_raw, name="radial"):
        super().__init__({"z0": z0, "alpha": alpha, "beta_raw": beta_raw}, name)

    @classmethod
    def _parameter_properties(cls, dtype, num_classes=None):
        vector, scalar = tfp.util.ParameterProperties(event_ndims=1), tfp.util.ParameterProperties(event_ndims=0)
        return {"z0": vector, "alpha": scalar, "beta_raw": scalar}

    @staticmethod
    def params_size(latent_dim):
        return latent_dim + 2

    @classmethod
    def from_params(cls, params, latent_dim):
        """The map at the encoder's [z0, alpha_raw, beta_raw] [..., D + 2], alpha = softplus(alpha_raw)."""
        z0, alpha_raw, beta_raw = tf.split(params, [latent_dim, 1, 1], axis=-1)
        return cls(z0, tf.nn.softplus(alpha_raw[..., 0]), beta_raw[..., 0])


FLOW_LAYERS = {"planar": PlanarBijector, "radial": RadialBijector}


@serializable
@POSTERIORS.register("normalizing_flow")
class NormalizingFlow(FlowPosterior):
    """q(z|x): N(loc, scale^2) pushed through planar and radial layers whose parameters the
    encoder outputs per image (Rezende and Mohamed 2015, section 4.1).

    params = [loc, raw scale, layer 1's, ..., layer K's], planar [u, w, b] (2 D + 1), radial
    [z0, alpha_raw, beta_raw] (D + 2). Each layer is made invertible as the paper's appendix A says (planar
    w.u_hat > -1, radial beta >= -alpha), and log q(z|x) = log N(eps; loc, scale^2) - sum_k
    log|det df_k| with the paper's closed forms.

    Cost: a draw and its log q take K passes of a few vector operations each (no network);
    log q at a code q did not draw is not available (no inverse).

    Args:
        latent_dim: number of latent variables D.
        flows: the layers' kinds, first applied first: "planar" or "radial" each (the paper's
            planar flows have K = 10 to 80 layers).

    Example:
        posterior = NormalizingFlow(20, flows=("planar",) * 10)
        encoder = keras.Sequential([..., keras.layers.Dense(posterior.params_size)])  # 40 + 10 * 41
    """

    def __init__(self, latent_dim, flows=("planar",) * 10, **kwargs):
        super().__init__(latent_dim, **kwargs)
        if isinstance(flows, str) or not flows:
            raise ConfigError("flows", flows, f"a non-empty list of layer kinds ({', '.join(FLOW_LAYERS)})")
        for kind in flows:
            check_choice("flows", kind, list(FLOW_LAYERS))
        self.flows = tuple(flows)

    @property
    def params_size(self):
        return 2 * self.latent_dim + sum(FLOW_LAYERS[kind].params_size(self.latent_dim) for kind in self.flows)

    def distribution(self, params):
        params = tf.cast(params, tf.float32)
        sizes = [FLOW_LAYERS[kind].params_size(self.latent_dim) for kind in self.flows]
        loc, raw_scale, *per_layer = tf.split(params, [self.latent_dim, self.latent_dim, *sizes], axis=-1)
        base = tfd.Independent(tfd.Normal(loc, tf.nn.softplus(raw_scale) + MIN_STDDEV), reinterpreted_batch_ndims=1)
        layers = [FLOW_LAYERS[kind].from_params(p, self.latent_dim) for kind, p in zip(self.flows, per_layer)]
        return tfd.TransformedDistribution(base, tfb.Chain(layers[::-1]))  # a Chain applies its last bijector first

    def get_config(self):
        return {**super().get_config(), "flows": list(self.flows)}
