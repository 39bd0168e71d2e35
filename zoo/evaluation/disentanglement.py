"""How disentangled a model's codes are, on data whose generative factors are known (`shapes`,
`dsprites`).

Two metrics, both as disentanglement_lib computes them (Locatello et al. 2019), from factor
indices [N, K] and codes [N, D] of the same N images:

- MIG, the mutual information gap (Chen et al. 2018): each code dimension is cut into 20
  equal-width bins; for each factor, the gap between the two latents that tell most about it,
  I(z_top; v) - I(z_second; v), divided by its entropy H(v), averaged over factors. 1: every
  factor is read off one latent alone; 0: none is, or two latents share it. With 20 bins a
  factor of more than 20 values cannot reach 1 (a perfect code of dSprites' grid scores 0.88).
- The FactorVAE score (Kim & Mnih 2018): codes are divided by their standard deviation over
  the data and latents whose deviation is under 0.05 are pruned (collapsed to the prior);
  each vote fixes one factor at random over a batch of 64 images, the others varying, and
  names the latent that varies least; a latent's class is the factor it got most votes for,
  and the score is the share of fresh votes that this majority-vote classifier gets right. A
  random code scores about 1/K (chance), not 0.

The FactorVAE score is chosen over DCI because it needs no trained regressors (DCI fits K
gradient-boosted ensembles, minutes per model on a CPU) and its votes read the same codes as
MIG. Its batches come from the N images encoded once: the rows sharing the fixed factor's
value are, for a uniform sample of the grid, a uniform sample of the rest, so no image is
encoded twice (disentanglement_lib draws and encodes ~1M fresh images).
"""

import time

import numpy as np
import tensorflow as tf

from zoo.data.factor_grid import FactorGrid
from zoo.errors import ZooError

MIG_BINS = 20
VOTE_BATCH, TRAIN_VOTES, EVAL_VOTES = 64, 10000, 5000  # disentanglement_lib's factor_vae settings
PRUNE_STDDEV = 0.05
EXAMPLES, SEED, ENCODE_BATCH = 5000, 0, 500  # what `scores` encodes: the same images for every model


def mig(factors, codes, bins=MIG_BINS):
    """{"mig": mean over factors, "mig_per_factor": [K]} of factor indices [N, K] and codes [N, D].

    A factor that does not vary in the sample (entropy 0) has no gap: nan, left out of the mean.
    """
    factors, codes = _checked(factors, codes)
    binned = discretize(codes, bins)
    information = np.array([[mutual_information(binned[:, d], factors[:, k]) for k in range(factors.shape[1])]
                            for d in range(codes.shape[1])])  # [D, K]
    ranked = np.sort(information, axis=0)[::-1]
    second = ranked[1] if len(ranked) > 1 else np.zeros_like(ranked[0])
    entropies = np.array([entropy(factors[:, k]) for k in range(factors.shape[1])])
    with np.errstate(divide="ignore", invalid="ignore"):
        gaps = np.where(entropies > 0, (ranked[0] - second) / entropies, np.nan)
    if np.isnan(gaps).all():
        raise ZooError("MIG: no factor varies over these examples")
    return {"mig": float(np.nanmean(gaps)), "mig_per_factor": [float(g) for g in gaps]}


def discretize(codes, bins=MIG_BINS):
    """Each column of codes [N, D] as bin numbers 1..bins of `bins` equal-width bins between its
    minimum and maximum (disentanglement_lib's histogram discretizer)."""
    return np.stack([np.digitize(column, np.histogram(column, bins)[1][:-1]) for column in codes.T], axis=1)


def mutual_information(a, b):
    """I(a; b) in nats of two discrete samples [N] (any values), from their joint histogram."""
    _, a = np.unique(a, return_inverse=True)
    _, b = np.unique(b, return_inverse=True)
    joint = np.bincount(a * (b.max() + 1) + b, minlength=(a.max() + 1) * (b.max() + 1))
    joint = joint.reshape(a.max() + 1, b.max() + 1) / len(a)
    outer = joint.sum(axis=1, keepdims=True) * joint.sum(axis=0, keepdims=True)
    seen = joint > 0
    return float(np.sum(joint[seen] * np.log(joint[seen] / outer[seen])))


def entropy(a):
    """H(a) in nats of a discrete sample [N]."""
    p = np.unique(a, return_counts=True)[1] / len(a)
    return float(-np.sum(p * np.log(p)))


