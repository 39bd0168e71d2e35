"""Latents in the Poincare ball of curvature -c, {z in R^d : |z| < 1/sqrt(c)}: the wrapped
normal posterior and prior of Mathieu et al. 2019 ("Continuous hierarchical representations
with Poincare variational auto-encoders"), written after their code (pvae's WrappedNormal).

A draw: u ~ N(0, diag(scale^2)) in orthonormal coordinates of the tangent space at the
origin, parallel transported to mu and mapped onto the ball by the exponential map at mu.
Its log density with respect to the ball's Riemannian volume is the Normal log density of
the pulled-back tangent vector minus (d - 1) log(sinh(sqrt(c) r) / (sqrt(c) r)), r the
geodesic distance from mu. There is no closed-form KL: the prior's `kl` is the Monte Carlo
estimate at the draws. float32 points are kept strictly inside the ball (`clip_to_ball`).
The decoder takes z as it is (the paper's gyroplane layer is not used).
"""

import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras as keras

from zoo.checks import check_number
from zoo.errors import ZooError
from zoo.layers.posteriors import MIN_STDDEV, POSTERIORS, Posterior
from zoo.layers.priors import PRIORS, Prior, unwrap

tfd = tfp.distributions
serializable = keras.saving.register_keras_serializable(package="zoo")

BALL_MARGIN = 1e-5  # |z| <= (1 - margin) / sqrt(c): float32 tells 1 - 1e-5 from 1
TINY = 1e-15


def _norm(x):
    return tf.sqrt(tf.maximum(tf.reduce_sum(x ** 2, axis=-1, keepdims=True), TINY))


def clip_to_ball(x, c):
    """x with its norm clipped to (1 - BALL_MARGIN) / sqrt(c): strictly inside the ball."""
    largest = (1.0 - BALL_MARGIN) / c ** 0.5
    return x * tf.minimum(1.0, largest / _norm(x))


def conformal_factor(x, c):
    """lambda_x = 2 / (1 - c |x|^2), [..., 1]."""
    return 2.0 / (1.0 - c * tf.reduce_sum(x ** 2, axis=-1, keepdims=True))


def mobius_add(x, y, c):
    """x (+)_c y, Moebius addition in the ball."""
    xy = tf.reduce_sum(x * y, axis=-1, keepdims=True)
    x2, y2 = tf.reduce_sum(x ** 2, axis=-1, keepdims=True), tf.reduce_sum(y ** 2, axis=-1, keepdims=True)
    denominator = tf.maximum(1 + 2 * c * xy + c ** 2 * x2 * y2, TINY)  # float32 cancels it to 0 near the rim
    return ((1 + 2 * c * xy + c * y2) * x + (1 - c * x2) * y) / denominator


def exp_map_origin(v, c):
    """exp_0(v): a Euclidean vector (ambient coordinates at 0) onto the ball."""
    norm = _norm(v)
    return clip_to_ball(tf.tanh(c ** 0.5 * norm) * v / (c ** 0.5 * norm), c)


def log_sinh_ratio(r):
    """log(sinh(r) / r), stable at 0 (~ r^2 / 6) and for large r (r + log1p(-e^{-2r}) - log 2r)."""
    safe = tf.maximum(r, 1e-3)
    large = safe + tf.math.log1p(-tf.exp(-2.0 * safe)) - tf.math.log(2.0 * safe)
    return tf.where(r < 1e-3, r ** 2 / 6.0, large)


