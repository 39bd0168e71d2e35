"""The BetaVAE score, SAP and DCI (the metrics that fit a predictor of the factors) on codes
whose answer is known: copied factors, random codes, two factors rotated into each other, and
one hand computation each."""

import math

import numpy as np
import pytest

from known_codes import SIZES, copied, draw, noise
from zoo.evaluation.disentanglement import (beta_vae_score, dci, dci_completeness, dci_disentanglement,
                                            pair_differences, sap)

SMALL_SIZES = (2, 3, 4, 4)  # for DCI, whose boosted trees cost per class


def rotated(factors, seed):
    """The last two factors (of the same size) turned 45 degrees into each other: both latents
    depend on both factors; the other factors stay copied."""
    codes = copied(factors, seed)
    x, y = codes[:, -2].copy(), codes[:, -1].copy()
    codes[:, -2], codes[:, -1] = (x + y) / math.sqrt(2), (x - y) / math.sqrt(2)
    return codes


@pytest.fixture(scope="module")
def samples():
    """(train, held-out) factor samples of the `shapes` grid, 3,000 each."""
    return draw(SIZES, 3000, 1), draw(SIZES, 3000, 2)


@pytest.fixture(scope="module")
def small_samples():
    return draw(SMALL_SIZES, 300, 3), draw(SMALL_SIZES, 300, 4)


def scored(metric, samples, code, **options):
    train, test = samples
    return metric(train, code(train, 5), (test, code(test, 6)), **options)


def test_beta_vae_pairs_share_the_fixed_factor_by_hand():
    # Two coins, the whole grid twice over; codes copy them. A point fixing coin k has
    # |z1 - z2| = 0 in latent k, and in the other latent 1 for half the pairs on average.
    factors = np.array([[0, 0], [0, 1], [1, 0], [1, 1]] * 2)
    points, labels = pair_differences(factors, factors.astype(float), 4000, 64, np.random.default_rng(0))
    assert points.shape == (4000, 2) and set(labels) == {0, 1}
    for k in (0, 1):
        assert np.all(points[labels == k, k] == 0)
        assert points[labels == k, 1 - k].mean() == pytest.approx(0.5, abs=0.01)


def test_beta_vae_score_of_known_codes(samples):
    points = {"train_points": 3000, "eval_points": 2000}  # of disentanglement_lib's 10,000 and 5,000: time
    assert scored(beta_vae_score, samples, copied, **points)["beta_vae_score"] == 1.0
    # chance is 1/K: the differences of a random code say nothing of the fixed factor
    assert scored(beta_vae_score, samples, lambda f, s: noise(len(f), s), **points)["beta_vae_score"] == pytest.approx(
        1 / 5, abs=0.04)
    # x and y rotated: fixing either leaves the same |differences| in both latents, so the two
    # are told apart by chance; the other three factors are still read right: about 4/5
    assert scored(beta_vae_score, samples, rotated, **points)["beta_vae_score"] == pytest.approx(4 / 5, abs=0.04)


def test_sap_of_a_tiny_continuous_case_by_hand():
    # v1, v2 uncorrelated with equal variance; z1 = v1, z2 = v1 + v2. Squared correlations:
    # z1: v1 1, v2 0; z2: v1 1/2, v2 1/2. Gaps: v1 1 - 1/2, v2 1/2 - 0: SAP exactly 1/2.
    factors = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    codes = np.stack([factors[:, 0], factors.sum(axis=1)], axis=1).astype(float)
    result = sap(factors, codes, continuous=True)
    assert result["sap_per_factor"] == pytest.approx([0.5, 0.5], abs=1e-12)
    assert result["sap"] == pytest.approx(0.5, abs=1e-12)


def test_sap_of_known_codes(samples):
    perfect = scored(sap, samples, copied)
    # Each factor's own latent beats the others: every gap is positive. A 1-D linear SVM (C = 0.01)
    # reads a factor of 3 values right, one of 16 far less: the discrete SAP's ceiling is below 1.
    assert min(perfect["sap_per_factor"]) > 0.1 and perfect["sap_per_factor"][0] > 0.6
    assert scored(sap, samples, copied, continuous=True)["sap"] > 0.99  # squared correlations: 1 vs 0
    assert scored(sap, samples, lambda f, s: noise(len(f), s))["sap"] < 0.02
    mixed = scored(sap, samples, rotated)
    assert mixed["sap_per_factor"][:3] == pytest.approx(perfect["sap_per_factor"][:3], abs=0.03)
    assert max(mixed["sap_per_factor"][3:]) < 0.03  # x and y: two latents tie


def test_sap_of_a_coin_copied_beside_noise():
    # A threshold reads a copied coin without error; the noise latent scores chance, 1/2.
    factors = draw((2,), 2000, 7)
    codes = np.concatenate([copied(factors, 8), noise(2000, 9, latents=1)], axis=1)
    assert sap(factors, codes)["sap"] == pytest.approx(0.5, abs=0.04)


def test_dci_of_an_importance_matrix_by_hand():
    # latent 0 matters to factor 0 only, latent 1 equally to both.
    importance = np.array([[1.0, 0.0], [0.5, 0.5]])
    # disentanglement: latent 0 1 - H_2(1, 0) = 1, latent 1 1 - H_2(1/2, 1/2) = 0, weights 1/2 each
    assert dci_disentanglement(importance) == pytest.approx(0.5, abs=1e-9)
    # completeness: factor 0 rests on (2/3, 1/3): 1 - H_2; factor 1 on latent 1 alone: 1; weights 3/4, 1/4
    entropy = -(2 / 3) * math.log2(2 / 3) - (1 / 3) * math.log2(1 / 3)
    assert dci_completeness(importance) == pytest.approx(0.75 * (1 - entropy) + 0.25, abs=1e-9)
    assert dci_disentanglement(np.eye(3)) == pytest.approx(1.0) and dci_completeness(np.ones((3, 3))) < 1e-9


def test_dci_of_known_codes(small_samples):
    perfect = scored(dci, small_samples, copied)
    assert perfect["dci_disentanglement"] > 0.99 and perfect["dci_completeness"] > 0.99
    assert perfect["dci_informativeness"] == 1.0
    random = scored(dci, small_samples, lambda f, s: noise(len(f), s, latents=6))
    assert random["dci_disentanglement"] < 0.1 and random["dci_completeness"] < 0.1
    assert random["dci_informativeness"] < 0.45  # chance: 1/2, 1/3, 1/4, 1/4 averaged is 0.33
    mixed = scored(dci, small_samples, rotated)
    # the two rotated latents each serve two factors: the half of the code they are loses its certainty
    assert 0.3 < mixed["dci_disentanglement"] < 0.8 and 0.3 < mixed["dci_completeness"] < 0.8
    assert mixed["dci_informativeness"] > 0.9  # the factors can still be read off the code
