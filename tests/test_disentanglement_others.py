"""disentanglement_lib's metrics beyond the first five, on codes whose answer is known: modularity
and explicitness, IRS, the unsupervised scores, the downstream task, fairness and UDR (copied
factors, random codes, mixed factors, and a hand computation each)."""

import math

import numpy as np
import pytest

from known_codes import SIZES, copied, draw, noise
from zoo.evaluation.downstream import downstream_task
from zoo.evaluation.fairness import fairness, inter_group_fairness
from zoo.evaluation.irs import irs
from zoo.evaluation.modularity import modularity, modularity_explicitness
from zoo.evaluation.udr import relative_strength, udr
from zoo.evaluation.unsupervised_scores import (gaussian_total_correlation, gaussian_wasserstein_correlation,
                                                unsupervised_scores)


def mixed(factors, seed):
    """x + y in one latent, the other three factors copied, three latents of noise."""
    codes = copied(factors, seed)
    codes[:, 3] = factors[:, 3] + factors[:, 4]
    return np.concatenate([codes[:, :4], noise(len(factors), seed + 100, latents=3)], axis=1)


@pytest.fixture(scope="module")
def samples():
    """(train, held-out) factor samples of the `shapes` grid, 2,000 each."""
    return draw(SIZES, 2000, 1), draw(SIZES, 2000, 2)


def test_modularity_of_an_information_matrix_by_hand():
    # latent 0 tells about factor 0 only: 1; latent 1 about both equally: 1 - 1 / (1 * (2 - 1)) = 0;
    # latent 2 about 0 twice as much as 1: 1 - (1/2)^2 = 3/4; latent 3 about none: 0.
    assert modularity(np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 0.5], [0.0, 0.0]])) == pytest.approx(
        (1 + 0 + 0.75 + 0) / 4, abs=1e-12)


def test_modularity_and_explicitness_of_known_codes(samples):
    (train, test), scored = samples, {}
    for name, code in (("copied", copied), ("noise", lambda f, s: noise(len(f), s)), ("mixed", mixed)):
        scored[name] = modularity_explicitness(train, code(train, 5), (test, code(test, 6)))
    assert scored["copied"]["modularity"] > 0.99 and scored["copied"]["explicitness"] > 0.99
    assert scored["noise"]["explicitness"] == pytest.approx(0.5, abs=0.02)  # ROC-AUC of chance
    # the mixed latent serves x and y: its modularity, and y's explicitness (read only through x + y), drop
    assert scored["mixed"]["modularity"] < scored["copied"]["modularity"] - 0.1
    assert scored["mixed"]["explicitness_per_factor"][:3] == pytest.approx([1.0] * 3, abs=0.01)
    assert 0.7 < scored["mixed"]["explicitness"] < 0.95


def test_irs_of_known_codes(samples):
    train = samples[0]
    assert irs(train, copied(train, 5))["irs"] > 0.95
    # noise: within any group a latent strays as far as overall (the 99th percentile of |N(0, 1)|,
    # 2.58, over the largest deviation of 2,000 draws, about 3.5): IRS about 1 - 2.58 / 3.5
    assert irs(train, noise(len(train), 5))["irs"] == pytest.approx(1 - 2.58 / 3.5, abs=0.08)
    assert 0.45 < irs(train, mixed(train, 5))["irs"] < 0.7
    assert irs(train, np.zeros((len(train), 3)))["irs"] == 0.0  # no active latent


def test_irs_of_a_tiny_case_by_hand():
    # one coin a, z = a: fixing a pins z exactly, so IRS is 1 at any quantile. z2 = a + b for a
    # second coin b: within a group of a, z2 strays by 1/2 from its mean, its largest deviation
    # overall is 1: 1 - 1/2 = 1/2 for either coin, and the two latents weigh 1/2 and 1.
    a, b = np.array([0, 0, 1, 1] * 25), np.array([0, 1, 0, 1] * 25)
    result = irs(np.stack([a, b], axis=1), np.stack([a, a + b], axis=1).astype(float), diff_quantile=1.0)
    assert result["irs_per_latent"] == pytest.approx([1.0, 0.5], abs=1e-12)
    assert result["irs"] == pytest.approx((0.5 * 1.0 + 1.0 * 0.5) / 1.5, abs=1e-12)


