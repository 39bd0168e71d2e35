"""JointVAE's KL parts and loss in numpy, for tests/test_joint_vae.py and the objective by hand
of tests/test_combinations.py."""

import math

import numpy as np


def kl_parts_by_hand(loc, scale, probs):
    """[B, 2]: KL(N(loc, scale^2) || N(0, 1)) summed over the Gaussian latents, and
    KL(Cat(probs) || uniform over K) = sum_k p_k log(p_k K)."""
    loc, scale, probs = (np.asarray(v, np.float64) for v in (loc, scale, probs))
    continuous = np.sum(0.5 * (loc ** 2 + scale ** 2 - 1.0) - np.log(scale), axis=-1)
    discrete = np.sum(probs * np.log(np.maximum(probs, 1e-300) * probs.shape[-1]), axis=-1)
    return np.stack([continuous, discrete], axis=-1)


def joint_capacity_loss_by_hand(objective, q, log_px):
    """Per-example loss [B] of `joint_capacity` from q (Blockwise: Gaussian, categorical) and
    log p(x|z, c) [S, B], at the objective's current capacities."""
    gaussian, categorical = q.distributions
    parts = kl_parts_by_hand(gaussian.mean().numpy(), gaussian.stddev().numpy(), categorical.probs_parameter().numpy())
    discrete_capacity = min(float(objective.discrete_capacity), math.log(categorical.event_shape[-1]))
    return (-np.asarray(log_px, np.float64).mean(axis=0) + objective.gamma * np.abs(parts[:, 0] - float(objective.capacity))
            + objective.discrete_gamma * np.abs(parts[:, 1] - discrete_capacity))
