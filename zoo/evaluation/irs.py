"""The interventional robustness score, IRS (Suter et al. 2019), as disentanglement_lib's
irs.py computes it (its sample config: 20-bin factors, the 99th percentile).

For latent d and factor k: within each group of images that share k's value, how far d
strays from the group's mean (the 99th percentile of |z_d - E[z_d | k]|), averaged over k's
values and divided by d's largest deviation from its overall mean. 1 minus that is how well
fixing k pins d; a latent's score is its best factor's, and IRS is the mean over latents
weighted by their largest deviation. Latents constant over the sample are dropped. A code
whose latents follow one factor each, and nothing else, scores 1; noise does not score 0 but
about 0.35 (within any group it strays by the 99th percentile of |N(0, 1)|, 2.58, against a
largest deviation of about 3.7 over 5,000 draws).

disentanglement_lib draws 10,000 images; `scores` gives its 5,000. Unlike there, the count
of active latents is reported as a count (disentanglement_lib sums their values).
"""

import numpy as np

from zoo.evaluation.factor_codes import BINS, checked, discretize

DIFF_QUANTILE = 0.99  # disentanglement_lib's default; 1.0 is the paper's


def irs(factors, codes, diff_quantile=DIFF_QUANTILE, bins=BINS):
    """{"irs", "irs_per_latent" [active D], "irs_active_dims"} of factor indices [N, K] and
    codes [N, D]; factors are binned as disentanglement_lib does (20 equal-width bins: the same
    values for a factor of 20 values or fewer)."""
    factors, codes = checked(factors, codes)
    codes = codes[:, codes.var(axis=0) > 0]
    if codes.shape[1] == 0:
        return {"irs": 0.0, "irs_per_latent": [], "irs_active_dims": 0}
    factors = discretize(factors, bins)
    largest = np.max(np.abs(codes - codes.mean(axis=0)), axis=0)  # [D]
    strays = np.zeros((codes.shape[1], factors.shape[1]))
    for k in range(factors.shape[1]):
        values = np.unique(factors[:, k])
        for value in values:
            group = codes[factors[:, k] == value]
            strays[:, k] += np.percentile(np.abs(group - group.mean(axis=0)), diff_quantile * 100, axis=0)
        strays[:, k] /= len(values)
    per_latent = (1.0 - strays / largest[:, None]).max(axis=1)
    return {"irs": float(np.average(per_latent, weights=largest)), "irs_per_latent": per_latent.tolist(),
            "irs_active_dims": int(codes.shape[1])}
