"""The Riemannian Hamiltonian posterior (RHVAE: Chadebec, Mantoux and Allassonniere 2020,
"Geometry-aware Hamiltonian variational auto-encoder"): the HVAE's flow (hamiltonian.py) with
a learned metric on the latent space, so the momentum's scale varies with z:

    G(z)^-1 = sum_i L_i L_i^T exp(-|z - c_i|^2 / T^2) + lambda I
    H(z, v) = -log p(x, z) + 1/2 log det G(z) + 1/2 v^T G(z)^-1 v

z0 ~ q0(z|x), v0 ~ N(0, G(z0) / beta0), then K generalized leapfrog steps (their first
half-step and their z step are implicit, solved by `fixed_point_steps` fixed-point
iterations, as pythae's RHVAE), each followed by the HVAE's tempering. The steps preserve
volume when the iterations have converged, so

    log q(zK, vK | x) = log q0(z0|x) + log N(v0; 0, G(z0) / beta0) - (D/2) log beta0

and w = p(x, zK) N(vK; 0, G(zK)) / q(zK, vK | x) estimates p(x) as the HVAE's does.

Each image's L_i is a head of the encoder (its last D (D + 1) / 2 outputs, the diagonal
through exp), its centroid c_i the mean of q0(z|x_i). While training, the metric is the
batch's (pythae's choice): each image's flow uses the centroids and L_i of its batch. After
training, `fit_after_training` keeps the centroids and L_i of `centroids` training images
(a random subset, drawn with the run's seed) as weights; from then on inference (scoring,
importance sampling, the export) uses that fixed metric, so an image scored alone gets the
same metric as in a batch. Before that, inference uses the batch's metric too.
"""

import math

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras as keras

from zoo.checks import check_count, check_number
from zoo.errors import ConfigError
from zoo.layers.hamiltonian import HamiltonianPosterior, target_gradient
from zoo.layers.posteriors import POSTERIORS

serializable = keras.saving.register_keras_serializable(package="zoo")


def factor_size(latent_dim):
    """Entries of one lower-triangular L: D (D + 1) / 2."""
    return latent_dim * (latent_dim + 1) // 2


def metric_factors(raw):
    """Lower-triangular L [..., D, D] from raw entries [..., D (D + 1) / 2]: exp on the
    diagonal (positive, as pythae's metric network), the rest as they are."""
    lower = tfp.math.fill_triangular(raw)
    return tf.linalg.set_diag(lower, tf.exp(tf.linalg.diag_part(lower)))


class Metric:
    """G(z)^-1 = sum_i L_i L_i^T exp(-|z - c_i|^2 / T^2) + lambda I for centroids c [N, D] and
    factors L [N, D, D]."""

    def __init__(self, centroids, factors, temperature, regularization):
        self.centroids, self.temperature, self.regularization = centroids, temperature, regularization
        products = tf.matmul(factors, factors, transpose_b=True)  # L_i L_i^T [N, D, D]
        self.latent_dim = centroids.shape[-1]
        self.products = tf.reshape(products, [-1, self.latent_dim**2])

    def inverse(self, z):
        """G(z)^-1 [..., D, D] at z [..., D]; |z - c|^2 = |z|^2 - 2 z.c + |c|^2 (no [..., N, D] tensor)."""
        flat = tf.reshape(z, [-1, self.latent_dim])
        squared = (tf.reduce_sum(flat**2, -1, keepdims=True) - 2.0 * tf.matmul(flat, self.centroids, transpose_b=True)
                   + tf.reduce_sum(self.centroids**2, -1))
        weights = tf.exp(-tf.nn.relu(squared) / self.temperature**2)  # [P, N]
        inverse = tf.reshape(tf.matmul(weights, self.products), [-1, self.latent_dim, self.latent_dim])
        inverse += self.regularization * tf.eye(self.latent_dim, dtype=z.dtype)
        return tf.reshape(inverse, tf.concat([tf.shape(z), [self.latent_dim]], 0))


