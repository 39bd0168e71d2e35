"""MIG and the FactorVAE score on codes with known answers, and `zoo train` / `zoo evaluate`
writing all five metrics for a tiny model trained on a tiny shapes grid (the other three's
known answers: test_disentanglement_predictors.py)."""

import json
import math
import os

import numpy as np
import pytest
from sklearn.metrics import mutual_info_score

from recipes import RECIPES
from zoo.data import DATASETS, Shapes
from zoo.errors import ZooError
from zoo.evaluation.disentanglement import discretize, entropy, factor_vae_score, mig, mutual_information
from zoo.evaluation.evaluate import evaluate
from zoo.training.train import train

EXAMPLES = 5000
METRICS = ("mig", "factor_vae_score", "beta_vae_score", "sap", "dci_disentanglement", "dci_completeness",
           "dci_informativeness", "modularity", "explicitness", "irs", "downstream_logistic_regression",
           "downstream_boosted_trees", "unfairness")  # each in [0, 1]; the unsupervised scores are not bounded


@pytest.fixture(scope="module")
def factors():
    """Indices [5000, 5] drawn uniformly from the `shapes` grid (every factor 20 values or fewer)."""
    rng = np.random.default_rng(1)
    return np.stack([rng.integers(n, size=EXAMPLES) for n in DATASETS.get("shapes").factor_sizes], axis=1)


def copied(factors, seed=2):
    """A perfect code: each factor in a latent of its own, plus a little noise."""
    return factors + 0.05 * np.random.default_rng(seed).standard_normal(factors.shape)


def test_mig_of_a_tiny_discrete_case_by_hand():
    # a, b fair coins; z1 = a, z2 = a or b. I(z1; a) = ln 2, I(z1; b) = 0 and, from the joint
    # of (z2, a) = (0,0) 1/4, (1,0) 1/4, (1,1) 1/2: I(z2; a) = I(z2; b) = 1.5 ln 2 - 0.75 ln 3.
    a, b = np.array([0, 0, 1, 1] * 25), np.array([0, 1, 0, 1] * 25)
    shared = 1.5 * math.log(2) - 0.75 * math.log(3)
    codes = np.stack([a, a | b], axis=1).astype(float)
    assert mutual_information(codes[:, 1], a) == pytest.approx(shared, abs=1e-12)
    result = mig(np.stack([a, b], axis=1), codes)
    # a: (ln 2 - shared) / ln 2; b: (shared - 0) / ln 2; their mean is exactly 1/2.
    assert result["mig_per_factor"] == pytest.approx([1 - shared / math.log(2), shared / math.log(2)], abs=1e-12)
    assert result["mig"] == pytest.approx(0.5, abs=1e-12)


def test_information_agrees_with_scikit_learn():
    rng = np.random.default_rng(0)
    a = rng.integers(6, size=2000)
    b = (a + rng.integers(3, size=2000)) % 7
    assert mutual_information(a, b) == pytest.approx(mutual_info_score(a, b), abs=1e-12)
    assert entropy(a) == pytest.approx(mutual_info_score(a, a), abs=1e-12)
    assert entropy(np.array([5, 5, 9, 9])) == pytest.approx(math.log(2))


def test_discretize_uses_twenty_equal_width_bins():
    binned = discretize(np.array([[0.0], [0.049], [0.05], [0.51], [1.0]]))
    assert binned[:, 0].tolist() == [1, 1, 2, 11, 20]


def test_a_copy_of_the_factors_scores_one(factors):
    result = mig(factors, copied(factors))
    assert result["mig"] > 0.98 and min(result["mig_per_factor"]) > 0.97
    scores = factor_vae_score(factors, copied(factors))
    assert scores["factor_vae_score"] == 1.0 and scores["active_dims"] == 5
    shuffled = copied(factors)[:, [3, 0, 4, 2, 1]]  # which latent holds which factor does not matter
    assert mig(factors, shuffled)["mig"] == pytest.approx(result["mig"], abs=0.01)
    assert factor_vae_score(factors, shuffled)["factor_vae_score"] == 1.0


