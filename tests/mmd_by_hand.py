"""The MMD of WAE-MMD and InfoVAE in plain Python loops, for tests/test_mmd.py and the
objective by hand of tests/test_combinations.py."""

import math

import numpy as np

from zoo.objectives import InfoVAE


def kernel_by_hand(x, y, kernel, bandwidth, scales):
    """The kernel at one pair of points, summed over the scales: C = scale * 2 D bandwidth^2."""
    squared = sum((float(a) - float(b)) ** 2 for a, b in zip(x, y))
    total = 0.0
    for scale in scales:
        c = scale * 2.0 * len(x) * bandwidth ** 2
        total += c / (c + squared) if kernel == "imq" else math.exp(-squared / c)
    return total


def mmd_by_hand(codes, prior_codes, kernel, bandwidth=1.0, scales=(1.0,)):
    """The unbiased MMD^2: pairs i != j within each sample, every pair across them."""
    n, m = len(codes), len(prior_codes)
    within_q = sum(kernel_by_hand(codes[i], codes[j], kernel, bandwidth, scales)
                   for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    within_p = sum(kernel_by_hand(prior_codes[i], prior_codes[j], kernel, bandwidth, scales)
                   for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    across = sum(kernel_by_hand(codes[i], prior_codes[j], kernel, bandwidth, scales)
                 for i in range(n) for j in range(m)) / (n * m)
    return within_q + within_p - 2.0 * across


def mmd_loss_by_hand(objective, z, prior_z, log_px, kl):
    """Per-example loss [B] of `wae_mmd` or `info_vae` from the draws z and prior draws
    [S, B, ...], log p(x|z) [S, B] and the KL [B]: the MMD of each draw, averaged."""
    samples = z.shape[0]
    flat = lambda codes: np.asarray(codes, np.float64).reshape(samples, z.shape[1], -1)
    penalty = np.mean([mmd_by_hand(a, b, objective.kernel, objective.bandwidth, objective.scales)
                       for a, b in zip(flat(z), flat(prior_z))])
    reconstruction = -np.asarray(log_px, np.float64).mean(axis=0)
    if isinstance(objective, InfoVAE):
        return reconstruction + (1 - objective.alpha) * kl + (objective.alpha + objective.lambda_mmd - 1) * penalty
    return reconstruction + objective.lambda_mmd * penalty
