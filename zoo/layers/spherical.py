"""Latents on the unit sphere S^{d-1} in R^d (the hyperspherical VAE): the von Mises-Fisher
posterior (Davidson et al. 2018), the power spherical posterior (De Cao and Aziz 2020) and
the uniform prior on the sphere. `latent_dim` is d, the size of a code vector; |z| = 1.

Densities and KL terms are TFP's (`tfd.VonMisesFisher`, `tfd.PowerSpherical`,
`tfd.SphericalUniform`, whose KL(q || uniform) are registered in closed form). TFP's vMF
sampler is a `tf.while_loop` rejection sampler, whose gradient does not compile in XLA
("XLA compilation requires a fixed tensor list size"): `StatelessVonMisesFisher` draws the
same Wood (1994) proposals a fixed number at a time instead, so training compiles.
"""

import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras as keras

from zoo.layers.posteriors import POSTERIORS, Posterior
from zoo.layers.priors import PRIORS, Prior, unwrap

tfd = tfp.distributions
serializable = keras.saving.register_keras_serializable(package="zoo")

# Wood's proposals drawn at once per draw: each is accepted with probability >= 0.5 or so
# (measured in tests/test_manifold_latents.py), so all 16 fail about once in 1e5 draws; then
# the last proposal is kept (a bias far below the Monte Carlo noise).
WOOD_PROPOSALS = 16


def wood_cosines(concentration, dimension, sample_shape, seed, proposals=WOOD_PROPOSALS):
    """w = <z, mu> of vMF draws (Wood 1994), [*sample_shape]: `proposals` candidates from
    Beta((d-1)/2, (d-1)/2) mapped through kappa, the first accepted kept. Gradients reach
    kappa through the map (Davidson et al.'s g_rep; their correction term g_cor is left out,
    as TFP and De Cao's implementation leave it out)."""
    m = float(dimension - 1)
    beta_seed, uniform_seed = tfp.random.split_seed(seed, 2)
    b = m / (2.0 * concentration + tf.sqrt(4.0 * concentration ** 2 + m ** 2))
    x = (1.0 - b) / (1.0 + b)
    c = concentration * x + m * tf.math.log1p(-x ** 2)
    shape = tf.concat([[proposals], sample_shape], 0)
    # e ~ Beta(m/2, m/2) as (1 + t) / 2, t the first coordinate of a uniform direction in R^d:
    # normal draws only, which compile in XLA in a fraction of the time TFP's Gamma sampler takes.
    direction = tf.random.stateless_normal(tf.concat([shape, [dimension]], 0), seed=beta_seed)
    e = (1.0 + direction[..., 0] * tf.math.rsqrt(tf.reduce_sum(direction ** 2, axis=-1))) / 2.0
    w = (1.0 - (1.0 + b) * e) / (1.0 - (1.0 - b) * e)
    u = tf.random.stateless_uniform(shape, seed=uniform_seed)
    return first_accepted(w, concentration * w + m * tf.math.log1p(-x * w) - c >= tf.math.log1p(-u))


def marsaglia_tsang_gamma(concentration, sample_shape, seed, proposals=8):
    """Gamma(alpha, 1) draws for alpha >= 1 [*sample_shape] (Marsaglia and Tsang 2000): the
    first accepted of `proposals` candidates d (1 + x / sqrt(9 d))^3, d = alpha - 1/3, each
    accepted with probability > 0.95, so all 8 fail less than once in 1e10; gradients reach
    alpha through the map. TFP's Gamma sampler draws different numbers inside XLA, in a
    graph and eagerly, so an export would not serve the draws Python makes."""
    normal_seed, uniform_seed = tfp.random.split_seed(seed, 2)
    shape = tf.concat([[proposals], sample_shape], 0)
    x = tf.random.stateless_normal(shape, seed=normal_seed)
    u = tf.random.stateless_uniform(shape, seed=uniform_seed)
    d = concentration - 1.0 / 3.0
    v = (1.0 + x * tf.math.rsqrt(9.0 * d)) ** 3
    positive = v > 0
    safe_v = tf.where(positive, v, tf.ones_like(v))  # d * 1 is a valid fallback draw
    accepted = positive & (tf.math.log(u) < 0.5 * x ** 2 + d - d * safe_v + d * tf.math.log(safe_v))
    return first_accepted(d * safe_v, accepted)


def first_accepted(values, accepted):
    """values[k, ...] at the first k where accepted[k, ...] (the last k if none), differentiably."""
    accepted = tf.concat([accepted[:-1], tf.ones_like(accepted[-1:])], 0)
    first = tf.one_hot(tf.argmax(tf.cast(accepted, tf.int32), axis=0), tf.shape(values)[0], axis=0, dtype=values.dtype)
    return tf.reduce_sum(values * first, axis=0)


def householder_rotation(samples, mean_direction):
    """The reflection that maps e_1 to `mean_direction`, applied to `samples` [..., d]."""
    basis = tf.one_hot(0, tf.shape(mean_direction)[-1], dtype=mean_direction.dtype)
    u = tf.math.l2_normalize(basis - mean_direction, axis=-1)
    return tf.math.l2_normalize(samples - 2.0 * tf.reduce_sum(samples * u, -1, keepdims=True) * u, axis=-1)


def unit_direction(v):
    """v / |v| on the sphere for any v: also for |v| below float32's l2_normalize floor
    (1e-8 entries) and for v = 0 (then e_1)."""
    squared = tf.reduce_sum(v ** 2, axis=-1, keepdims=True)
    v = tf.where(squared > 1e-30, v, tf.one_hot(0, tf.shape(v)[-1], dtype=v.dtype))
    return v * tf.math.rsqrt(tf.reduce_sum(v ** 2, axis=-1, keepdims=True))