class ChosenMetric:
    """The stored metric when `fitted` (a 0-d boolean tensor), else the batch's: one `inverse`."""

    def __init__(self, fitted, stored, batch):
        self.fitted, self.stored, self.batch = fitted, stored, batch

    def inverse(self, z):
        return tf.cond(self.fitted, lambda: self.stored.inverse(z), lambda: self.batch.inverse(z))


def kinetic_energy(inverse_metric, v):
    """1/2 v^T G^-1 v + 1/2 log det G [...], from the Cholesky factor of G^-1."""
    cholesky = tf.linalg.cholesky(inverse_metric)
    projected = tf.linalg.matvec(cholesky, v, adjoint_a=True)  # C^T v: |C^T v|^2 = v^T G^-1 v
    log_det_inverse = 2.0 * tf.reduce_sum(tf.math.log(tf.linalg.diag_part(cholesky)), -1)
    return 0.5 * tf.reduce_sum(projected**2, -1) - 0.5 * log_det_inverse


class RiemannianDynamics:
    """H(z, v) = -target(z) + 1/2 log det G(z) + 1/2 v^T G(z)^-1 v, stepped by the generalized
    leapfrog (Girolami and Calderhead 2011), its implicit equations by fixed-point iterations:

        v' = v - eps/2 dH/dz(z, v')                                  (implicit in v')
        z' = z + eps/2 (G(z)^-1 v' + G(z')^-1 v')                    (implicit in z')
        v'' = v' - eps/2 dH/dz(z', v')

    -target's gradient does not depend on v, so each step takes one gradient of the target
    (carried to the next step, as the HVAE's leapfrog); the iterations differentiate only the
    metric. With G = I it is the HVAE's leapfrog exactly (`EuclideanDynamics`)."""

    def __init__(self, target, step_size, metric, fixed_point_steps):
        self.target, self.step_size, self.metric, self.fixed_point_steps = target, step_size, metric, fixed_point_steps

    def start(self, z):
        return target_gradient(self.target, z)

    def kinetic_gradient(self, z, v):
        """d/dz [1/2 log det G(z) + 1/2 v^T G(z)^-1 v] at (z, v)."""
        with tf.GradientTape() as tape:
            tape.watch(z)
            energy = tf.reduce_sum(kinetic_energy(self.metric.inverse(z), v))
        return tape.gradient(energy, z)

    def step(self, z, v, gradient):
        half = 0.5 * self.step_size
        v_half = v
        for _ in range(self.fixed_point_steps):
            v_half = v - half * (self.kinetic_gradient(z, v_half) - gradient)
        velocity = tf.linalg.matvec(self.metric.inverse(z), v_half)
        z_next = z
        for _ in range(self.fixed_point_steps):
            z_next = z + half * (velocity + tf.linalg.matvec(self.metric.inverse(z_next), v_half))
        gradient = target_gradient(self.target, z_next)
        return z_next, v_half - half * (self.kinetic_gradient(z_next, v_half) - gradient), gradient

    def momentum(self, z, gamma, beta0):
        """v0 ~ N(0, G(z) / beta0) from gamma ~ N(0, I): C^-T gamma / sqrt(beta0), C C^T = G(z)^-1."""
        cholesky = tf.linalg.cholesky(self.metric.inverse(z))
        solved = tf.linalg.triangular_solve(cholesky, gamma[..., None], lower=True, adjoint=True)[..., 0]
        return solved / tf.sqrt(beta0)

    def momentum_log_prob(self, z, v, beta=1.0):
        """log N(v; 0, G(z) / beta) [...]."""
        dimension = v.shape[-1]
        scaled = kinetic_energy(self.metric.inverse(z), tf.sqrt(beta) * v)  # 1/2 beta v^T G^-1 v + 1/2 log det G
        return -scaled + 0.5 * dimension * tf.math.log(beta) - 0.5 * dimension * math.log(2.0 * math.pi)