def test_gaussian_total_and_wasserstein_correlation_in_closed_form():
    correlation = np.array([[1.0, 0.5, 0.2], [0.5, 1.0, 0.3], [0.2, 0.3, 1.0]])
    scale = np.diag([1.0, 2.0, 0.5])
    covariance = scale @ correlation @ scale
    # the KL to the product of the marginals does not depend on the scales: -0.5 log det(correlation)
    assert gaussian_total_correlation(covariance) == pytest.approx(-0.5 * math.log(np.linalg.det(correlation)),
                                                                  abs=1e-12)
    # two unit latents of correlation r: W2^2 = 2 tr S - 2 tr sqrt(S) = 4 - 2 (sqrt(1 + r) + sqrt(1 - r))
    r = 0.6
    assert gaussian_wasserstein_correlation(np.array([[1.0, r], [r, 1.0]])) == pytest.approx(
        4 - 2 * (math.sqrt(1 + r) + math.sqrt(1 - r)), abs=1e-9)
    assert gaussian_wasserstein_correlation(np.diag([1.0, 3.0])) == pytest.approx(0.0, abs=1e-9)


def test_unsupervised_scores_of_independent_and_correlated_codes():
    rng = np.random.default_rng(0)
    independent = unsupervised_scores(rng.standard_normal((20000, 4)) * [1.0, 2.0, 3.0, 0.5])
    assert independent["gaussian_total_correlation"] < 0.002
    assert independent["gaussian_wasserstein_correlation_norm"] < 0.001
    correlation = np.array([[1.0, 0.8, 0.0], [0.8, 1.0, 0.0], [0.0, 0.0, 1.0]])
    correlated = unsupervised_scores(rng.multivariate_normal(np.zeros(3), correlation, size=20000))
    assert correlated["gaussian_total_correlation"] == pytest.approx(-0.5 * math.log(1 - 0.8 ** 2), abs=0.02)
    assert correlated["mutual_info_score"] > 5 * independent["mutual_info_score"]
    copies = np.repeat(rng.standard_normal((5000, 1)), 2, axis=1)  # two equal latents: I = H of 20 bins' histogram
    assert unsupervised_scores(copies)["mutual_info_score"] > 2.0


def test_downstream_task_of_known_codes():
    sizes = (2, 3, 4)  # small factors: LogisticRegressionCV costs per class (and per C and fold)
    train, test = draw(sizes, 100, 7), draw(sizes, 500, 8)
    # the first factor (2 values) in no latent of its own, the others copied: it alone falls to chance
    code = lambda f, s: np.concatenate([copied(f[:, 1:], s), noise(len(f), s, 1)], axis=1)
    for predictor in ("logistic_regression", "boosted_trees"):
        result = downstream_task(train, code(train, 5), (test, code(test, 6)), sizes=(50,), predictor=predictor)[50]
        assert result["test_accuracy_per_factor"][0] == pytest.approx(0.5, abs=0.08), predictor
        assert min(result["test_accuracy_per_factor"][1:]) > 0.97, predictor
        assert result["min_test_accuracy"] == result["test_accuracy_per_factor"][0]
        assert result["mean_test_accuracy"] == pytest.approx(np.mean(result["test_accuracy_per_factor"]))
    tiny = downstream_task(train, code(train, 5), (test, code(test, 6)), sizes=(1,), predictor="boosted_trees")
    assert tiny[1]["mean_train_accuracy"] == 1.0  # one row: each factor is predicted as its one value


def test_inter_group_fairness_by_hand():
    # predictions (rows) under two sensitive values (columns): (1, 0) and (1/2, 1/2), overall
    # (3/4, 1/4); each is 1/4 away in total variation.
    assert inter_group_fairness([[4, 2], [0, 2]]) == pytest.approx((0.25, 0.25), abs=1e-12)
    assert inter_group_fairness([[3, 3], [1, 1]]) == pytest.approx((0.0, 0.0), abs=1e-12)


def boosted_trees(factors, codes):
    """What `scores` gives fairness: a classifier per factor (DCI's boosted trees)."""
    from sklearn.ensemble import GradientBoostingClassifier

    return {k: GradientBoostingClassifier(random_state=0).fit(codes, factors[:, k]) for k in range(factors.shape[1])}


def test_fairness_of_known_codes():
    sizes = (2, 2)
    factors = draw(sizes, 200, 3)
    separate = boosted_trees(factors, factors.astype(float))
    # each factor has a latent of its own: intervening on the other moves no prediction
    assert fairness(separate, sizes, lambda f: f.astype(float))["unfairness"] == 0.0
    # one latent a + s: the tie z = 1 goes to one value, so under s = 0 a is always predicted
    # 0 (or 1), under s = 1 half and half: TV 1/4 from the overall for each value, both ways.
    summed = lambda f: f.sum(axis=1, keepdims=True).astype(float)
    shared = boosted_trees(factors, summed(factors))
    assert fairness(shared, sizes, summed, points_per_value=1000)["unfairness"] == pytest.approx(0.25, abs=0.03)


