"""Unfairness (Locatello et al. 2019, "On the fairness of disentangled representations"), as
disentanglement_lib's fairness.py computes it (`fairness_study_v1` settings).

A classifier predicts target factor i from the codes. For a sensitive factor j != i, draw 100
factor tuples and set j to each of its values c in turn (an intervention); the images of
each set are encoded and the predictions of i counted. The unfairness of (i, j) is the mean
over c of the total variation distance between the predictions' distribution under c and
over all c (weighted by count: equal here). The score (the paper's, disentanglement_lib's
"mean_fairness:mean_pred:mean_sens") is the mean over targets of the mean over sensitive
factors. 0: no prediction depends on any other factor.

Settings changed, and why: the classifiers are DCI's boosted trees (scikit-learn's defaults,
as there), trained on 1,000 images, not 10,000 (time: see DCI). disentanglement_lib draws 100
tuples for every (target, sensitive) pair; here the draw of a sensitive factor is shared by
every target, so each intervened image is encoded once (5,100 images on `shapes`, not 20,400).
"""

import numpy as np

POINTS_PER_VALUE = 100  # disentanglement_lib's num_test_points_per_class


def fairness(classifiers, factor_sizes, represent, seed=0, points_per_value=POINTS_PER_VALUE):
    """{"unfairness": the paper's score, "unfairness_max" (disentanglement_lib's
    "max_fairness:mean_pred:mean_sens": the same means of each pair's largest distance),
    "mean_matrix", "max_matrix" [K, K] (target, sensitive; nan on the diagonal and where a
    factor has no classifier)}. `classifiers`: {target factor: fitted classifier of codes};
    `represent(factors [n, K]) -> codes [n, D]` encodes the images of factor tuples."""
    rng = np.random.default_rng(seed)
    sizes = list(factor_sizes)
    mean, largest = np.full((len(sizes), len(sizes)), np.nan), np.full((len(sizes), len(sizes)), np.nan)
    for j, size in enumerate(sizes):
        targets = [i for i in classifiers if i != j]
        if size < 2 or not targets:
            continue
        drawn = np.stack([rng.integers(n, size=points_per_value) for n in sizes], axis=1)
        counts = {i: np.zeros((sizes[i], size), np.int64) for i in targets}
        for value in range(size):
            intervened = drawn.copy()
            intervened[:, j] = value
            codes = represent(intervened)
            for i in targets:
                counts[i][:, value] = np.bincount(classifiers[i].predict(codes).astype(np.int64), minlength=sizes[i])
        for i in targets:
            mean[i, j], largest[i, j] = inter_group_fairness(counts[i])
    return {"unfairness": _mean_of_row_means(mean), "unfairness_max": _mean_of_row_means(largest),
            "mean_matrix": mean, "max_matrix": largest}


def inter_group_fairness(counts):
    """(count-weighted mean, largest) over sensitive values (columns) of the total variation
    distance between the predictions' distribution under that value and overall, of counts
    [predicted values, sensitive values]."""
    counts = np.asarray(counts, np.float64)
    overall = counts.sum(axis=1) / counts.sum()
    per_value = counts.sum(axis=0)
    distances = np.abs(counts / per_value - overall[:, None]).sum(axis=0) / 2
    return float(np.sum(distances * per_value) / per_value.sum()), float(distances.max())


def _mean_of_row_means(matrix):
    rows = [np.nanmean(row) for row in matrix if not np.isnan(row).all()]
    return float(np.mean(rows)) if rows else float("nan")