class _StatelessSphereDraws:
    """The draws both spherical distributions share: a cosine t to the mean direction and a
    uniform direction orthogonal to it (`_cosines_and_directions`, each from its own half of
    the seed), joined and rotated onto the mean direction by a Householder reflection."""

    def _sample_n(self, n, seed=None):
        first_seed, second_seed = tfp.random.split_seed(tfp.random.sanitize_seed(seed), 2)
        mean_direction = tf.convert_to_tensor(self.mean_direction)
        concentration = tf.convert_to_tensor(self.concentration)
        dimension = tf.compat.dimension_value(mean_direction.shape[-1])
        sample_shape = tf.concat([[n], self._batch_shape_tensor(mean_direction=mean_direction,
                                                                concentration=concentration)], 0)
        t, directions = self._cosines_and_directions(concentration, dimension, sample_shape, first_seed, second_seed)
        samples = tf.concat([t, tf.sqrt(tf.maximum(1.0 - t ** 2, 1e-12)) * directions], axis=-1)
        return householder_rotation(samples, mean_direction)


class StatelessVonMisesFisher(_StatelessSphereDraws, tfd.VonMisesFisher):
    """TFP's vMF (density, mean, entropy, KL) whose draws are `wood_cosines` rotated to the
    mean direction: stateless with a seed, and compiled with gradients in XLA."""

    def _cosines_and_directions(self, concentration, dimension, sample_shape, cosine_seed, direction_seed):
        w = wood_cosines(concentration, dimension, sample_shape, cosine_seed)[..., None]
        others = tf.math.l2_normalize(tf.random.stateless_normal(
            tf.concat([sample_shape, [dimension - 1]], 0), seed=direction_seed), axis=-1)
        return w, others


class StatelessPowerSpherical(_StatelessSphereDraws, tfd.PowerSpherical):
    """TFP's power spherical (density, mean, entropy, KL) drawing as De Cao and Aziz do, t = 2e - 1
    with e ~ Beta((d-1)/2 + kappa, (d-1)/2) as Gamma / (Gamma + Gamma), from `marsaglia_tsang_gamma`
    and the squared norm of the same d-1 normals whose direction completes the draw: the same
    numbers in Python, in XLA and in an export."""

    def _cosines_and_directions(self, concentration, dimension, sample_shape, gamma_seed, normal_seed):
        half = (dimension - 1) / 2.0
        g = tf.random.stateless_normal(tf.concat([sample_shape, [dimension - 1]], 0), seed=normal_seed)
        squared = tf.reduce_sum(g ** 2, axis=-1)
        gamma_a = marsaglia_tsang_gamma(tf.broadcast_to(concentration + half, sample_shape), sample_shape, gamma_seed)
        t = (2.0 * gamma_a / (gamma_a + squared / 2.0) - 1.0)[..., None]  # |g|^2 / 2 ~ Gamma((d-1)/2)
        return t, g * tf.math.rsqrt(squared)[..., None]


class SphericalPosterior(Posterior):
    """Base: q(z|x) on S^{d-1} with mean direction = the normalized first d encoder outputs
    and concentration kappa = softplus(last output) + 1 (Davidson et al.). Its prior is the
    uniform one on the sphere; its codes are not Euclidean (no post-hoc samplers)."""

    prior_type = "spherical_uniform"
    euclidean = False
    family = None

    @property
    def params_size(self):
        return self.latent_dim + 1

    def distribution(self, params):
        direction, raw_concentration = tf.split(params, [self.latent_dim, 1], axis=-1)
        return self.family(unit_direction(direction), tf.nn.softplus(raw_concentration[..., 0]) + 1.0)

    def code(self, q):
        """The mean direction, on the sphere (the mean of q lies inside the ball)."""
        return tf.convert_to_tensor(unwrap(q).mean_direction)

    location = code

    def summary(self, q):
        q = unwrap(q)
        return {"z_mean": tf.convert_to_tensor(q.mean_direction), "z_concentration": tf.convert_to_tensor(q.concentration)}


@serializable
@POSTERIORS.register("von_mises_fisher")
class VonMisesFisher(SphericalPosterior):
    """q(z|x) = vMF(mu, kappa) on S^{d-1} (Davidson et al. 2018, the hyperspherical VAE).

    Example:
        VAE(..., posterior=VonMisesFisher(10), prior=SphericalUniform())  # z in R^10, |z| = 1
    """

    family = StatelessVonMisesFisher


@serializable
@POSTERIORS.register("power_spherical")
class PowerSpherical(SphericalPosterior):
    """q(z|x) = PowerSpherical(mu, kappa) on S^{d-1} (De Cao and Aziz 2020): vMF's shape, its
    cosine <z, mu> one Beta draw (no Bessel functions, no kappa-dependent rejection step).

    Example:
        VAE(..., posterior=PowerSpherical(10), prior=SphericalUniform())
    """

    family = StatelessPowerSpherical


@serializable
@PRIORS.register("spherical_uniform")
class SphericalUniform(Prior):
    """p(z) uniform on S^{d-1}, d = the posterior's latent_dim; KL(q || p) is TFP's closed form.

    Example:
        VAE(..., posterior=PowerSpherical(10), prior=SphericalUniform())
    """

    posterior_type = ("von_mises_fisher", "power_spherical")

    def distribution(self):
        return tfd.SphericalUniform(self.latent_dim)