def factor_vae_score(factors, codes, seed=SEED, batch_size=VOTE_BATCH, train_votes=TRAIN_VOTES,
                     eval_votes=EVAL_VOTES, prune_stddev=PRUNE_STDDEV):
    """{"factor_vae_score": accuracy of the majority-vote classifier on `eval_votes` fresh votes,
    "factor_vae_train_accuracy", "active_dims"} of factor indices [N, K] and codes [N, D].

    Each vote fixes the value of one factor (a random one, at the value of a random example)
    and takes `batch_size` examples that share it; `seed` fixes every draw.
    """
    factors, codes = _checked(factors, codes)
    variances = codes.var(axis=0, ddof=1)
    active = np.sqrt(variances) >= prune_stddev
    if not active.any():
        return {"factor_vae_score": 0.0, "factor_vae_train_accuracy": 0.0, "active_dims": 0}
    codes, variances = codes[:, active], variances[active]
    rng = np.random.default_rng(seed)
    sharing = [_rows_by_value(column) for column in factors.T]  # per factor: value -> rows with it

    def votes(count):
        table = np.zeros((factors.shape[1], codes.shape[1]), np.int64)
        for factor in rng.integers(factors.shape[1], size=count):
            rows = sharing[factor][factors[rng.integers(len(factors)), factor]]
            batch = rng.choice(rows, batch_size, replace=len(rows) < batch_size)
            table[factor, np.argmin(codes[batch].var(axis=0, ddof=1) / variances)] += 1
        return table

    trained = votes(train_votes)
    classifier = trained.argmax(axis=0)  # each latent's factor
    fresh = votes(eval_votes)
    columns = np.arange(codes.shape[1])
    return {"factor_vae_score": float(fresh[classifier, columns].sum() / fresh.sum()),
            "factor_vae_train_accuracy": float(trained[classifier, columns].sum() / trained.sum()),
            "active_dims": int(active.sum())}


def _rows_by_value(column):
    values, inverse = np.unique(column, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    return dict(zip(values.tolist(), np.split(order, np.cumsum(np.bincount(inverse))[:-1])))


def _checked(factors, codes):
    factors, codes = np.asarray(factors), np.asarray(codes, np.float64)
    if factors.ndim != 2 or codes.ndim != 2 or len(factors) != len(codes) or len(factors) < 2:
        raise ZooError(f"disentanglement metrics take factors [N, K] and codes [N, D] of the same N >= 2 "
                       f"examples; got {list(factors.shape)} and {list(codes.shape)}")
    if not np.issubdtype(factors.dtype, np.integer):
        raise ZooError(f"factors must be integer indices; got {factors.dtype}")
    if not np.isfinite(codes).all():
        raise ZooError("codes hold NaN or infinite values")
    return factors, codes


def knows_factors(source):
    """Whether `source` declares the generative factors of its images (a `FactorGrid`)."""
    return isinstance(source, FactorGrid)


def scores(model, source, examples=EXAMPLES, seed=SEED):
    """MIG and the FactorVAE score of `model` on `examples` images drawn uniformly from the grid
    of `source` with `seed` (the same images for every model); {} for a source whose factors
    are unknown (not a `FactorGrid`)."""
    if not knows_factors(source) or not model.embeds:
        return {}
    start = time.perf_counter()
    drawn = source.sample(examples, seed)
    codes = model.embed(drawn.scaled(), drawn.labels if model.label_use == "condition" else None, ENCODE_BATCH)
    information = mig(drawn.factors, codes)
    votes = factor_vae_score(drawn.factors, codes, seed=seed)
    return {"mig": information["mig"], "factor_vae_score": votes["factor_vae_score"],
            "disentanglement": {
                "examples": examples, "seed": seed, "factors": list(source.factor_names),
                "mig_per_factor": {name: None if np.isnan(gap) else round(gap, 4)
                                   for name, gap in zip(source.factor_names, information["mig_per_factor"])},
                "mig_bins": MIG_BINS, "factor_vae_train_accuracy": votes["factor_vae_train_accuracy"],
                "active_dims": votes["active_dims"], "votes": [TRAIN_VOTES, EVAL_VOTES], "vote_batch": VOTE_BATCH,
                "seconds": round(time.perf_counter() - start, 1)}}


def report(result):
    """One line for people from a result holding `scores`' keys."""
    details = result["disentanglement"]
    return (f"MIG {result['mig']:.3f}, FactorVAE score {result['factor_vae_score']:.3f} ({details['active_dims']} "
            f"active latents; {details['examples']} images drawn from the grid, seed {details['seed']})")
