"""Codes whose disentanglement scores are known, for the metrics' tests
(tests/test_disentanglement_predictors.py, tests/test_disentanglement_others.py): factor
samples of the `shapes` grid, codes that copy them, and codes of pure noise."""

import numpy as np

SIZES = (3, 6, 10, 16, 16)  # the `shapes` grid's factors


def draw(sizes, count, seed):
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(n, size=count) for n in sizes], axis=1)


def copied(factors, seed):
    return factors + 0.05 * np.random.default_rng(seed).standard_normal(factors.shape)


def noise(count, seed, latents=10):
    return np.random.default_rng(seed).standard_normal((count, latents))
