"""disentanglement_lib's two variants of the downstream task, which none of its studies ran:
the reduced task (reduced_downstream_task.py) and the strong one (strong_downstream_task.py).
They are functions only: `scores` does not give them (each costs tens of boosted-tree fits;
docs/disentanglement.md).

- Reduced: for each factor of interest, remove the latent DCI's boosted trees find most
  important for it (`removed` times, recomputing the importance each time), then predict
  every factor from what is left. A disentangled code loses that factor (its accuracy falls
  towards chance) and keeps the others.
- Strong: covariate shift. For each factor i and each of `experiments` draws, another factor j
  is fixed at one value v in the training images and set to any other value in the test
  images; a predictor of i is trained and tested on their codes. The gap is 1 - (that
  accuracy / the accuracy without intervention): 0 when predicting i does not depend on j.
"""

import numpy as np

from zoo.evaluation.downstream import fit
from zoo.evaluation.factor_codes import checked, checked_held_out

EXPERIMENTS = 10  # disentanglement_lib's default n_experiment


def reduced_downstream_task(factors, codes, held_out=None, size=100, removed=1, predictor="boosted_trees", seed=0):
    """{"reduced_factor_accuracy": mean over factors of interest of its held-out accuracy once its
    most important latents are removed, "other_factors_accuracy": the same for the other
    factors, "accuracy" [K, K] (factor of interest, predicted factor)}, trained on the first
    `size` rows (disentanglement_lib's test config: 100, one latent removed, boosted trees)."""
    factors, codes = checked(factors, codes)
    test_factors, test_codes = checked_held_out(factors, codes, held_out)
    factors, codes = factors[:size], codes[:size]
    count = factors.shape[1]
    accuracy = np.zeros((count, count))
    for interest in range(count):
        kept = np.arange(codes.shape[1])
        for _ in range(min(removed, codes.shape[1] - 1)):
            importance = fit("boosted_trees", factors[:, interest], codes[:, kept], seed).feature_importances_ \
                if np.unique(factors[:, interest]).size > 1 else np.zeros(len(kept))
            kept = np.delete(kept, np.argmax(importance))
        for k in range(count):
            classifier = fit(predictor, factors[:, k], codes[:, kept], seed)
            accuracy[interest, k] = np.mean(classifier.predict(test_codes[:, kept]) == test_factors[:, k])
    others = ~np.eye(count, dtype=bool)
    return {"reduced_factor_accuracy": float(np.mean(np.diag(accuracy))),
            "other_factors_accuracy": float(np.mean(accuracy[others].reshape(count, count - 1).mean(axis=1)))
            if count > 1 else float("nan"), "accuracy": accuracy}


def strong_downstream_task(factor_sizes, represent, size=1000, test_size=1000, experiments=EXPERIMENTS,
                           predictor="boosted_trees", seed=0):
    """{"mean_test_accuracy" (no intervention), "mean_strong_test_accuracy",
    "strong_generalization_gap"} of a representation `represent(factors [n, K]) -> codes [n, D]`
    of the images of a grid of `factor_sizes`, predictors trained on `size` images."""
    rng = np.random.default_rng(seed)
    sizes = list(factor_sizes)

    def draw(count):
        return np.stack([rng.integers(n, size=count) for n in sizes], axis=1)

    def accuracy(k, train, test):
        classifier = fit(predictor, train[:, k], represent(train), seed)
        return np.mean(classifier.predict(represent(test)) == test[:, k])

    train, test = draw(size), draw(test_size)
    plain = [accuracy(k, train, test) for k in range(len(sizes))]
    strong = []
    for k in range(len(sizes)):
        shifted = [j for j in range(len(sizes)) if j != k and sizes[j] > 1]
        for _ in range(experiments if shifted else 0):
            j = rng.choice(shifted)
            value = rng.integers(sizes[j])
            fixed, moved = train.copy(), test.copy()
            fixed[:, j] = value
            moved[:, j] = (value + rng.integers(1, sizes[j], size=len(moved))) % sizes[j]  # any other value
            strong.append(accuracy(k, fixed, moved))
    return {"mean_test_accuracy": float(np.mean(plain)), "mean_strong_test_accuracy": float(np.mean(strong)),
            "strong_generalization_gap": float(1 - np.mean(strong) / np.mean(plain))}