@serializable
@POSTERIORS.register("riemannian_hamiltonian")
class RiemannianHamiltonianPosterior(HamiltonianPosterior):
    """q(z|x): a diagonal Gaussian q0(z|x) followed by `leapfrog_steps` tempered generalized
    leapfrog steps on log p(x, z) under a learned metric G(z) (RHVAE, Chadebec et al. 2020).

    Args:
        latent_dim: number of latent variables.
        leapfrog_steps, step_size, beta0, learn_step_size, learn_beta0: as the HVAE's
            (`HamiltonianPosterior`); pythae's RHVAE keeps eps and beta0 fixed, so here they are
            not learned by default.
        temperature: T of the metric's kernel exp(-|z - c|^2 / T^2).
        regularization: lambda, the metric's floor lambda I.
        fixed_point_steps: iterations that solve each implicit half-step (pythae: 3).
        centroids: how many training images' centroids and L_i `fit_after_training` keeps.

    Example:
        posterior = RiemannianHamiltonianPosterior(20, leapfrog_steps=3)
        VAE(encoder, posterior, decoder, Bernoulli())  # encoder ends in Dense(posterior.params_size)
    """

    fits_after_training = True

    def __init__(self, latent_dim, leapfrog_steps=3, step_size=0.001, beta0=0.3, learn_step_size=False,
                 learn_beta0=False, temperature=0.8, regularization=0.01, fixed_point_steps=3, centroids=1000,
                 **kwargs):
        super().__init__(latent_dim, leapfrog_steps=leapfrog_steps, step_size=step_size, beta0=beta0,
                         learn_step_size=learn_step_size, learn_beta0=learn_beta0, **kwargs)
        check_number("temperature", temperature, positive=True)
        check_number("regularization", regularization, positive=True)
        check_count("fixed_point_steps", fixed_point_steps)
        check_count("centroids", centroids)
        self.temperature, self.regularization = float(temperature), float(regularization)
        self.fixed_point_steps, self.centroids = fixed_point_steps, centroids
        self.kept_centroids = self.add_weight(name="metric_centroids", shape=(centroids, latent_dim),
                                              trainable=False, initializer="zeros")
        self.kept_factors = self.add_weight(name="metric_factors", shape=(centroids, factor_size(latent_dim)),
                                            trainable=False, initializer="zeros")
        self.metric_fitted = self.add_weight(name="metric_fitted", shape=(), trainable=False, initializer="zeros")

    @property
    def params_size(self):
        """loc and raw scale of q0, then the image's raw L entries."""
        return 2 * self.latent_dim + factor_size(self.latent_dim)

    def batch_metric(self, params):
        """The metric of the batch: its q0 means as centroids and its L_i."""
        return Metric(params[..., :self.latent_dim], metric_factors(params[..., 2 * self.latent_dim:]),
                      self.temperature, self.regularization)

    def stored_metric(self):
        """The metric of the training images `fit_after_training` kept."""
        return Metric(tf.convert_to_tensor(self.kept_centroids), metric_factors(self.kept_factors),
                      self.temperature, self.regularization)

    def dynamics(self, params, target, training=False):
        batch = self.batch_metric(params)
        metric = batch if training else ChosenMetric(self.metric_fitted > 0.5, self.stored_metric(), batch)
        return RiemannianDynamics(target, self.step_size(), metric, self.fixed_point_steps)

    def fit_after_training(self, encode, images, seed=0, batch_size=1000):
        """Keep the centroids and L_i of `centroids` training images (chosen with `seed`), from
        `encode` (images -> the encoder's params): inference uses that metric from then on."""
        if len(images) < self.centroids:
            raise ConfigError("centroids", self.centroids, f"at most {len(images)}, the training images given")
        chosen = np.sort(np.random.default_rng(seed).choice(len(images), self.centroids, replace=False))
        params = np.concatenate([np.asarray(encode(images[chosen[i:i + batch_size]]))
                                 for i in range(0, len(chosen), batch_size)])
        self.kept_centroids.assign(params[:, :self.latent_dim])
        self.kept_factors.assign(params[:, 2 * self.latent_dim:])
        self.metric_fitted.assign(1.0)
        return {"centroids": self.centroids, "of_images": len(images), "seed": seed}

    def get_config(self):
        return {**super().get_config(), "temperature": self.temperature, "regularization": self.regularization,
                "fixed_point_steps": self.fixed_point_steps, "centroids": self.centroids}
