"""A linear-Gaussian model, x = W z + B + sigma * noise with z ~ N(0, I) on 2x2 images, whose
log p(x) is known in closed form: the exact reference of the importance-sampling and the
inference-gap tests (each picks its own W)."""

import numpy as np
import tensorflow_probability as tfp


def exact_log_px(x, W, B, sigma):
    """log N(x; B, W W^T + sigma^2 I) of each image x [N, 2, 2, 1]."""
    covariance = (W @ W.T + sigma**2 * np.eye(4)).astype(np.float32)
    marginal = tfp.distributions.MultivariateNormalTriL(B, np.linalg.cholesky(covariance))
    return marginal.log_prob(x.reshape(len(x), 4)).numpy()


def images(n, B, seed=0):
    """`n` images [n, 2, 2, 1] near the model's mean B."""
    return np.random.default_rng(seed).normal(B, 1.0, (n, 4)).astype(np.float32).reshape(n, 2, 2, 1)
