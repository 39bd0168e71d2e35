"""The downstream task of disentanglement_lib (downstream_task.py, `unsupervised_study_v1`
settings): how well each factor can be predicted from the codes of a few labelled images.

For each training size, one classifier per factor is fitted on that many (factors, codes) rows
and scored on the held-out sample; the figures are the mean (and smallest) accuracy over the
factors. Two predictors, as in the study: scikit-learn's LogisticRegressionCV (10 values of C,
5 unshuffled folds) and GradientBoostingClassifier (default settings).

Settings changed, and why: disentanglement_lib trains at 10, 100, 1,000 and 10,000 images and
tests on 5,000. `scores` trains at 10, 100 and 1,000 (the first rows of its 5,000, a uniform
draw of the grid) and tests on its 5,000 held out. 10,000 would need 5,000 more images
encoded, and boosted trees on 10,000 codes take minutes (see DCI); the trees at 1,000 are
DCI's own. LogisticRegressionCV fits 51 models per factor and does not converge on separable
codes: on codes that copy a 16-valued factor it took 1.6 CPU seconds per factor on 1,000 and
3.2 on 5,000 (with numpy's BLAS on one thread, `fitting`; with its threads, 8 and 163 on this
loaded machine). A factor that takes one value in a small training sample cannot be fitted;
its prediction is that value (disentanglement_lib would fail).
"""

import numpy as np

from zoo.evaluation.factor_codes import checked, checked_held_out, fitting

SIZES = (10, 100, 1000)  # of disentanglement_lib's 10, 100, 1,000, 10,000: time (see the module)
PREDICTORS = ("logistic_regression", "boosted_trees")


def downstream_task(factors, codes, held_out=None, sizes=SIZES, predictor="logistic_regression", seed=0,
                    fitted=None):
    """{size: {"mean_test_accuracy", "min_test_accuracy", "mean_train_accuracy",
    "test_accuracy_per_factor" [K]}} of factor indices [N, K] and codes [N, D], each size
    training on the first `size` rows; `held_out`: a second (factors, codes) sample (None: the
    same rows). `fitted`: {size: {factor: classifier}} fitted before on those rows (DCI's
    trees)."""
    factors, codes = checked(factors, codes)
    test_factors, test_codes = checked_held_out(factors, codes, held_out)
    results = {}
    for size in sizes:
        rows = slice(0, size)
        given = (fitted or {}).get(size, {})
        classifiers = {k: given[k] if k in given else fit(predictor, factors[rows, k], codes[rows], seed)
                       for k in range(factors.shape[1])}
        train = [np.mean(classifiers[k].predict(codes[rows]) == factors[rows, k]) for k in range(factors.shape[1])]
        test = [np.mean(classifiers[k].predict(test_codes) == test_factors[:, k]) for k in range(factors.shape[1])]
        results[size] = {"mean_test_accuracy": float(np.mean(test)), "min_test_accuracy": float(np.min(test)),
                         "mean_train_accuracy": float(np.mean(train)),
                         "test_accuracy_per_factor": [float(value) for value in test]}
    return results


def fit(predictor, factor, codes, seed=0):
    """A classifier of `predictor` (one of `PREDICTORS`) fitted to predict factor [n] from codes [n, D]."""
    if np.unique(factor).size == 1:
        return Constant(factor[0])
    if predictor == "logistic_regression":
        from sklearn.linear_model import LogisticRegressionCV
        from sklearn.model_selection import KFold

        classifier = LogisticRegressionCV(Cs=10, cv=KFold(n_splits=min(5, len(factor))))
    else:
        from sklearn.ensemble import GradientBoostingClassifier

        classifier = GradientBoostingClassifier(random_state=seed)
    with fitting():
        return classifier.fit(codes, factor)


class Constant:
    """The prediction of a factor seen with one value only."""

    def __init__(self, value):
        self.value = value

    def predict(self, codes):
        return np.full(len(codes), self.value)
