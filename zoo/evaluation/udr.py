"""UDR, the unsupervised disentanglement ranking (Duan et al. 2020), as disentanglement_lib's
evaluation/udr/metrics/udr.py computes it (its udr.gin: 1,000 images, Lasso, latents whose
mean KL is under 0.01 filtered out).

UDR needs no factors but several models: models trained alike with different seeds should
agree on a disentangled code up to permutation and sign, and disagree on an entangled one.
Each model's codes of the same images are standardized, and latents whose mean KL(q(z_d|x) ||
p(z_d)) is at most 0.01 are zeroed. For each ordered pair of models (i, j), a Lasso (alpha
0.1) regresses j's codes on i's; |coefficients| form R [D_i, D_j] (or, with "spearman", the
absolute rank correlations). Its active rows and columns give the pair's score, the mean of
the relative strengths max(R)^2 / sum(R) of its rows and of its columns, averaged (an empty
row or column counts 0). A model's UDR is the median of the pairs' scores (i, model) over the
other models.

Known answers: two codes equal up to permutation and sign score 0.9 with Lasso (alpha = 0.1
shrinks a coefficient of 1 to 0.9, and 0.9^2 / 0.9 = 0.9) and 1 with Spearman; unrelated
codes score 0 with Lasso (every coefficient is shrunk to 0).
"""

import numpy as np

from zoo.errors import ZooError

EXAMPLES = 1000  # disentanglement_lib's udr.gin num_data_points
KL_THRESHOLD = 0.01
LASSO_ALPHA = 0.1
CORRELATIONS = ("lasso", "spearman")


def udr(codes, kls=None, correlation="lasso", kl_threshold=KL_THRESHOLD, seed=0):
    """{"model_scores" [M], "pairwise" [M, M] (nan on the diagonal)} of codes, a list of M >= 2
    arrays [N, D] of the same N images; `kls`: per model, its mean KL per latent [D] (None: no
    latent is filtered, for posteriors whose KL does not split by latent)."""
    if len(codes) < 2 or len({len(c) for c in codes}) != 1 or any(np.ndim(c) != 2 for c in codes):
        raise ZooError(f"UDR takes codes [N, D] of the same N images from 2 or more models; got shapes "
                       f"{[list(np.shape(c)) for c in codes]}")
    if correlation not in CORRELATIONS:
        raise ZooError(f"UDR correlation {correlation!r}; expected one of {', '.join(CORRELATIONS)}")
    kls = [np.full(np.shape(c)[1], np.inf) if kl is None else np.asarray(kl) for c, kl in
           zip(codes, kls or [None] * len(codes))]
    masks = [kl > kl_threshold for kl in kls]
    standardized = [_standardized(c) * (kl > KL_THRESHOLD) for c, kl in zip(codes, kls)]  # 0.01 whatever the
    # threshold, as disentanglement_lib zeroes them
    pairwise = np.full((len(codes), len(codes)), np.nan)
    for i, first in enumerate(standardized):
        for j, second in enumerate(standardized):
            if i != j:
                matrix = correlations(first, second, correlation, seed)
                pairwise[i, j] = relative_strength(matrix[masks[i]][:, masks[j]])
    scores = [float(np.median(np.delete(pairwise[:, i], i))) for i in range(len(codes))]
    return {"model_scores": scores, "pairwise": pairwise}


def correlations(first, second, correlation="lasso", seed=0):
    """[D1, D2] how strongly each latent of `first` [N, D1] relates to each of `second` [N, D2]."""
    if correlation == "lasso":
        from sklearn.linear_model import Lasso

        return np.abs(Lasso(alpha=LASSO_ALPHA, random_state=seed).fit(first, second).coef_).T.reshape(
            first.shape[1], second.shape[1])
    from scipy.stats import spearmanr

    with np.errstate(divide="ignore", invalid="ignore"):
        return np.nan_to_num(np.abs(np.array([[spearmanr(a, b)[0] for b in second.T] for a in first.T])))


def relative_strength(matrix):
    """The mean over columns, and over rows, of max^2 / sum of R [D1, D2], averaged (an all-zero
    row or column scores 0): 1 when each latent relates to one latent of the other model."""
    if matrix.size == 0:
        return float("nan")
    with np.errstate(divide="ignore", invalid="ignore"):
        columns = np.nan_to_num(matrix.max(axis=0) ** 2 / matrix.sum(axis=0))
        rows = np.nan_to_num(matrix.max(axis=1) ** 2 / matrix.sum(axis=1))
    return float((columns.mean() + rows.mean()) / 2)


def _standardized(codes):
    codes = np.asarray(codes, np.float64)
    deviation = codes.std(axis=0)
    return (codes - codes.mean(axis=0)) / np.where(deviation > 0, deviation, 1.0)


def model_codes(model, images, batch_size=500):
    """(codes [N, D], mean KL per latent [D] or None) of an unconditional model on `images`,
    what `udr` takes for each model."""
    codes = model.embed(images, None, batch_size)
    kls = [model.prior.kl_per_variable(model.encode(images[i:i + batch_size])) for i in range(0, len(images),
                                                                                               batch_size)]
    return codes, None if kls[0] is None else np.concatenate([np.asarray(kl) for kl in kls]).mean(axis=0)
