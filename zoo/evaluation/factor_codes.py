"""What every disentanglement metric shares: its checked inputs (factor indices [N, K] and codes
[N, D]), disentanglement_lib's histogram discretizer, and discrete entropy and mutual
information."""

import contextlib
import warnings

import numpy as np

from zoo.errors import ZooError

BINS = 20  # disentanglement_lib's histogram_discretizer.num_bins in every study config


def checked(factors, codes):
    """(factors, codes) as integer and float64 arrays, or a one-line `ZooError`."""
    factors, codes = np.asarray(factors), np.asarray(codes, np.float64)
    if factors.ndim != 2 or codes.ndim != 2 or len(factors) != len(codes) or len(factors) < 2:
        raise ZooError(f"disentanglement metrics take factors [N, K] and codes [N, D] of the same N >= 2 "
                       f"examples; got {list(factors.shape)} and {list(codes.shape)}")
    if not np.issubdtype(factors.dtype, np.integer):
        raise ZooError(f"factors must be integer indices; got {factors.dtype}")
    if not np.isfinite(codes).all():
        raise ZooError("codes hold NaN or infinite values")
    return factors, codes


def checked_held_out(factors, codes, held_out):
    """The second (factors, codes) sample a classifier is scored on; None: the same rows."""
    return checked(*held_out) if held_out is not None else (factors, codes)


def discretize(codes, bins=BINS):
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


def information_matrix(a, b):
    """[A, B] mutual information of every column of discrete samples a [N, A] with every column
    of b [N, B] (disentanglement_lib's discrete_mutual_info)."""
    return np.array([[mutual_information(a[:, i], b[:, j]) for j in range(b.shape[1])] for i in range(a.shape[1])])


def entropy(a):
    """H(a) in nats of a discrete sample [N]."""
    p = np.unique(a, return_counts=True)[1] / len(a)
    return float(-np.sum(p * np.log(p)))


def varying(factors):
    """The factors (columns) that take more than one value."""
    return [k for k in range(factors.shape[1]) if np.unique(factors[:, k]).size > 1]


@contextlib.contextmanager
def fitting():
    """How the metrics fit scikit-learn's models: with numpy's BLAS held to one thread (its
    threads made LogisticRegression's L-BFGS 20-60x slower on 100 codes of 5 latents on this
    loaded 2-core machine: 1.35 against 0.06 CPU seconds), and without the warnings of solvers
    that stop at their iteration cap with disentanglement_lib's settings or of coming changes
    to defaults we pin; the scores are kept as they are."""
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", FutureWarning)
        yield
