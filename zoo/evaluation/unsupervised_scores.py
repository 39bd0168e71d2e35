"""Scores of how far a model's codes are from independent, without the factors
(disentanglement_lib's unsupervised_metrics.py, `unsupervised_study_v1` settings): a code that
disentangles independent factors should itself have independent coordinates.

- Gaussian total correlation: KL between the Gaussian with the codes' covariance S and the
  product of its marginals, 0.5 (sum log S_ii - log det S) = -0.5 log det(correlation). 0 for
  uncorrelated latents.
- Gaussian Wasserstein correlation: the squared 2-Wasserstein distance between those two
  Gaussians, 2 tr S - 2 tr sqrt(S diag(S)) (the formula as disentanglement_lib writes it),
  and the same divided by tr S ("norm"), which does not change when the codes are scaled.
- Mutual information score: the mean over pairs of different latents of their mutual
  information, each cut into 20 equal-width bins.

Lower is more independent for all four. disentanglement_lib draws 10,000 images; `scores`
gives its 5,000. A latent constant over the sample has no correlation with anything and an
undefined log variance: it is left out (disentanglement_lib would return nan).
"""

import warnings

import numpy as np

from zoo.errors import ZooError
from zoo.evaluation.factor_codes import BINS, discretize, information_matrix


def unsupervised_scores(codes, bins=BINS):
    """{"gaussian_total_correlation", "gaussian_wasserstein_correlation",
    "gaussian_wasserstein_correlation_norm", "mutual_info_score"} of codes [N, D]."""
    codes = np.asarray(codes, np.float64)
    if codes.ndim != 2 or len(codes) < 2 or not np.isfinite(codes).all():
        raise ZooError(f"unsupervised scores take finite codes [N >= 2, D]; got shape {list(codes.shape)}")
    codes = codes[:, codes.var(axis=0) > 0]
    if codes.shape[1] < 2:
        return {"gaussian_total_correlation": 0.0, "gaussian_wasserstein_correlation": 0.0,
                "gaussian_wasserstein_correlation_norm": 0.0, "mutual_info_score": 0.0}
    covariance = np.cov(codes, rowvar=False)
    wasserstein = gaussian_wasserstein_correlation(covariance)
    information = information_matrix(discretize(codes, bins), discretize(codes, bins))
    np.fill_diagonal(information, 0)
    latents = codes.shape[1]
    return {"gaussian_total_correlation": gaussian_total_correlation(covariance),
            "gaussian_wasserstein_correlation": wasserstein,
            "gaussian_wasserstein_correlation_norm": wasserstein / float(np.trace(covariance)),
            "mutual_info_score": float(information.sum() / (latents ** 2 - latents))}


def gaussian_total_correlation(covariance):
    """KL(N(0, S) || N(0, diag S)) in nats of a covariance matrix S."""
    return float(0.5 * (np.sum(np.log(np.diag(covariance))) - np.linalg.slogdet(covariance)[1]))


def gaussian_wasserstein_correlation(covariance):
    """2 tr S - 2 tr sqrtm(S * diag(S)[:, None]), disentanglement_lib's formula for the squared
    W2 distance between N(0, S) and N(0, diag S)."""
    from scipy.linalg import LinAlgWarning, sqrtm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LinAlgWarning)  # a singular S (two equal latents) has a root all the same
        root = sqrtm(covariance * np.diag(covariance)[:, None])
    return float(2 * np.trace(covariance) - 2 * np.real(np.trace(root)))