def test_udr_of_known_codes():
    rng = np.random.default_rng(0)
    codes = rng.standard_normal((1000, 6))
    permuted = codes[:, [3, 1, 0, 5, 2, 4]] * [1, -1, 1, -1, 1, 1]
    # Lasso (alpha 0.1) on standardized codes shrinks each matching coefficient 1 -> 0.9: 0.9^2 / 0.9
    assert udr([codes, permuted])["model_scores"] == pytest.approx([0.9, 0.9], abs=0.01)
    assert udr([codes, rng.standard_normal((1000, 6))])["model_scores"] == [0.0, 0.0]
    turned = codes.copy()
    turned[:, :2] = codes[:, :2] @ (np.array([[1, -1], [1, 1]]) / math.sqrt(2))  # two latents mixed
    assert 0.6 < udr([codes, turned])["model_scores"][0] < 0.8
    spearman = udr([codes, permuted], correlation="spearman")["model_scores"][0]
    assert spearman > 0.85 and spearman > udr([codes, turned], correlation="spearman")["model_scores"][0] + 0.1
    # latents whose KL is under 0.01 are left out: collapsed extra latents do not lower the score
    collapsed = np.concatenate([permuted, 1e-3 * rng.standard_normal((1000, 2))], axis=1)
    padded = np.concatenate([codes, 1e-3 * rng.standard_normal((1000, 2))], axis=1)
    kls = [np.array([1.0] * 6 + [0.001] * 2)] * 2
    assert udr([padded, collapsed], kls)["model_scores"] == pytest.approx([0.9, 0.9], abs=0.01)
    # three models: a model's score is the median of its pairs
    three = udr([codes, permuted, rng.standard_normal((1000, 6))])
    assert three["model_scores"][0] == pytest.approx((0.9 + 0.0) / 2, abs=0.01)


def test_relative_strength_by_hand():
    # columns: 1^2 / 1 = 1 and (1/2)^2 / 1 = 1/4; rows: 1^2 / 1.5 = 2/3 and (1/2)^2 / 1/2 = 1/2
    assert relative_strength(np.array([[1.0, 0.5], [0.0, 0.5]])) == pytest.approx(
        ((1 + 0.25) / 2 + (2 / 3 + 0.5) / 2) / 2, abs=1e-12)


def test_reduced_downstream_task_of_known_codes():
    from zoo.evaluation.downstream_variants import reduced_downstream_task

    sizes = (2, 3)  # few factors and classes: each case fits 2K boosted trees, or more
    train, test = draw(sizes, 100, 9), draw(sizes, 300, 10)
    chance = np.mean([1 / n for n in sizes])
    # each factor in two latents: with one removed, the copy still tells it
    twice = lambda f, s: np.concatenate([copied(f, s), copied(f, s + 50)], axis=1)
    assert reduced_downstream_task(train, twice(train, 5), (test, twice(test, 6)))["reduced_factor_accuracy"] > 0.97
    # with both removed, the factor falls to chance and the others are still read
    both = reduced_downstream_task(train, twice(train, 5), (test, twice(test, 6)), removed=2)
    assert both["reduced_factor_accuracy"] == pytest.approx(chance, abs=0.1)
    assert both["other_factors_accuracy"] > 0.97


def test_strong_downstream_task_of_known_codes():
    from zoo.evaluation.downstream_variants import strong_downstream_task

    sizes = (2, 4)
    options = {"size": 100, "test_size": 200, "experiments": 2}
    separate = strong_downstream_task(sizes, lambda f: f.astype(float), **options)
    assert separate["mean_strong_test_accuracy"] == 1.0 and separate["strong_generalization_gap"] == 0.0
    # a in a latent only as a + s: trained with s fixed, the trees read a off a + s; shifting s fools them
    summed = lambda f: np.stack([f[:, 0] + f[:, 1], f[:, 1]], axis=1).astype(float)
    shifted = strong_downstream_task(sizes, summed, **options)
    assert shifted["mean_test_accuracy"] == 1.0  # without the shift, a = z1 - z2 is learned
    # with the other factor fixed, a + s tells either factor as well as its own latent does, so
    # the trees may use it for both; under the shift a's predictions (at least) fail
    assert shifted["strong_generalization_gap"] > 0.2
