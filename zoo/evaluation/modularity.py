"""Modularity and explicitness (Ridgeway & Zemel 2018), as disentanglement_lib's
modularity_explicitness.py computes them (`unsupervised_study_v1` settings).

- Modularity: each latent, cut into 20 equal-width bins, has a mutual information m_k with
  each factor k; its modularity is 1 - sum over the factors but its best of (m_k / m_best)^2,
  divided by K - 1 (1: it tells about one factor only; 0: about all equally). A latent that
  tells about none scores 0. The score is the mean over latents.
- Explicitness: one logistic regression (scikit-learn's, default settings) per factor predicts
  it from the whole code, standardized by the training sample's mean and deviation; its
  held-out one-vs-rest ROC-AUC, averaged over the factor's values, is the factor's
  explicitness; the score is the mean over factors (0.5: chance; 1: every value read).

disentanglement_lib draws 10,000 training and 5,000 held-out images; `scores` gives its
5,000 and 5,000. Where it would divide by a zero deviation (a constant latent) the latent
is left unscaled here, and a held-out value the training sample never had is left out of
the ROC-AUC average (it would fail there).
"""

import numpy as np

from zoo.evaluation.factor_codes import (BINS, checked, checked_held_out, discretize, fitting, information_matrix,
                                         varying)


def modularity_explicitness(factors, codes, held_out=None, bins=BINS):
    """{"modularity", "explicitness" (held out), "explicitness_train", "explicitness_per_factor"
    [K]} of factor indices [N, K] and codes [N, D]; `held_out`: a second (factors, codes) sample
    (None: the same rows). A factor that does not vary has no explicitness: nan, left out."""
    factors, codes = checked(factors, codes)
    test_factors, test_codes = checked_held_out(factors, codes, held_out)
    fitted = varying(factors)
    scores = [explicitness(factors[:, k], codes, test_factors[:, k], test_codes) if k in fitted
              else (np.nan, np.nan) for k in range(factors.shape[1])]
    train, test = np.array(scores).T
    return {"modularity": modularity(information_matrix(discretize(codes, bins), factors)),
            "explicitness": float(np.nanmean(test)), "explicitness_train": float(np.nanmean(train)),
            "explicitness_per_factor": [float(value) for value in test]}


def modularity(information):
    """Mean over latents of the modularity of mutual information [D, K] (see the module)."""
    squared = np.square(np.asarray(information, np.float64))
    best = squared.max(axis=1)
    if squared.shape[1] == 1:
        return float(np.mean(best > 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = 1 - (squared.sum(axis=1) - best) / (best * (squared.shape[1] - 1))
    return float(np.mean(np.where(best == 0, 0.0, scores)))


def explicitness(factor, codes, test_factor, test_codes):
    """(training, held-out) one-vs-rest ROC-AUC of a logistic regression of one factor [N] on
    codes [N, D] standardized by their training mean and deviation."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    mean, deviation = codes.mean(axis=0), codes.std(axis=0)
    deviation = np.where(deviation > 0, deviation, 1.0)
    with fitting():
        classifier = LogisticRegression().fit((codes - mean) / deviation, factor)

    def auc(values, points):
        probabilities = classifier.predict_proba((points - mean) / deviation)
        known = [c for c, value in enumerate(classifier.classes_) if 0 < np.sum(values == value) < len(values)]
        return float(np.mean([roc_auc_score(values == classifier.classes_[c], probabilities[:, c]) for c in known]))

    return auc(factor, codes), auc(test_factor, test_codes)