def test_a_random_code_scores_nothing_or_chance(factors):
    noise = np.random.default_rng(3).standard_normal((EXAMPLES, 10))
    assert mig(factors, noise)["mig"] < 0.01
    # The FactorVAE score's floor is chance, 1/K, not 0: each latent still gets a majority factor.
    assert factor_vae_score(factors, noise)["factor_vae_score"] == pytest.approx(1 / 5, abs=0.05)


def test_two_factors_mixed_in_one_latent_score_in_between(factors):
    codes = copied(factors)
    codes[:, 3] = factors[:, 3] + factors[:, 4]  # x + y in one latent, y in none of its own
    codes = np.concatenate([codes[:, :4], np.random.default_rng(4).standard_normal((EXAMPLES, 3))], axis=1)
    result = mig(factors, codes)
    assert 0.5 < result["mig"] < 0.8
    assert min(result["mig_per_factor"][:3]) > 0.97 and max(result["mig_per_factor"][3:]) < 0.3
    # x's and y's votes both go to the mixed latent, which the classifier gives to one of them.
    assert factor_vae_score(factors, codes)["factor_vae_score"] == pytest.approx(4 / 5, abs=0.03)


def test_collapsed_latents_are_pruned(factors):
    codes = np.concatenate([copied(factors), 0.01 * np.random.default_rng(5).standard_normal((EXAMPLES, 3))], axis=1)
    assert factor_vae_score(factors, codes) == {**factor_vae_score(factors, copied(factors)), "active_dims": 5}
    assert factor_vae_score(factors, np.zeros((EXAMPLES, 4)))["factor_vae_score"] == 0.0


def test_the_vote_draws_follow_the_seed(factors):
    noise = np.random.default_rng(6).standard_normal((EXAMPLES, 10))
    assert factor_vae_score(factors, noise, seed=1) == factor_vae_score(factors, noise, seed=1)
    assert factor_vae_score(factors, noise, seed=1) != factor_vae_score(factors, noise, seed=2)


def test_bad_input_is_refused_in_one_line(factors):
    with pytest.raises(ZooError, match="same N"):
        mig(factors, np.zeros((10, 3)))
    with pytest.raises(ZooError, match="integer"):
        factor_vae_score(factors.astype(float), copied(factors))
    with pytest.raises(ZooError, match="NaN"):
        mig(factors, np.full((EXAMPLES, 2), np.nan))


@pytest.fixture(scope="module")
def tiny_shapes_export(tmp_path_factory):
    """An MLP VAE trained 2 epochs on a 192-image grid, registered for this module only."""
    tiny = Shapes("shapes_tiny", orientations=2, positions=4, scales=2)
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(DATASETS._entries, tiny.name, tiny)
        recipe = RECIPES.get("digits_mlp_bernoulli").with_overrides(
            {"dataset": tiny.name, "epochs": 2, "batch_size": 32, "log_likelihood_samples": 4})
        yield train(recipe, export_dir=str(tmp_path_factory.mktemp("exports")), verbose=False, force_export=True).export_path


@pytest.mark.heavy
def test_train_and_evaluate_write_every_metric(tiny_shapes_export, tmp_path):
    trained = json.load(open(os.path.join(tiny_shapes_export, "metrics.json")))
    result = evaluate(tiny_shapes_export, num_samples=4, examples=10, pictures=False, output_dir=str(tmp_path),
                      verbose=False)
    written = json.load(open(tmp_path / "metrics.json"))["evaluation"]
    for scores in (trained, result, written):
        for metric in METRICS:
            assert 0 <= scores[metric] <= 1, metric
        details = scores["disentanglement"]
        assert details["examples"] == EXAMPLES and details["seed"] == 0 and details["active_dims"] <= 8
        assert set(details["mig_per_factor"]) == set(details["sap_per_factor"]) == {"shape", "scale", "orientation",
                                                                                   "x", "y"}
        assert np.array(details["dci_importance"]).shape == (8, 5)
    for metric in METRICS:  # the same images: the metrics' seeds are fixed
        assert result[metric] == pytest.approx(trained[metric], abs=1e-6), metric


def test_digits_have_no_factors():
    from zoo.evaluation.disentanglement import scores

    assert scores(model=None, source=DATASETS.get("digits")) == {}
