"""The sliced Wasserstein distance of SWAE in plain Python loops, for tests/test_swae.py and the
objective by hand of tests/test_combinations.py."""

import itertools

import numpy as np


def projected(sample, direction):
    """Each point's projection on one direction: the dot product, term by term."""
    return [sum(float(a) * float(b) for a, b in zip(point, direction)) for point in sample]


def wasserstein_1d_by_sorting(a, b, p):
    """W_p^p of two equal-sized 1-D samples: the i-th smallest of one against the i-th of the other."""
    return sum(abs(x - y) ** p for x, y in zip(sorted(a), sorted(b))) / len(a)


def wasserstein_1d_by_permutations(a, b, p):
    """W_p^p of two equal-sized 1-D samples from its definition: the cheapest one-to-one coupling."""
    return min(sum(abs(a[i] - b[j]) ** p for i, j in enumerate(order)) / len(a)
               for order in itertools.permutations(range(len(b))))


def swd_by_hand(codes, prior_codes, directions, p=2.0, coupling=wasserstein_1d_by_sorting):
    """SW_p^p: the mean over the directions of the 1-D W_p^p of both samples' projections."""
    return sum(coupling(projected(codes, d), projected(prior_codes, d), p) for d in directions) / len(directions)


def swae_loss_by_hand(objective, z, prior_z, log_px, directions):
    """Per-example loss [B] of `swae` from the draws z and prior draws [S, B, ...], log p(x|z)
    [S, B] and the step's directions [L, D]: the SW_p^p of each draw, averaged."""
    samples = z.shape[0]
    flat = lambda codes: np.asarray(codes, np.float64).reshape(samples, z.shape[1], -1)
    penalty = np.mean([swd_by_hand(a, b, np.asarray(directions, np.float64), objective.p)
                       for a, b in zip(flat(z), flat(prior_z))])
    return -np.asarray(log_px, np.float64).mean(axis=0) + objective.lambda_swd * penalty