class WrappedNormalOnBall(tfd.Distribution):
    """The wrapped normal on the Poincare ball: `loc` [..., d] inside the ball, `scale`
    [..., d] of the tangent Normal, `curvature` c > 0 (a Python float)."""

    def __init__(self, loc, scale, curvature=1.0, validate_args=False, allow_nan_stats=True,
                 name="WrappedNormalOnBall"):
        parameters = dict(locals())
        with tf.name_scope(name):
            self.loc = tf.convert_to_tensor(loc, dtype=tf.float32)
            self.scale = tf.convert_to_tensor(scale, dtype=tf.float32)
            self.curvature = float(curvature)
        super().__init__(dtype=tf.float32, reparameterization_type=tfd.FULLY_REPARAMETERIZED,
                         validate_args=validate_args, allow_nan_stats=allow_nan_stats,
                         parameters=parameters, name=name)

    @classmethod
    def _parameter_properties(cls, dtype, num_classes=None):
        return dict(loc=tfp.util.ParameterProperties(event_ndims=1),
                    scale=tfp.util.ParameterProperties(event_ndims=1))

    def _event_shape(self):
        return self.loc.shape[-1:]

    def _event_shape_tensor(self):
        return tf.shape(self.loc)[-1:]

    def _sample_n(self, n, seed=None):
        c = self.curvature
        shape = tf.concat([[n], tf.shape(self.loc + self.scale)], 0)
        u = self.scale * tf.random.stateless_normal(shape, tfp.random.sanitize_seed(seed))
        # u is in orthonormal coordinates at 0; the ambient vector there is u / lambda_0, and
        # parallel transport to mu multiplies it by lambda_0 / lambda_mu.
        loc = self.loc + tf.zeros_like(u)
        ambient = u / conformal_factor(loc, c)
        norm = _norm(ambient)
        step = tf.tanh(c ** 0.5 * conformal_factor(loc, c) * norm / 2.0) * ambient / (c ** 0.5 * norm)
        return clip_to_ball(mobius_add(loc, clip_to_ball(step, c), c), c)

    def tangent_vector(self, z):
        """The tangent vector at 0 (orthonormal coordinates) that maps to z: lambda_mu log_mu(z)."""
        c = self.curvature
        w = mobius_add(-self.loc, clip_to_ball(z, c), c)
        norm = _norm(w)
        return 2.0 / c ** 0.5 * tf.atanh(tf.minimum(c ** 0.5 * norm, 1.0 - BALL_MARGIN)) * w / norm

    def _log_prob(self, z):
        c = self.curvature
        u = self.tangent_vector(z)
        r = _norm(u)[..., 0]
        normal = tf.reduce_sum(tfd.Normal(0.0, self.scale).log_prob(u), axis=-1)
        dimension = tf.cast(tf.shape(u)[-1], u.dtype)
        return normal - (dimension - 1.0) * log_sinh_ratio(c ** 0.5 * r)

    def _mode(self):
        return self.loc + tf.zeros_like(self.scale)

    def _stddev(self):
        return self.scale + tf.zeros_like(self.loc)


@serializable
@POSTERIORS.register("poincare_wrapped_normal")
class PoincareWrappedNormal(Posterior):
    """q(z|x) = the wrapped normal on the Poincare ball of curvature -c: mu = exp_0(first d
    encoder outputs), scale = softplus(last d) + 1e-5 (as Mathieu et al.). Its prior is the
    wrapped normal at the origin; its codes are not Euclidean (no post-hoc samplers).

    Example:
        VAE(..., posterior=PoincareWrappedNormal(10, curvature=1.0),
            prior=PoincareWrappedNormalPrior(curvature=1.0))
    """

    prior_type = "poincare_wrapped_normal"
    euclidean = False

    def __init__(self, latent_dim, curvature=1.0, **kwargs):
        super().__init__(latent_dim, **kwargs)
        check_number("curvature", curvature, positive=True)
        self.curvature = curvature

    @property
    def params_size(self):
        return 2 * self.latent_dim

    def distribution(self, params):
        loc, raw_scale = tf.split(params, 2, axis=-1)
        return WrappedNormalOnBall(exp_map_origin(loc, self.curvature), tf.nn.softplus(raw_scale) + MIN_STDDEV,
                                   self.curvature)

    def code(self, q):
        """mu, the point the wrapped normal is centred on (its mode)."""
        return unwrap(q).mode()

    location = code

    def summary(self, q):
        return {"z_mean": unwrap(q).mode(), "z_stddev": unwrap(q).stddev()}

    def get_config(self):
        return {**super().get_config(), "curvature": self.curvature}


@serializable
@PRIORS.register("poincare_wrapped_normal")
class PoincareWrappedNormalPrior(Prior):
    """p(z) = the wrapped normal at the origin of the Poincare ball with tangent scale `scale`
    (Mathieu et al.: 1); its curvature must be the posterior's.

    Example:
        VAE(..., posterior=PoincareWrappedNormal(10), prior=PoincareWrappedNormalPrior())
    """

    posterior_type = "poincare_wrapped_normal"

    def __init__(self, curvature=1.0, scale=1.0, **kwargs):
        super().__init__(**kwargs)
        check_number("curvature", curvature, positive=True)
        check_number("scale", scale, positive=True)
        self.curvature, self.scale = curvature, scale

    def attach(self, posterior, image_shape=None, encode=None, condition_size=None):
        if getattr(posterior, "curvature", self.curvature) != self.curvature:
            raise ZooError(f"the prior's curvature {self.curvature} is not the posterior's {posterior.curvature}")
        super().attach(posterior, image_shape, encode, condition_size)

    def distribution(self):
        return WrappedNormalOnBall(tf.zeros([self.latent_dim]), tf.fill([self.latent_dim], float(self.scale)),
                                   self.curvature)

    def get_config(self):
        return {**super().get_config(), "curvature": self.curvature, "scale": self.scale}
